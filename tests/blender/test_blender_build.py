"""The per-platform archives Blender's own builder makes (`extension build --split-platforms`): each carries
only its own onnxruntime wheel, passes Blender's `extension validate`, and the Linux one installs.

The wheels are small stand-ins under the manifest's exact file names (a wheel's name is all the builder and
the validator look at; installing unpacks its .dist-info), so no test downloads 60 MB from PyPI."""
import json
import os
import platform
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from talking_heads.blender_addon import build

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = tomllib.loads((ROOT / "blender_manifest.toml").read_text())
PLATFORMS = MANIFEST["platforms"]
WHEELS = [w.removeprefix("./") for w in MANIFEST["wheels"]]
# Blender's platform names -> the wheel platform tags that carry them.
WHEEL_TAGS = {"linux-x64": "manylinux", "windows-x64": "win_amd64", "macos-arm64": "macosx"}


def fake_wheel(path: Path) -> None:
    """A minimal, well-formed wheel: only its .dist-info (nothing importable, so it shadows no real package)."""
    name, version = path.name.split("-")[:2]
    info = f"{name}-{version}.dist-info"
    files = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: talking-heads-tests\nRoot-Is-Purelib: false\n"
                              f"Tag: {'-'.join(path.name[:-4].split('-')[-3:])}\n"}
    files[f"{info}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)


@pytest.fixture(scope="module")
def split_build(tmp_path_factory) -> dict[str, Path]:
    """`python -m blender_addon.build --out OUT --wheel-dir FAKE`: {Blender platform: its archive}."""
    wheels = tmp_path_factory.mktemp("wheels")
    for name in WHEELS:
        fake_wheel(wheels / Path(name).name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "talking_heads.blender_addon.build", "--out", str(out),
                             "--wheel-dir", str(wheels)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "downloading" not in result.stdout
    prefix = f"{MANIFEST['id']}-{MANIFEST['version']}"
    return {p: out / f"{prefix}-{p.replace('-', '_')}.zip" for p in PLATFORMS}


def test_one_archive_per_platform_and_nothing_else(split_build):
    (out,) = {path.parent for path in split_build.values()}
    assert sorted(out.iterdir()) == sorted(split_build.values())


@pytest.mark.parametrize("blender_platform", PLATFORMS)
def test_each_archive_carries_only_its_own_onnxruntime(split_build, blender_platform):
    with zipfile.ZipFile(split_build[blender_platform]) as archive:
        names = set(archive.namelist())
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    wheels = {n for n in names if n.startswith("wheels/")}
    onnxruntime = [w for w in wheels if "onnxruntime" in w]
    assert len(onnxruntime) == 1 and WHEEL_TAGS[blender_platform] in onnxruntime[0]
    assert {w for w in WHEELS if "onnxruntime" not in w} <= wheels  # the pure-Python wheels go everywhere
    assert manifest["build"]["generated"]["platforms"] == [blender_platform]
    assert {w.removeprefix("./") for w in manifest["build"]["generated"]["wheels"]} == wheels
    assert {"__init__.py", "worker_requirements.txt", "blender_addon/__init__.py", "core/rig.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


@pytest.mark.parametrize("blender_platform", PLATFORMS)
def test_each_archive_passes_blenders_validation(split_build, blender_platform):
    result = build.validate(split_build[blender_platform])
    assert result.returncode == 0, result.stdout + result.stderr


INSTALL = """
import json, os, sys
import bpy
result = bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo="user_default",
                                                  enable_on_install=True, overwrite=True)
bpy.context.preferences.use_preferences_save = False
module = "bl_ext.user_default.talking_heads"
found = [d for _, dirs, _ in os.walk(os.environ["BLENDER_USER_RESOURCES"]) for d in dirs if d.endswith(".dist-info")]
print("RESULT " + json.dumps({"result": sorted(result), "enabled": module in bpy.context.preferences.addons,
                              "dist_info": sorted(found)}))
"""


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")),
                    reason="the linux-x64 archive installs only on Linux x64")
def test_linux_archive_installs_with_its_wheels(split_build, tmp_path):
    """In a Blender of its own (a fresh user folder), so the session's installed extension is untouched."""
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender"))
    result = subprocess.run([sys.executable, "-c", INSTALL, str(split_build["linux-x64"])], env=env,
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(lines[-1].removeprefix("RESULT "))
    assert report["result"] == ["FINISHED"] and report["enabled"]
    onnxruntime = MANIFEST["wheels"][0].split("/")[-1].split("-")[:2]
    assert f"{onnxruntime[0]}-{onnxruntime[1]}.dist-info" in report["dist_info"]  # Blender unpacked its wheels


def test_a_build_replaces_older_archives_of_its_version(tmp_path):
    """Split archives and the single one never mix in one folder (the tests glob talking_heads-*.zip)."""
    stale = tmp_path / f"{MANIFEST['id']}-{MANIFEST['version']}-linux_x64.zip"
    stale.write_bytes(b"old")
    (tmp_path / "unrelated.zip").write_bytes(b"keep")
    (path,) = build.build(tmp_path, wheels=False)
    assert path.name == f"{MANIFEST['id']}-{MANIFEST['version']}.zip"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, "unrelated.zip"])


def test_builder_errors_are_reported(tmp_path, monkeypatch):
    """What Blender's builder rejects stops the build with its own message (here: a tag it does not know)."""

    real_stage = build.stage

    def bad_stage(folder, wheels, wheel_dir):
        real_stage(folder, wheels, wheel_dir)
        manifest = folder / "blender_manifest.toml"
        manifest.write_text(manifest.read_text().replace('tags = ["Animation"', 'tags = ["NotATag"'))

    monkeypatch.setattr(build, "stage", bad_stage)
    with pytest.raises(SystemExit, match="NotATag"):
        build.build(tmp_path, wheels=False)
    assert not list(tmp_path.glob("*.zip"))
