"""`python -m blender_addon.build --out dist`: package the Blender extension (`make extension`).

Blender's own builder (`extension build`, the code of `blender --command extension` that the bpy wheel
ships as `bl_pkg/cli/blender_ext.py`) makes the archives; this module only gathers what goes in them:

    blender_manifest.toml  __init__.py  app/  blender_addon/  core/  export/  models/
    wheels/                   the wheels the manifest lists (downloaded from PyPI into build/wheels once)
    worker_requirements.txt   what the add-on's Install button puts in the worker's environment

The manifest is the single list of wheels: each is fetched by its exact file name with `pip download`. The
build is split by platform (`--split-platforms`): one `talking_heads-<version>-<platform>.zip` per entry of
the manifest's `platforms` (`linux_x64`, with an underscore), each carrying only its own platform's
onnxruntime wheels, one per Python Blender may run (and the pure-Python ones). Every archive is then checked
with Blender's `extension validate`.

Blender picks the wheel itself: when the extension is enabled, `bl_pkg`'s wheel filter
(`_extensions_wheel_filter_for_this_system` in bl_extension_ops.py) keeps the wheels whose platform tag and
`cpXY` tag match the running Blender and unpacks those alone into its `extensions/.local/lib/pythonX.Y/
site-packages`. The archive's manifest gets no `python_versions` field: Blender derives the versions from the
wheels' names (`python_versions_from_wheels`) and refuses the extension under a Python none of them names.

`--no-wheels` leaves the wheels out (and drops the manifest's `wheels` and `platforms`): one archive for
every platform, `talking_heads-<version>.zip`, for quick local tests that need no live preview.
`--wheel-dir DIR` takes the wheels from DIR (and downloads missing ones there) instead of build/wheels.
This module must not import bpy.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "blender_manifest.toml"
FOLDERS = ("app", "blender_addon", "core", "export", "models")
FILES = (MANIFEST, "__init__.py")
SKIPPED_NAMES = {"__pycache__", ".DS_Store", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp")
# Requirements the worker does not need: Blender itself, the test tools, and the GPU onnxruntime the tests
# use (the worker renders with torch).
NOT_FOR_WORKER = {"bpy", "pytest", "hypothesis", "onnxruntime-gpu"}
# Requirements the worker keeps only under some Pythons (the Install button makes its environment with
# Blender's own): numpy<2, pinned for bpy 4.5, has no wheels for Python 3.13 (Blender 5.1 and later), which
# takes numpy 2.
WORKER_MARKERS = {"numpy": 'python_version < "3.13"'}
WHEEL_CACHE = ROOT / "build" / "wheels"
# Where the bpy wheel keeps Blender's extension command line and its list of valid tags.
BPY_EXTENSION_CLI = "scripts/addons_core/bl_pkg/cli/blender_ext.py"
BPY_VALID_TAGS = "scripts/modules/_bpy_internal/extensions/tags.py"


def read_manifest() -> dict:
    with open(ROOT / MANIFEST, "rb") as f:
        return tomllib.load(f)


def manifest_without_wheels(text: str) -> str:
    """The manifest's text without its `wheels` and `platforms` arrays (a build for local tests)."""
    for key in ("wheels", "platforms"):
        text = re.sub(rf"(?ms)^{key}\s*=\s*\[.*?\]\s*\n", "", text)
    return text


# --- Blender's extension command line -----------------------------------------------------------------------

@dataclass(frozen=True)
class ExtensionCLI:
    """How to run Blender's `extension` command: `command` + [subcommand, ...] + `tag_arguments`."""

    command: tuple[str, ...]
    tag_arguments: tuple[str, ...] = ()

    def run(self, *arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.command, *arguments, *self.tag_arguments], capture_output=True, text=True)


def find_extension_cli() -> ExtensionCLI:
    """Blender's extension CLI: $BLENDER's `--command extension` if that names Blender's executable, else the
    bpy wheel's `blender_ext.py` (on this Python's path, found without importing bpy) run by this Python,
    else a `blender` executable on PATH."""
    blender = os.environ.get("BLENDER")
    if blender:
        return ExtensionCLI((blender, "--factory-startup", "--command", "extension"))
    for entry in sys.path:
        folder = Path(entry or ".") / "bpy"
        if not folder.is_dir():
            continue
        for version in sorted(folder.iterdir(), reverse=True):
            cli, tags = version / BPY_EXTENSION_CLI, version / BPY_VALID_TAGS
            if cli.is_file() and tags.is_file():
                return ExtensionCLI((sys.executable, str(cli)), ("--valid-tags", str(tags)))
    blender = shutil.which("blender")
    if blender:
        return ExtensionCLI((blender, "--factory-startup", "--command", "extension"))
    raise SystemExit("Blender's extension builder was not found: run `make env` (it installs the bpy wheel, "
                     "which ships it), put `blender` on PATH, or set BLENDER to Blender's executable")


def _output(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr).strip()


def validate(path: str | os.PathLike, cli: ExtensionCLI | None = None) -> subprocess.CompletedProcess:
    """Blender's strict manifest validation of an archive or a folder (`extension validate`)."""
    return (cli or find_extension_cli()).run("validate", str(path))


# --- wheels -------------------------------------------------------------------------------------------------

def wheel_python_version(python_tag: str) -> str | None:
    """The Python version a wheel's python tag names ("cp313" -> "3.13"), or None where it names only the major
    version ("py3", "py2.py3": any Python 3 takes it)."""
    for tag in python_tag.split("."):
        match = re.fullmatch(r"[a-z]+(\d)(\d+)", tag)
        if match:
            return f"{match[1]}.{match[2]}"
    return None


