import os
from pathlib import Path

import numpy as np
import pytest

# Two cores: keep torch from oversubscribing them when pytest runs.
os.environ.setdefault("OMP_NUM_THREADS", "2")

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
