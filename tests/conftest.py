import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

# Two cores: keep torch from oversubscribing them when pytest runs.
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Content Credentials: the tests sign with a throw-away local identity, never the runner's own config folder's.
if "TALKING_HEADS_C2PA_DIR" not in os.environ:
    os.environ["TALKING_HEADS_C2PA_DIR"] = tempfile.mkdtemp(prefix="talking-heads-c2pa-")
    atexit.register(shutil.rmtree, os.environ["TALKING_HEADS_C2PA_DIR"], True)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut portrait (NASA, public domain), 512 x 512 RGB uint8."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """../shared/media, which only adds coverage: tests that use it skip cleanly without it."""
    path = SHARED / "media"
    if not path.is_dir():
        pytest.skip("../shared/media is not present")
    return path



@pytest.fixture(scope="session")
def write_generate_inputs(astronaut):
    """write(folder): in `folder`, a person model of the astronaut (no fine-tuning, 128 crop) and a 3-frame
    track moving its face a pixel a frame, the inputs of `app.generate.generate`'s tests; returns the folder."""
    from talking_heads.core.landmarks.detect import detect_landmarks
    from talking_heads.core.track.track_file import Track
    from talking_heads.core.training.finetune import fit_person

    def write(folder: Path) -> Path:
        points = detect_landmarks(astronaut, backend="dlib").points
        fit_person([astronaut], [points], steps=0, device="cpu", size=128).save(folder / "person.safetensors")
        moving = np.stack([points + [i, 0] for i in range(3)]).astype(np.float32)
        Track(points=moving, frames=np.array([1, 2, 3]), filled=np.zeros(3, bool), fps=24.0,
              image_size=(astronaut.shape[1], astronaut.shape[0])).save(folder / "track.json")
        return folder

    return write


@pytest.fixture(scope="session")
def videos(tmp_path_factory, astronaut) -> Path:
    """Two short clips of the astronaut's face moving a little (enough for episodes and painter pairs), and
    the lists naming them: train.txt (clip0) and val.txt (clip1)."""
    import cv2

    folder = tmp_path_factory.mktemp("videos")
    face = astronaut[40:296, 100:356]
    for k in range(2):
        writer = cv2.VideoWriter(str(folder / f"clip{k}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25, (256, 256))
        for i in range(4):
            m = np.float32([[1, 0, 2 * i - 3 * k], [0, 1, i]])
            writer.write(cv2.cvtColor(cv2.warpAffine(face, m, (256, 256), borderMode=cv2.BORDER_REPLICATE),
                                      cv2.COLOR_RGB2BGR))
        writer.release()
    (folder / "train.txt").write_text("clip0.avi\n")
    (folder / "val.txt").write_text("clip1.avi\n")
    return folder
