#!/bin/bash
# tests/gui/run.sh ZIP [SCRIPT]: the real-window suite. Blender 5.2 (the tree tests/gui/setup.sh builds) runs
# SCRIPT (default tests/gui/artist_path.py) in a window on a private X server and installs ZIP, the add-on's
# linux-x64 zip, as an artist would. Run as root, after `make env`. Exits non-zero when the script fails,
# times out, or any Python traceback shows up in Blender's output (the log: $GUI_OUT/blender.log).
#
# In the tree, at the same paths: the checkout (read-write: screenshots go to $GUI_OUT), the Python the
# checkout's .venv was made from (read-only: the worker runs .venv/bin/python), and a fresh work folder
# (Blender's user folder, the saved .blend, the test photos), deleted afterwards. Every mount and process it
# started is undone on any exit.
#
# Environment: GUI_ROOT (the tree; default /tmp/talking-heads-gui/root), GUI_OUT (default out/gui),
# GUI_TIMEOUT (seconds; default 720).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROOT=${GUI_ROOT:-/tmp/talking-heads-gui/root}
OUT=$(realpath -m "${GUI_OUT:-$REPO/out/gui}")
TIMEOUT=${GUI_TIMEOUT:-720}
PY=$REPO/.venv/bin/python

fail() { echo "run.sh: $*" >&2; RC=2; exit 2; }
[ $# -ge 1 ] || fail "usage: $0 ZIP [SCRIPT]"
[ "$(id -u)" = 0 ] || fail "run as root (it mounts folders into the tree)"
[ -x "$ROOT/usr/bin/blender" ] || fail "no Blender in $ROOT: run tests/gui/setup.sh"
[ -x "$PY" ] || fail "no $PY: run make env"
ZIP=$(realpath "$1") && [ -f "$ZIP" ] || fail "no extension zip $1"
SCRIPT=$(realpath "${2:-$HERE/artist_path.py}")
for path in "$SCRIPT" "$OUT"; do
    case "$path" in "$REPO"/*) ;; *) fail "$path is outside the checkout, which is all of it the tree sees" ;; esac
done
# The interpreter .venv was made from: the worker's Python needs its files inside the tree too.
BASE=$("$PY" -c 'import sys; print(sys.base_prefix)') || fail "$PY does not run"
case "$BASE" in /|/usr|/usr/*|/bin|/lib*) fail "$PY is based on the system's Python ($BASE), which the tree cannot take: make .venv from another Python (pyenv, python.org)" ;; esac

# One run per tree: a second would mount over the first one's folders.
exec 9>"$ROOT.lock"
flock -n 9 || fail "another run uses $ROOT"

RC=1 MOUNTED=() XVFB_PID= BLENDER_PID= WORK=
cleanup() {
    trap - EXIT INT TERM
    # Blender leads its own process group (setsid): this ends it and every worker it started.
    if [ -n "$BLENDER_PID" ] && kill -0 -- "-$BLENDER_PID" 2>/dev/null; then
        kill -TERM -- "-$BLENDER_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 -- "-$BLENDER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$BLENDER_PID" 2>/dev/null
    fi
    [ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2>/dev/null && wait "$XVFB_PID" 2>/dev/null
    for (( i=${#MOUNTED[@]}-1; i>=0; i-- )); do
        umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}"
    done
    [ -n "$WORK" ] && rm -rf --one-file-system "$WORK"
    exit "$RC"
}
trap cleanup EXIT
trap 'RC=130; exit' INT TERM

bind() {  # bind [-r] SOURCE: SOURCE at the same path in the tree (read-only with -r)
    local options=bind; [ "$1" = -r ] && { options=bind,ro; shift; }
    mkdir -p "$ROOT$1" && mount --bind "$1" "$ROOT$1" || return 1
    MOUNTED+=("$ROOT$1")
    [ "$options" = bind ] || mount -o remount,$options "$ROOT$1"
}
WORK=$(mktemp -d /tmp/talking-heads-gui-run.XXXXXX)
mount -t proc proc "$ROOT/proc" && MOUNTED+=("$ROOT/proc") || fail "cannot mount /proc in $ROOT"
for dir in /sys /dev /dev/pts /dev/shm "$REPO" "$WORK"; do bind "$dir" || fail "cannot bind $dir"; done
bind -r "$BASE" || fail "cannot bind $BASE"

rm -rf "$OUT" && mkdir -p "$OUT"
LOG=$OUT/blender.log
# The test photos: scikit-image's astronaut (the package's own copy, no download), and a file that is not one.
"$PY" -c 'import sys; from PIL import Image; from skimage import data; Image.fromarray(data.astronaut()).save(sys.argv[1])' \
    "$WORK/astronaut.png" || fail "could not write the portrait"
echo "this is not a photo" > "$WORK/not_a_photo.png"

# Xvfb picks a free display itself and writes its number once it accepts connections.
DISPLAY_FILE=$WORK/display
chroot "$ROOT" /usr/bin/Xvfb -displayfd 3 -screen 0 1920x1080x24 -nolisten tcp 3>"$DISPLAY_FILE" >"$OUT/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do [ -s "$DISPLAY_FILE" ] && break; sleep 0.1; done
DISPLAY_NUMBER=$(tr -dc 0-9 <"$DISPLAY_FILE")
[ -n "$DISPLAY_NUMBER" ] || fail "Xvfb did not start (see $OUT/xvfb.log)"

echo "run.sh: Blender 5.2 on display :$DISPLAY_NUMBER, log $LOG" >&2
start=$(date +%s)
setsid timeout --kill-after=10 "$TIMEOUT" chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/bin:/bin DISPLAY=":$DISPLAY_NUMBER" BLENDER_USER_RESOURCES="$WORK/user" \
    blender --factory-startup --gpu-backend opengl --python "$SCRIPT" -- \
        --zip "$ZIP" --python "$PY" --work "$WORK" --out "$OUT" >"$LOG" 2>&1 </dev/null &
BLENDER_PID=$!
wait "$BLENDER_PID"; RC=$?
echo "run.sh: Blender exited with $RC after $(( $(date +%s) - start )) s" >&2
[ "$RC" = 124 ] && echo "run.sh: timed out after $TIMEOUT s" >&2
# A traceback anywhere (the add-on's modal, a handler, a timer, the worker's stderr) fails the suite even
# when the script's own checks passed: the artist would have seen it.
if grep -nE 'Traceback \(most recent call last\)|^Error in |Python script error|script error in' "$LOG" >&2; then
    echo "run.sh: Python errors in Blender's output (above; the whole log: $LOG)" >&2
    [ "$RC" = 0 ] && RC=1
fi
[ "$RC" = 0 ] && echo "run.sh: passed" >&2 || tail -n 40 "$LOG" >&2
