"""Blender tests: the bpy module in background mode, with the extension installed from its built zip.

Blender keeps its user folders (preferences, extensions, the extension's user data) in a temporary folder
for the session: BLENDER_USER_RESOURCES must be set before bpy is first imported. Each test starts from
Blender's factory startup scene (camera, cube, light); tests that need a rig open a .blend in which one rig
was built once for the session (landmark detection runs in the worker, which costs seconds).

The worker runs in WORKER_PYTHON: this Python, or the one TALKING_HEADS_WORKER_PYTHON names. `make test` runs
these tests a second time on bpy 5.3, whose Python (3.13) holds only what Blender's own process needs: there
the worker is .venv's Python 3.11, with torch, as an artist's add-on preferences may name any Python. What
only the worker computes (landmark detection, torch's cache) the tests ask it for, never import themselves.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

if "bpy" not in sys.modules:
    _USER_RESOURCES = tempfile.mkdtemp(prefix="talking-heads-blender-")
    os.environ["BLENDER_USER_RESOURCES"] = _USER_RESOURCES
bpy = pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "user_default"
MODULE = f"bl_ext.{REPOSITORY}.talking_heads"
WORKER_PYTHON = os.environ.get("TALKING_HEADS_WORKER_PYTHON") or sys.executable
# test_worker.py, which starts workers without Blender, reads it from here too
os.environ["TALKING_HEADS_WORKER_PYTHON"] = WORKER_PYTHON


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).parent == here:
            item.add_marker(pytest.mark.blender)


def pytest_sessionfinish(session, exitstatus):
    folder = os.environ.get("BLENDER_USER_RESOURCES", "")
    if "talking-heads-blender-" in folder:
        shutil.rmtree(folder, ignore_errors=True)


def install_extension(zip_path: Path) -> str:
    """Install and enable the extension zip in the user repository; returns its module name."""
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo=REPOSITORY,
                                                      enable_on_install=True, overwrite=True)
    assert result == {'FINISHED'}
    assert MODULE in bpy.context.preferences.addons
    bpy.context.preferences.use_preferences_save = False
    return MODULE


# A Blender of its own. Given a zip (sys.argv[1]): Install from Disk, enabled on install, preferences saved.
# Given "": a restart, the saved preferences read as Blender reads them when it starts (enabling what they
# enable). Then the caller's checks (sys.argv[2]), which add to `report`.
FRESH_BLENDER = f"""
import json, os, sys
import bpy
if sys.argv[1]:
    result = bpy.ops.extensions.package_install_files(filepath=sys.argv[1], repo={REPOSITORY!r},
                                                      enable_on_install=True, overwrite=True)
    bpy.ops.wm.save_userpref()
else:
    result = bpy.ops.wm.read_userpref()
report = {{"result": sorted(result), "enabled": {MODULE!r} in bpy.context.preferences.addons,
          "python": "%d.%d" % sys.version_info[:2]}}
exec(sys.argv[2])
print("RESULT " + json.dumps(report))
"""


@pytest.fixture(scope="session")
def fresh_blender():
    """`fresh_blender(zip_path, user_folder, checks="", *args)`: in a Blender of its own (this Python's bpy,
    `user_folder` for its user resources, so the session's installed extension is untouched), install and
    enable the zip, or with `zip_path` None start again with what an earlier call installed; then run `checks`
    (Python, `args` in sys.argv[3:]) there. Returns its `report`."""
    return _fresh_blender


def _fresh_blender(zip_path: Path | None, user_folder: Path, checks: str = "", *args: str) -> dict:
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(user_folder))
    done = subprocess.run([sys.executable, "-c", FRESH_BLENDER, str(zip_path or ""), checks, *args], env=env,
                          capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.fixture(scope="session")
def extension_zip(tmp_path_factory) -> Path:
    """The extension as `make extension` builds it, without the bundled wheels (the test environment has
    onnxruntime already, and installing 60 MB of wheels would only slow the tests)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "blender_addon.build", "--out", str(out), "--no-wheels"], cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    (path,) = out.glob("talking_heads-*.zip")
    return path


