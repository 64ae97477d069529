"""Provenance: every image the project writes says it is synthetic, in its metadata and in its pixels.

**Metadata.** `metadata()` is the set of text fields written into every PNG (tEXt chunks), EXR (header
attributes) and MP4 (container tags): the software and its version, a plain statement that the image is
AI-generated, and the IPTC digital-source type for trained-algorithm media.

**Watermark.** Metadata is lost the moment someone re-saves or screenshots an image, so the pixels carry a
watermark too. The common library, invisible-watermark, hides bits in the DCT of fixed pixel blocks: it
calls itself experimental, does not promise to decode even an untouched image, and its block grid does not
survive a resize. This is instead a blind spread-spectrum mark in the *global* DCT of the luminance, whose
low-frequency basis functions are defined on the image's relative coordinates and so map onto themselves
under any resize:

- The band is the M = 3,220 DCT coefficients (u, v) with 8 <= sqrt(u^2 + v^2) < 64: high enough to hold
  little of an image's energy, low enough to survive JPEG and a 0.5x resize of a 256-pixel frame.
- A fixed key assigns each band coefficient a sign w = +-1 (derived from SHAKE-256 of a constant string, so
  it never changes with the numpy version).
- **Detection** counts how many band coefficients have the key's sign: score = sum(w * sign(c)) / sqrt(M).
  Without the mark the signs of an image's coefficients are independent of the key, so the score is a
  normalised sum of M fair +-1 terms: mean 0, standard deviation 1, whatever the image. The threshold 6
  puts a false positive at about 1e-9 per image. Measured on 928 unmarked images (scikit-image photos,
  random crops and rescales of them, JPEGs, uniform, Gaussian and blurred noise), the score had mean 0.04,
  standard deviation 1.03 and maximum 3.24 (`benchmarks/export_speed.py`, benchmarks/RESULTS.md).
- **Embedding** is informed: it changes only coefficients whose sign disagrees with the key, or agrees by
  less than a margin of 2 sigma of the coefficient noise that JPEG q75 plus a 0.5x resize cause (sigma is
  6 units for a 256 x 256 image, measured on photos), and sets them to that margin. Coefficients are taken
  in order of expected gain in the score per unit of energy, until the expected score after that attack
  reaches 12 (twice the threshold) or the change would bring the PSNR below 42 dB. The change is added
  equally to R, G and B, so hue and saturation are untouched. An image that already carries the mark is
  left as it is, so re-encoding marked frames (PNG to EXR, frames to video) does not degrade them.
- **Large images** (over WORKING_SIDE = 512 pixels along an axis) are marked and read at the working size:
  the image averaged down to at most 512 pixels along each axis, whose band coefficients are the full
  image's scaled by the square root of the area ratio (the band's cosines are smooth at that scale), with
  `sigma` and the PSNR budget of the working area; the change made there is brought back bilinearly. On
  2048 x 2048 photos the PSNR, the score and the score after JPEG, halving or a 1/8 resize match the full-size
  computation's within 0.1 (one exception of 10: 0.7 higher), at a quarter of the cost (a 2048 x 2048 UV frame:
  40 to 70 ms instead of 270; benchmarks/RESULTS.md).
- **Off the face.** About 1.5 luminance levels of low-frequency pattern over a face read, to a face
  recogniser, as a slightly different person (the dlib identity distance of generated frames rose by 0.01
  to 0.02). `generate` therefore passes `face_spare`'s map of the driver's face, and the change is made
  around it (`_embed_spared`): the face's pixels stay as rendered, and the mark, with the same expected
  score after the attack and within the same PSNR, lives in hair, neck and background. Where that budget
  leaves too little room beside the face, it is spared less, and at worst not at all: the mark comes first.
- Marked 256 x 256 photos score 10 to 14, and still 8.4 or more after a 0.5x resize followed by JPEG q75,
  or after H.264 at the quality `export.video` uses; mostly pure black-and-white images (line art), where
  clipping swallows the change, hold a weaker mark.

This is a provenance signal, not a security measure: the key is public, and anyone can remove the mark by
cropping, rotating or deliberately subtracting it. What it guarantees is that ordinary handling (re-encoding,
resizing, format conversion) does not remove it, and that it is practically never found in other images.

`python -m core verify FILE...` (`export.signals`) reports the watermark with the two metadata signals, XMP
and Content Credentials; for a video it scores the first frames and reports their median, and a PNG's colour
channels are scored as stored, transparent or not.
"""
from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np

from ..core import __version__
from ..core.errors import UserError