def wheel_download_arguments(filename: str) -> list[str]:
    """pip arguments that fetch exactly the wheel `filename` ({name}-{version}-{python}-{abi}-{platform})."""
    parts = filename[:-len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise SystemExit(f"{filename} is not a wheel file name (name-version-python-abi-platform.whl)")
    name, version, python, abi, platform = parts[0], parts[1], parts[-3], parts[-2], parts[-1]
    arguments = [f"{name}=={version}", "--no-deps", "--only-binary=:all:"]
    python_version = wheel_python_version(python)
    if python_version:  # else pip's own Python decides, which any Python-3 wheel fits
        arguments += ["--python-version", python_version]
    for tag in platform.split("."):
        arguments += ["--platform", tag]
    if abi != "none":
        arguments += ["--abi", abi, "--implementation", re.sub(r"\d+$", "", python)]
    return arguments


def fetch_wheels(filenames: list[str], wheel_dir: Path = WHEEL_CACHE) -> list[Path]:
    """The wheels `filenames` in `wheel_dir`, each downloaded from PyPI the first time."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename in filenames:
        path = wheel_dir / filename
        if not path.is_file():
            print(f"downloading {filename}")
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(wheel_dir),
                       *wheel_download_arguments(filename)]
            if subprocess.call(command) != 0 or not path.is_file():
                raise SystemExit(f"could not download {filename} from PyPI; check the network, or build with "
                                 f"--no-wheels (no live preview)")
        paths.append(path)
    return paths


# --- the archive's contents ---------------------------------------------------------------------------------

def worker_requirements() -> str:
    lines = ["# The worker's environment (the add-on's Install button): the project's requirements.txt",
             "# without what only Blender and the tests need."]
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].strip()
        name = re.split(r"[<>=!~;\[ ]", requirement)[0].lower() if requirement else ""
        if name and name not in NOT_FOR_WORKER:
            lines.append(f"{requirement}; {WORKER_MARKERS[name]}" if name in WORKER_MARKERS else requirement)
    return "\n".join(lines) + "\n"


def package_files() -> list[Path]:
    files = [ROOT / f for f in FILES]
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(ROOT / folder):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_NAMES)
            files += [Path(dirpath) / f for f in sorted(filenames)
                      if f not in SKIPPED_NAMES and not f.endswith(SKIPPED_SUFFIXES)]
    return files


def stage(folder: Path, wheels: bool, wheel_dir: Path) -> None:
    """Lay out in `folder` exactly what the archives hold (the source folder Blender's builder reads)."""
    manifest = read_manifest()
    manifest_text = (ROOT / MANIFEST).read_text(encoding="utf-8")
    listed = list(manifest.get("wheels", [])) if wheels else []
    if not wheels:
        manifest_text = manifest_without_wheels(manifest_text)
    for path in package_files():
        name = path.relative_to(ROOT)
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if name.as_posix() == MANIFEST:
            (folder / name).write_text(manifest_text, encoding="utf-8")
        else:
            shutil.copyfile(path, folder / name)
    (folder / "worker_requirements.txt").write_text(worker_requirements(), encoding="utf-8")
    for entry, path in zip(listed, fetch_wheels([w.split("/")[-1] for w in listed], wheel_dir)):
        target = folder / entry.removeprefix("./")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def build(out_dir: str | os.PathLike, wheels: bool = True, wheel_dir: str | os.PathLike | None = None) -> list[Path]:
    """Build the extension into `out_dir` with Blender's builder and validate each archive; returns them.

    With wheels: one `<id>-<version>-<platform>.zip` per platform of the manifest; without: one
    `<id>-<version>.zip`. Older archives of this version in `out_dir` are replaced."""
    manifest = read_manifest()
    cli = find_extension_cli()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{manifest['id']}-{manifest['version']}"
    with tempfile.TemporaryDirectory(prefix=".build-", dir=out) as work:
        source, built = Path(work) / manifest["id"], Path(work) / "built"
        source.mkdir()
        built.mkdir()
        stage(source, wheels, Path(wheel_dir) if wheel_dir else WHEEL_CACHE)
        split = ["--split-platforms"] if wheels and manifest.get("platforms") else []
        result = cli.run("build", "--source-dir", str(source), "--output-dir", str(built), *split)
        archives = sorted(built.glob(f"{prefix}*.zip"))
        if result.returncode != 0 or not archives:
            raise SystemExit(f"Blender's extension builder failed:\n{_output(result)}")
        for archive in archives:
            check = validate(archive, cli)
            if check.returncode != 0:
                raise SystemExit(f"{archive.name} does not pass Blender's validation:\n{_output(check)}")
        for stale in out.glob(f"{prefix}*.zip"):
            stale.unlink()
        paths = []
        for archive in archives:
            os.replace(archive, out / archive.name)
            paths.append(out / archive.name)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m blender_addon.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="dist", help="folder for the extension .zip files (default: dist)")
    parser.add_argument("--no-wheels", action="store_true",
                        help="leave out the bundled wheels: one zip for all platforms, no live preview (tests)")
    parser.add_argument("--wheel-dir", default=None,
                        help=f"folder holding the manifest's wheels; missing ones are downloaded there "
                             f"(default: {WHEEL_CACHE.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    for path in build(args.out, wheels=not args.no_wheels, wheel_dir=args.wheel_dir):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB), valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