@pytest.fixture(scope="session")
def addon(extension_zip):
    """The installed, enabled extension's package, with the worker running in WORKER_PYTHON."""
    module = install_extension(extension_zip)
    bpy.context.preferences.addons[module].preferences.python_path = WORKER_PYTHON
    return sys.modules[module]


@pytest.fixture(scope="session")
def worker_python() -> str:
    return WORKER_PYTHON


@pytest.fixture(scope="session")
def detect_in_worker():
    """`detect_in_worker(path, backend)`: the 68 landmarks of a photo as `python -m core detect` finds them in
    the worker's Python, (68, 2)."""

    def detect(path, backend: str) -> np.ndarray:
        done = subprocess.run([WORKER_PYTHON, "-m", "core", "detect", str(path), "--backend", backend, "--json", "-",
                               "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return np.array(json.loads(done.stdout)["points"])

    return detect


@pytest.fixture(scope="session")
def fan_weights_cached() -> bool:
    """Whether face-alignment's weights are in the worker's torch cache (so it has nothing to download)."""
    code = ("from talking_heads.core.online import cached_weights; "
            "print(cached_weights('https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth') is not None)")
    done = subprocess.run([WORKER_PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip() == "True"


@pytest.fixture
def scene(addon):
    """Blender's factory startup scene (an unsaved file), with the extension enabled."""
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    return bpy.context.scene


@pytest.fixture(scope="session")
def astronaut_png(tmp_path_factory, astronaut) -> Path:
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    return path


@pytest.fixture
def quick_rig(scene, module, astronaut_png):
    """A rig built directly from known landmarks (the project's mean face placed on the astronaut photo),
    without the worker: for tests of the rig itself and of error reports. Returns (rig, landmarks)."""
    import numpy as np

    from talking_heads.core.face.rest_pose import face_depths
    from talking_heads.core.landmarks.face3d import lift
    from talking_heads.core.model.mean_face import MEAN_FACE_CROP

    points = MEAN_FACE_CROP.astype(np.float64) * 1.2 + [60.0, 20.0]
    image = bpy.data.images.load(str(astronaut_png))
    detection = module("app.worker_jobs").DetectResult(
        image=str(astronaut_png), reference_copy=None, size=[512, 512], backend="test", faces_found=1, box=[],
        points=points.tolist(), depths=face_depths(lift(points)).tolist(), depth_source="generic face")
    rig = module("blender_addon.rig_objects").build(bpy.context, "test rig", image, detection, 4.0)
    rig[module("blender_addon.operators.scene").LANDMARKS_PROPERTY] = points.ravel().tolist()
    return rig, points


@pytest.fixture(scope="session")
def rig_blend(addon, astronaut_png, tmp_path_factory) -> Path:
    """A saved .blend with a rig built from the astronaut photo (built once, in the worker)."""
    bpy.ops.wm.read_homefile(use_factory_startup=True)
    path = tmp_path_factory.mktemp("rigged") / "rigged.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    assert bpy.ops.talking_heads.build_rig(filepath=str(astronaut_png)) == {'FINISHED'}
    bpy.ops.wm.save_mainfile()
    return path


@pytest.fixture
def rigged(rig_blend, tmp_path):
    """A fresh copy of the rigged .blend (with its talking_heads/ folder), opened; returns the rig."""
    shutil.copytree(rig_blend.parent, tmp_path / "project")
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "project" / rig_blend.name))
    return bpy.context.scene.talking_heads.rig


@pytest.fixture
def module(addon):
    """`module("blender_addon.driver")`: one of the installed extension's modules."""
    import importlib

    return lambda name: importlib.import_module(f"{addon.__name__}.{name}")
