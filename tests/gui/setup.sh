#!/bin/bash
# tests/gui/setup.sh [DIR]: build, once, the Debian sid tree the real-window suite runs Blender in.
#
# Debian's blender package (5.2 LTS in sid) with an X server (Xvfb), Mesa's software OpenGL, ImageMagick
# (screenshots), xdotool (real key presses) and fonts, into DIR (default $GUI_ROOT or
# /tmp/talking-heads-gui/root). Run as root. Idempotent: a tree that has Blender and every package below is
# left as it is; a tree missing some packages gets them. Needs only the Debian mirror (the host's own).
set -euo pipefail
ROOT=${1:-${GUI_ROOT:-/tmp/talking-heads-gui/root}}
# python3-numpy: Blender's Python (Debian's system Python) has no numpy of its own, and the add-on needs it.
# python3-cattr, -requests, -urllib3: Blender's Extensions add-on imports them (without cattrs it fails to
# register, and extensions cannot be installed) but Debian's blender package does not depend on them.
PACKAGES="blender xvfb xauth libgl1-mesa-dri imagemagick xdotool fonts-dejavu-core python3-numpy
          python3-cattr python3-requests python3-urllib3"

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root (it builds a chroot)" >&2; exit 1; }

mirror() {
    # The host's Debian mirror (first URIs: of a deb822 source, else the first deb line), else Debian's CDN.
    local uri
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print ($2 ~ /^\[/ ? $3 : $2); exit}' /etc/apt/sources.list 2>/dev/null || true)
    case "$uri" in *debian*) echo "$uri" ;; *) echo "http://deb.debian.org/debian" ;; esac
}

if [ ! -x "$ROOT/usr/bin/blender" ]; then
    if ! command -v mmdebstrap >/dev/null; then
        apt-get update -qq && apt-get install -y -qq mmdebstrap debian-archive-keyring >/dev/null
    fi
    # Built beside DIR and renamed at the end: a failed build never leaves a half tree at DIR.
    PART="$ROOT.partial"
    if [ -e "$PART" ]; then
        findmnt -R "$PART" >/dev/null 2>&1 && { echo "setup.sh: $PART has mounts; unmount them first" >&2; exit 1; }
        rm -rf --one-file-system "$PART"
    fi
    mkdir -p "$(dirname "$ROOT")"
    start=$(date +%s)
    # Check-Valid-Until off: a mirror may be a frozen snapshot whose Release file has "expired".
    mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
        --include="$(echo $PACKAGES | tr ' ' ,)" sid "$PART" "$(mirror)"
    mv "$PART" "$ROOT"
    echo "setup.sh: built $ROOT in $(( $(date +%s) - start )) s ($(du -sh "$ROOT" | cut -f1))"
fi

MISSING=$(for p in $PACKAGES; do chroot "$ROOT" dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$MISSING" ]; then
    # apt needs /proc in the tree; unmounted again on any exit.
    mount -t proc proc "$ROOT/proc"
    trap 'umount "$ROOT/proc"' EXIT
    chroot "$ROOT" sh -c "apt-get update -qq && apt-get install -y -qq $(echo $MISSING) && apt-get clean"
fi

chroot "$ROOT" blender --version 2>/dev/null | head -1