SOFTWARE = "Neural Talking Heads"
STATEMENT = ("Synthetic image: AI-generated by Neural Talking Heads from a portrait and facial landmarks; "
             "it does not show a real recording")
IPTC_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"

BAND_LOW, BAND_HIGH = 8, 64          # radial band in DCT index space; BAND_HIGH is also the smallest side
NOISE_SIGMA = 6.0                    # coefficient noise of JPEG q75 + 0.5x resize, for a 256 x 256 image
MARGIN = 2.0                         # target agreement, in units of NOISE_SIGMA
LIGHT_NOISE = 0.25                   # a light attack (re-encoding only), as a fraction of NOISE_SIGMA
TARGET_SCORE = 12.0                  # expected score after the attack that embedding aims for
MIN_PSNR = 42.0                      # embedding never changes the image more than this
THRESHOLD = 6.0                      # detection: P(score > 6) ~ 1e-9 for an unmarked image
REFERENCE_AREA = 256 * 256           # the image size NOISE_SIGMA was measured at
CLIPPED_SHARE = 0.01                 # a second embedding pass when more samples than this were clipped
WORKING_SIDE = 512                   # larger images: the mark is made and read at this size (`_working`)
STRIP = 64                           # rows per step of `_add_luma`
SPARED_ROUNDS, SPARED_PASSES = 3, 2  # embedding around a spared region (the face): `_embed_spared`
SPARED_STRENGTHS = (1.0, 0.8, 0.6)   # how fully it is spared, tried in turn (then not at all)
_KEY_SEED = b"neural-talking-heads/synthetic-image-watermark/v1"


def metadata() -> dict[str, str]:
    """The text fields every written image and video carries."""
    return {
        "Software": f"{SOFTWARE} {__version__}",
        "Description": STATEMENT,
        "AI-Generated": "true",
        "DigitalSourceType": IPTC_SOURCE_TYPE,
    }


# --- the key and the transform -----------------------------------------------------------------------

