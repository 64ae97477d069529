"""The environment `make env` builds: one OpenCV. face-alignment asks for opencv-python (the GUI build, which
needs libGL) and the project for opencv-python-headless; both install the same `cv2` folder, so whichever pip
installed last would win. The Makefile removes the GUI build and reinstalls the headless one's files."""
import base64
import hashlib
import importlib.metadata as metadata
from pathlib import Path

GUI_BUILDS = {"opencv-python", "opencv-contrib-python", "opencv-contrib-python-headless"}


def installed() -> set[str]:
    return {(d.metadata["Name"] or "").lower() for d in metadata.distributions()}


def test_cv2_is_the_headless_build_and_no_other_opencv_is_installed():
    import cv2

    names = installed()
    assert "opencv-python-headless" in names and not names & GUI_BUILDS, names & (GUI_BUILDS | {"opencv-python-headless"})
    dist = metadata.distribution("opencv-python-headless")
    assert Path(cv2.__file__).resolve() == Path(dist.locate_file("cv2/__init__.py")).resolve()
    # every compiled file of cv2 is the headless wheel's, byte for byte (its RECORD's sha256)
    native = [f for f in dist.files if f.parts[0] == "cv2" and ".so" in f.name and f.hash is not None]
    assert native
    for file in native:
        digest = hashlib.sha256(Path(dist.locate_file(file)).read_bytes()).digest()
        assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == file.hash.value, file
