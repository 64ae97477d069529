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
