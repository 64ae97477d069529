"""The extension as a package: Blender's own manifest rules, the archive's contents, and enabling and
disabling it cleanly. (The per-platform archives of Blender's builder: test_blender_build.py.)"""
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import bpy
import pytest

from talking_heads.blender_addon import build

ROOT = Path(__file__).resolve().parents[2]


def validate(path: Path) -> subprocess.CompletedProcess:
    """Blender's own strict manifest validation (`blender --command extension validate`, from the bpy wheel)."""
    return build.validate(path)


def test_manifest_passes_blenders_validation(tmp_path):
    assert validate(ROOT).returncode == 0, validate(ROOT).stdout
    # The validator does catch what the rules forbid: a tagline ending in punctuation.
    manifest = (ROOT / "blender_manifest.toml").read_text()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "blender_manifest.toml").write_text(manifest.replace('neural model"', 'neural model."'))
    (bad / "__init__.py").write_text("")
    assert validate(bad).returncode != 0


def test_archive_without_wheels_holds_the_addon_and_the_worker(extension_zip):
    with zipfile.ZipFile(extension_zip) as archive:
        names = archive.namelist()
        requirements = archive.read("worker_requirements.txt").decode()
        manifest = archive.read("blender_manifest.toml").decode()
    assert {"blender_manifest.toml", "__init__.py", "blender_addon/__init__.py", "app/worker.py", "core/rig.py",
            "export/__init__.py"} <= set(names)
    assert any(n.startswith("models/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "torch" in requirements and "bpy" not in requirements and "pytest" not in requirements
    assert "wheels" not in tomllib.loads(manifest) and tomllib.loads(manifest)["id"] == "talking_heads"
    assert validate(extension_zip).returncode == 0


def test_build_never_imports_bpy(tmp_path):
    code = ("import sys; sys.modules['bpy'] = None; from blender_addon import build; "
            f"raise SystemExit(build.main(['--out', {str(tmp_path)!r}, '--no-wheels']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.glob("talking_heads-*.zip"))


def test_full_build_splits_the_manifests_wheels_by_platform(tmp_path):
    """`make extension` with the real wheels: one archive per platform, each with its own onnxruntime. It needs
    the wheels in build/wheels (a `make extension` fetched them) or TALKING_HEADS_DOWNLOAD_WHEELS=1 to fetch
    them (about 60 MB); test_blender_build.py checks the same with stand-in wheels."""
    listed = tomllib.loads((ROOT / "blender_manifest.toml").read_text())["wheels"]
    cached = all((build.WHEEL_CACHE / w.split("/")[-1]).is_file() for w in listed)
    if not cached and os.environ.get("TALKING_HEADS_DOWNLOAD_WHEELS") != "1":
        pytest.skip("the manifest's wheels are not in build/wheels (run `make extension`, or set "
                    "TALKING_HEADS_DOWNLOAD_WHEELS=1)")
    result = subprocess.run([sys.executable, "-m", "blender_addon.build", "--out", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0 and "could not download" in result.stderr + result.stdout:
        pytest.skip("PyPI cannot be reached to download the wheels")
    assert result.returncode == 0, result.stderr
    assert any("onnxruntime" in w and "cp311" in w and "win_amd64" in w for w in listed)
    assert any("onnxruntime" in w and "cp311" in w and "manylinux" in w for w in listed)
    assert any("onnxruntime" in w and "cp311" in w and "macosx" in w for w in listed)
    tags = {"linux_x64.zip": "manylinux", "macos_arm64.zip": "macosx", "windows_x64.zip": "win_amd64"}
    archives = {p.name.rsplit("-", 1)[1]: p for p in tmp_path.glob("talking_heads-*.zip")}
    assert sorted(archives) == sorted(tags)
    for suffix, path in archives.items():
        with zipfile.ZipFile(path) as archive:
            names = {n for n in archive.namelist() if n.startswith("wheels/")}
        assert names == {w.removeprefix("./") for w in listed if "onnxruntime" not in w or tags[suffix] in w}
        assert validate(path).returncode == 0


def _registered() -> bool:
    return hasattr(bpy.types, "TALKINGHEADS_PT_main") and "talking_heads" in bpy.types.Scene.bl_rna.properties


def test_enable_and_disable_twice(addon):
    module = addon.__name__
    assert _registered()
    for _ in range(2):
        bpy.ops.preferences.addon_disable(module=module)
        assert module not in bpy.context.preferences.addons
        assert not _registered()
        bpy.ops.preferences.addon_enable(module=module)
        assert module in bpy.context.preferences.addons
        assert _registered()
    bpy.context.preferences.addons[module].preferences.python_path = sys.executable
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    assert bpy.context.scene.talking_heads.rig is None
