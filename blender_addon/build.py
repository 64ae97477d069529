"""`python -m blender_addon.build --out dist`: package the Blender extension (`make extension`).

The archive holds what Blender installs and what the worker imports:

    blender_manifest.toml  __init__.py  blender_addon/  core/  export/  models/
    wheels/                   the wheels the manifest lists (downloaded from PyPI into build/wheels once)
    worker_requirements.txt   what the add-on's Install button puts in the worker's environment

The manifest is the single list of wheels: each is fetched by its exact file name with `pip download`.
`--no-wheels` leaves them out (and drops the manifest's `wheels` and `platforms`), for quick local tests
that need no live preview. This module must not import bpy.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "blender_manifest.toml"
FOLDERS = ("blender_addon", "core", "export", "models")
FILES = (MANIFEST, "__init__.py")
SKIPPED_NAMES = {"__pycache__", ".DS_Store", ".pytest_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".tmp")
# Requirements the worker does not need: Blender itself, the test tools, and the GPU onnxruntime the tests
# use (the worker renders with torch).
NOT_FOR_WORKER = {"bpy", "pytest", "hypothesis", "onnxruntime-gpu"}
WHEEL_CACHE = ROOT / "build" / "wheels"


def read_manifest() -> dict:
    with open(ROOT / MANIFEST, "rb") as f:
        return tomllib.load(f)


def manifest_without_wheels(text: str) -> str:
    """The manifest's text without its `wheels` and `platforms` arrays (a build for local tests)."""
    for key in ("wheels", "platforms"):
        text = re.sub(rf"(?ms)^{key}\s*=\s*\[.*?\]\s*\n", "", text)
    return text


def wheel_download_arguments(filename: str) -> list[str]:
    """pip arguments that fetch exactly the wheel `filename` ({name}-{version}-{python}-{abi}-{platform})."""
    parts = filename[:-len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise SystemExit(f"{filename} is not a wheel file name (name-version-python-abi-platform.whl)")
    name, version, python, abi, platform = parts[0], parts[1], parts[-3], parts[-2], parts[-1]
    arguments = [f"{name}=={version}", "--no-deps", "--only-binary=:all:", "--python-version", "3.11"]
    for tag in platform.split("."):
        arguments += ["--platform", tag]
    if abi != "none":
        arguments += ["--abi", abi, "--implementation", re.sub(r"\d+$", "", python)]
    return arguments


def fetch_wheels(filenames: list[str]) -> list[Path]:
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename in filenames:
        path = WHEEL_CACHE / filename
        if not path.is_file():
            print(f"downloading {filename}")
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(WHEEL_CACHE),
                       *wheel_download_arguments(filename)]
            if subprocess.call(command) != 0 or not path.is_file():
                raise SystemExit(f"could not download {filename} from PyPI; check the network, or build with "
                                 f"--no-wheels (no live preview)")
        paths.append(path)
    return paths


def worker_requirements() -> str:
    lines = ["# The worker's environment (the add-on's Install button): the project's requirements.txt",
             "# without what only Blender and the tests need."]
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        requirement = line.split("#")[0].strip()
        name = re.split(r"[<>=!~;\[ ]", requirement)[0].lower() if requirement else ""
        if name and name not in NOT_FOR_WORKER:
            lines.append(requirement)
    return "\n".join(lines) + "\n"


def package_files() -> list[Path]:
    files = [ROOT / f for f in FILES]
    for folder in FOLDERS:
        for dirpath, dirnames, filenames in os.walk(ROOT / folder):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_NAMES)
            files += [Path(dirpath) / f for f in sorted(filenames)
                      if f not in SKIPPED_NAMES and not f.endswith(SKIPPED_SUFFIXES)]
    return files


def build(out_dir: str | os.PathLike, wheels: bool = True) -> Path:
    """Write <out_dir>/talking_heads-<version>.zip (to a temporary name first) and return its path."""
    manifest = read_manifest()
    manifest_text = (ROOT / MANIFEST).read_text(encoding="utf-8")
    wheel_names = [w.split("/")[-1] for w in manifest.get("wheels", [])] if wheels else []
    if not wheels:
        manifest_text = manifest_without_wheels(manifest_text)
    wheel_paths = fetch_wheels(wheel_names)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{manifest['id']}-{manifest['version']}.zip"
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in package_files():
                name = path.relative_to(ROOT).as_posix()
                if name == MANIFEST:
                    archive.writestr(name, manifest_text)
                else:
                    archive.write(path, name)
            archive.writestr("worker_requirements.txt", worker_requirements())
            for path in wheel_paths:
                archive.write(path, f"wheels/{path.name}", compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m blender_addon.build", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="dist", help="folder for the extension .zip (default: dist)")
    parser.add_argument("--no-wheels", action="store_true",
                        help="leave out the bundled wheels (no live preview; for quick local tests)")
    args = parser.parse_args(argv)
    path = build(args.out, wheels=not args.no_wheels)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