@lru_cache(maxsize=1)
def _key() -> np.ndarray:
    """(BAND_HIGH, BAND_HIGH) float32: +-1 inside the band, 0 outside."""
    k = BAND_HIGH
    bits = np.unpackbits(np.frombuffer(hashlib.shake_256(_KEY_SEED).digest(k * k // 8), np.uint8))
    u, v = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    radius = np.hypot(u, v)
    band = (radius >= BAND_LOW) & (radius < BAND_HIGH)
    return np.where(band, bits.reshape(k, k) * 2.0 - 1.0, 0.0).astype(np.float32)


def band_size() -> int:
    return int(_band().size)


@lru_cache(maxsize=1)
def _band() -> np.ndarray:
    """Flat indices of the band coefficients in the (BAND_HIGH, BAND_HIGH) key."""
    return np.flatnonzero(_key())


@lru_cache(maxsize=32)
def _basis(n: int) -> np.ndarray:
    """The first BAND_HIGH rows of the orthonormal DCT-II matrix of size n: (BAND_HIGH, n) float32."""
    x = np.arange(n, dtype=np.float64)
    u = np.arange(BAND_HIGH, dtype=np.float64)[:, None]
    rows = np.cos(np.pi * u * (2 * x + 1) / (2 * n)) * math.sqrt(2.0 / n)
    rows[0] /= math.sqrt(2.0)
    return rows.astype(np.float32)


def _coefficients(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape
    return _basis(h) @ luma @ _basis(w).T


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _one_blas_thread():
    """These products are small: OpenBLAS's extra threads cost more than they bring, and on a 2-core machine
    they spin after each call and slow down whatever runs next (PNG encoding took twice as long). Held once
    per `mark` or `score` call: setting and restoring the limit costs 20 us each time."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _colour(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The colour channels of an image (a view) and the value of white in its dtype."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = image[..., :3]
    elif image.ndim != 2:
        raise UserError(f"expected an H x W x 3 RGB image, got an array of shape {image.shape}")
    if image.dtype == np.uint8:
        return image, 255.0
    if image.dtype == np.uint16:
        return image, 65535.0
    if np.issubdtype(image.dtype, np.floating):
        return image, 1.0
    raise UserError(f"images must be uint8, uint16 or float in [0, 1], not {image.dtype}")


def _luma255(image: np.ndarray, white: float) -> np.ndarray:
    """The luminance of an image's colour channels (alpha ignored) on a 0..255 scale, whatever the bit depth,
    so that the constants above apply to all. OpenCV's float conversion uses BT.601's weights, the luma H.264
    and JPEG encode, in one pass (numpy's product over a last axis of 3 took 4 times as long)."""
    import cv2

    pixels = image.astype(np.float32)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY if pixels.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    return pixels if white == 255.0 else pixels * np.float32(255.0 / white)   # 8-bit: already on that scale


# --- embedding and detection -------------------------------------------------------------------------

def mark(rgb: np.ndarray, spare: np.ndarray | None = None) -> np.ndarray:
    """Return `rgb` (uint8, uint16 or float in [0, 1], H x W x 3 or x 4, both sides >= 64) with the watermark.

    `spare`: an optional H x W map in [0, 1] of where to keep the change off (1: as untouched as the mark
    allows), such as `face_spare`'s. An image that already carries the mark is returned unchanged (a copy)."""
    with _one_blas_thread():
        return _mark(np.asarray(rgb), spare)


def face_spare(points: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) float32 in [0, 1]: one over the face of landmarks (68, 2) in image pixels (their hull, 1.25x
    about its centre: brows to chin, cheek to cheek), its edge soft, zero elsewhere: where `mark` keeps the
    change off (the module's "Off the face" says why)."""
    import cv2

    p = np.asarray(points, np.float32)[:, :2]
    centre = p.mean(0)
    hull = ((p - centre) * 1.25 + centre).round().astype(np.int32)
    soft = 2 * int(0.08 * max(np.ptp(p[:, 0]), 1.0)) + 1             # about a twelfth of the face's width
    h, w = shape[:2]
    # drawn and blurred in the face's own window only: a blur of a whole 4K frame costs more than the mark
    x0, y0 = np.maximum(hull.min(0) - soft, 0)
    x1, y1 = np.minimum(hull.max(0) + soft + 1, [w, h])
    mask = np.zeros((h, w), np.float32)
    if x1 > x0 and y1 > y0:
        window = np.zeros((y1 - y0, x1 - x0), np.float32)
        cv2.fillConvexPoly(window, cv2.convexHull(hull - [x0, y0]), 1.0)
        mask[y0:y1, x0:x1] = cv2.GaussianBlur(window, (soft, soft), 0, borderType=cv2.BORDER_CONSTANT)
    return mask


def _mark(image: np.ndarray, spare: np.ndarray | None = None) -> np.ndarray:
    colour, white = _colour(image)
    if colour.ndim != 3:
        raise UserError("the watermark is embedded in colour images; expand grey images to RGB first")
    h, w = colour.shape[:2]
    if min(h, w) < BAND_HIGH:
        raise UserError(f"a {w}x{h} image is too small to carry the synthetic-image watermark; "
                        f"frames must be at least {BAND_HIGH} pixels on each side")
    work = _working(image)
    area = work.shape[0] * work.shape[1]
    key = _key()
    sigma = NOISE_SIGMA * math.sqrt(area / REFERENCE_AREA)   # orthonormal coefficients grow with sqrt(area)
    target = MARGIN * sigma
    agreement = key * _coefficients(_luma255(work, white))
    if np.sum(np.sign(agreement)) >= THRESHOLD * math.sqrt(band_size()):
        return image.copy()                        # already marked: marking again would only add noise

    budget = area * 255.0 ** 2 / 10 ** (MIN_PSNR / 10)
    chosen = _choose(agreement, sigma, budget)
    if spare is None:
        return _add_luma(image, _embed(work, agreement, chosen, target, white, budget), white)
    spare = np.asarray(spare, np.float32)
    if spare.shape != (h, w):
        raise ValueError(f"the spared region is {spare.shape}, the image {(h, w)}")
    spare = np.clip(_working(spare), 0, 1)
    # the unspared mark's expected score: every chosen coefficient at the target
    wanted = min(TARGET_SCORE, _expected(np.where(chosen, np.maximum(target, agreement), agreement), sigma))
    for strength in SPARED_STRENGTHS:
        # where MIN_PSNR's budget leaves too little room beside the face, spare it less: the mark first
        change, reached = _embed_spared(work, agreement, sigma, budget, white, 1 - strength * spare)
        if _expected(reached, sigma) >= wanted - 0.5:
            return _add_luma(image, change, white)
    return _add_luma(image, _embed(work, agreement, chosen, target, white, budget), white)


def _working(image: np.ndarray) -> np.ndarray:
    """An image (all its channels) at the working size: at most WORKING_SIDE pixels along each axis, each
    working pixel the mean of those it covers. The band's coefficients of such a mean are, to within 1 %,
    the image's scaled by sqrt(working area / area) (its cosines are smooth at that scale), so the mark is
    made there, with `sigma` and the budget of the working area, and its change brought back bilinearly
    (`_add_luma`): 2048 x 2048 frames are marked in a third of the time, with the same score."""
    h, w = image.shape[:2]
    size = (min(w, WORKING_SIDE), min(h, WORKING_SIDE))
    if size == (w, h):
        return image
    import cv2

    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _embed(work: np.ndarray, agreement: np.ndarray, chosen: np.ndarray, target: float, white: float,
           budget: float) -> np.ndarray:
    """The change (H x W at the working size) that sets the chosen coefficients to the target agreement:
    one pass, and a second where saturated pixels swallowed much of the first (measured on the first's
    clipped result); the two are added, kept within the budget and clipped once."""
    key = _key()
    change = _luma_change(key * np.maximum(target - agreement, 0.0) * chosen, work.shape)
    if _clipped(work, change, white):
        agreement = key * _coefficients(_luma255(_add_luma(work, change, white), white))
        change += _luma_change(key * np.maximum(target - agreement, 0.0) * chosen, work.shape)
        energy = float(np.square(change).sum())
        if energy > budget:
            change *= np.float32(math.sqrt(budget / energy))
    return change


def _embed_spared(work: np.ndarray, agreement: np.ndarray, sigma: float, budget: float, white: float,
                  keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """As `_choose` and `_embed`, with the change scaled per pixel by `keep`. A masked change lands only
    partly on the chosen coefficients and spills onto their neighbours, flipping some signs that were right;
    so each pass aims every band coefficient at its goal (the chosen ones at the target, the others where
    they were), and further rounds choose more coefficients while the expected score still falls short. The
    passes add up in floating point (the DCT is linear: the change's own coefficients say how far it got)
    and are rounded once, since top-ups of under half a level would round to nothing. Returns (the change at
    the working size, the agreement of the marked image's coefficients)."""
    key = _key()
    target = MARGIN * sigma
    change = np.zeros(work.shape[:2], np.float32)
    reached = agreement
    for _ in range(SPARED_ROUNDS):
        chosen = _choose(reached, sigma, budget=budget - float(np.square(change).sum()))
        if not chosen.any():
            break
        goal = np.where(chosen, np.maximum(target, reached), reached)
        for _ in range(SPARED_PASSES):
            change += keep * _luma_change(key * (goal - reached), work.shape)
            reached = agreement + key * _coefficients(change)
    energy = float(np.square(change).sum())
    if energy > budget:                 # never more change than MIN_PSNR allows: scaled, the signs stay right
        change *= np.float32(math.sqrt(budget / energy))
        reached = agreement + key * _coefficients(change)
    if _clipped(work, change, white):
        reached = key * _coefficients(_luma255(_add_luma(work, change, white), white))
    return change, reached


def _survival(band_agreement: np.ndarray, sigma: float) -> np.ndarray:
    """(2, M): the probability that each band coefficient's sign is still the key's after the light and
    after the full attack (Gaussian coefficient noise of LIGHT_NOISE * sigma and sigma)."""
    noise = np.array([[LIGHT_NOISE * sigma], [sigma]])
    return _normal_cdf(band_agreement / noise)


def _expected(agreement: np.ndarray, sigma: float) -> float:
    """The expected score after the light and the full attack, the lower of the two (see `_choose`)."""
    a = agreement.ravel()[_band()].astype(np.float64)
    return float(np.sum(2 * _survival(a, sigma) - 1, axis=1).min() / math.sqrt(band_size()))


def _choose(agreement: np.ndarray, sigma: float, budget: float) -> np.ndarray:
    """Which band coefficients to set to the target agreement MARGIN * sigma (a boolean mask).

    Coefficients are ranked by expected gain in the score per unit of energy, and taken until the
    expected score reaches TARGET_SCORE under both a light and the full attack, or the energy budget runs
    out. The light attack keeps the embedding from merely topping up coefficients whose sign is right."""
    band = _band()
    target = MARGIN * sigma
    a = agreement.ravel()[band].astype(np.float64)
    need = np.maximum(target - a, 0.0)
    noise = np.array([[LIGHT_NOISE * sigma], [sigma]])
    survives = _survival(a, sigma)                     # P(the sign is right after the attack), (2, M)
    expected = np.sum(2 * survives - 1, axis=1)
    candidates = np.flatnonzero(need > 0)
    # Gains and costs of the candidates only, gathered once, then ranked. (np.take, and np.minimum of the
    # two rows below, are many times faster than fancy indexing and .min(0) on these (2, M) arrays.)
    gain = 2 * (_normal_cdf(target / noise) - np.take(survives, candidates, axis=1))
    cost = need[candidates] ** 2                       # energy, in luminance units squared
    rank = np.argsort(-(gain[0] + gain[1]) / np.maximum(cost, 1e-12))
    gain, cost, order = np.take(gain, rank, axis=1), cost[rank], candidates[rank]

    wanted = TARGET_SCORE * math.sqrt(band.size)
    light, full = np.cumsum(gain, axis=1)             # the expected score as coefficients are added
    reached = np.minimum(expected[0] + light, expected[1] + full)
    enough = 0 if expected.min() >= wanted else np.searchsorted(reached, wanted) + 1
    affordable = np.searchsorted(np.cumsum(cost), budget)
    chosen = np.zeros(agreement.size, bool)
    chosen[band[order[:min(enough, affordable)]]] = True
    return chosen.reshape(agreement.shape)


def score(rgb: np.ndarray) -> float:
    """The detection statistic: about N(0, 1) for unmarked images, 10 or more for marked ones."""
    colour, white = _colour(rgb)
    if min(colour.shape[:2]) < BAND_HIGH:
        return 0.0
    with _one_blas_thread():
        signs = np.sign(_coefficients(_luma255(_working(np.asarray(rgb)), white)))
    return float(np.sum(_key() * signs) / math.sqrt(band_size()))


def detect(rgb: np.ndarray) -> tuple[bool, float]:
    """(found, score) for an sRGB image (uint8, uint16 or float in [0, 1]); images under 64 px score 0."""
    value = score(rgb)
    return value >= THRESHOLD, value


def _normal_cdf(x):
    from scipy.special import ndtr

    return ndtr(x)


def _luma_change(delta: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(H, W) float32: the luminance change (0..255 scale) whose band coefficients are `delta`."""
    return _basis(shape[0]).T @ delta.astype(np.float32) @ _basis(shape[1])


def _add_luma(image: np.ndarray, change: np.ndarray, white: float) -> np.ndarray:
    """`image` (H x W x 3 or x 4) with a luminance change (0..255 scale; at the working size, brought to
    H x W bilinearly) added to R, G and B alike and clipped to [0, white]; the same dtype, alpha untouched.
    OpenCV's add rounds and saturates into the integer type in the same pass."""
    import cv2

    h, w = image.shape[:2]
    if change.shape != (h, w):
        change = cv2.resize(change, (w, h), interpolation=cv2.INTER_LINEAR)
    image = np.ascontiguousarray(image)
    integer = image.dtype == np.uint8 or image.dtype == np.uint16
    out = np.empty_like(image) if integer else image.astype(np.float32)
    depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}.get(image.dtype, cv2.CV_32F)
    for rows, step in _strips(change * np.float32(white / 255.0), image.shape[2]):
        cv2.add((image if integer else out)[rows], step, dst=out[rows], dtype=depth)
    if not integer:
        np.clip(out[..., :3], 0.0, white, out=out[..., :3])
    return out.astype(image.dtype, copy=False)


def _clipped(work: np.ndarray, change: np.ndarray, white: float) -> bool:
    """Whether adding `change` to `work` (both at the working size) clips more than CLIPPED_SHARE of its
    colour samples."""
    import cv2

    step = change * np.float32(white / 255.0)
    if work.dtype == np.uint8 or work.dtype == np.uint16:
        step = np.rint(step)                       # what `_add_luma` adds
    work = np.ascontiguousarray(work)
    count = 0
    for rows, strip in _strips(step, work.shape[2]):
        summed = cv2.add(work[rows], strip, dtype=cv2.CV_32F)
        count += np.count_nonzero(summed < 0) + np.count_nonzero(summed > white)
    return count > CLIPPED_SHARE * 3 * work.shape[0] * work.shape[1]


def _strips(change: np.ndarray, channels: int):
    """(rows, step) for each band of STRIP rows: the change on R, G and B and zero on alpha, as one small
    contiguous float32 array for one OpenCV add. numpy's broadcasting over a last axis of 3 or 4 is slow; one
    step array for a whole 2048 x 2048 RGBA frame (64 MB) cost more to allocate and fill than the add (42 ms
    against 22 ms in strips), and fresh arrays of a few MB cost page faults here (a 512 x 512 frame's clipping
    count took 8 ms at once, 1 ms in strips)."""
    import cv2

    change = change.astype(np.float32, copy=False)
    zero = np.zeros((STRIP, change.shape[1]), np.float32)
    for top in range(0, change.shape[0], STRIP):
        rows = change[top:top + STRIP]
        yield slice(top, top + STRIP), cv2.merge([rows] * 3 + [zero[:len(rows)]] * (channels - 3))
