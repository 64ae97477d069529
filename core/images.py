"""Robust image loading: any photo a user is likely to have becomes a `uint8` `H x W x 3` RGB array.

What a real photo may carry, and what `load_image` does with it:
- **EXIF orientation** (phones store the sensor's pixels and a rotation tag): applied, so the array is upright.
- **An embedded colour profile** (Display P3, Adobe RGB, CMYK press profiles): converted to sRGB, the space the
  model was trained in; if the profile cannot be used the pixels are taken as they are.
- **CMYK** (print JPEGs and TIFFs): converted to RGB, through its profile where it has one.
- **16-bit and float** samples (scans, TIFF/PNG exports): scaled to 8 bits (16-bit: divided by 257, rounded;
  float: taken as [0, 1]).
- **Greyscale, 1-bit and palette** images: expanded to three equal (or looked-up) channels.
- **Alpha**: composited over **black**. This is what premultiplied-alpha pipelines (Blender's compositor among
  them) hold in their colour channels, so a render with a transparent film loads the way Blender shows it
  over black, and a cut-out portrait gets a plain background that the landmark drawings' black also uses.
- **Multi-page files** (TIFF, GIF, animated WebP): the first page.
- **Huge images** (more than 8192 pixels on a side): downscaled to 8192 on the long side, with a warning,
  instead of failing; the model only ever sees a crop of a few hundred pixels.

Files that cannot be used raise `core.errors.UserError` with one line saying what to do: missing, empty,
not an image, truncated or corrupt, or smaller than 64 pixels on a side.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np

from .errors import UserError, one_line

MIN_SIDE = 64
MAX_SIDE = 8192

# Pillow modes that already are 8-bit per channel and convert losslessly (or by lookup) to RGB / RGBA.
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_HIGH_DEPTH_MODES = {"I", "F"}  # plus every "I;16..." variant
# PNG, JPEG and GIF: formats Pillow reads in full, so a file it cannot open is damaged, not for OpenCV.
_PILLOW_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read the image at `path` as an upright sRGB `uint8` array of shape `(H, W, 3)`."""
    path = Path(path)
    _check_file(path)
    try:
        pixels, (w, h) = _read_with_pillow(path)
    except _NotForPillow:
        pixels = _read_with_opencv(path)
        h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise UserError(f"{path} is only {w}x{h} pixels; use a photo at least {MIN_SIDE} pixels on each side "
                        f"(a face 256 pixels or more across works best)")
    rgb = _to_rgb8(pixels)
    if max(rgb.shape[:2]) > MAX_SIDE:
        rgb = _downscale(rgb, MAX_SIDE)
        if min(rgb.shape[:2]) < MIN_SIDE:  # a long, thin image: the downscale took its short side under the minimum
            raise UserError(f"{path} is {w}x{h} pixels: at most {MAX_SIDE} on its long side leaves "
                            f"{rgb.shape[1]}x{rgb.shape[0]}; crop it to the face (at least {MIN_SIDE} pixels on "
                            f"each side)")
    if max(h, w) > MAX_SIDE:
        warnings.warn(f"{path} is {w}x{h} pixels; downscaled to {rgb.shape[1]}x{rgb.shape[0]} "
                      f"(at most {MAX_SIDE} on a side)", stacklevel=2)
    return rgb


class _NotForPillow(Exception):
    """Pillow does not recognise the format; OpenCV gets a try (float TIFFs, some 16-bit RGB files)."""


def _check_file(path: Path) -> None:
    if not path.exists():
        raise UserError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise UserError(f"{path} is a folder; give the path of an image file")
    if not os.access(path, os.R_OK):
        raise UserError(f"cannot read {path}: permission denied; check the file's permissions")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty (0 bytes); choose another image or export it again")


def _read_with_pillow(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode with Pillow, apply orientation and colour profile: (2-D, RGB or RGBA samples, the upright
    image's full size (width, height), which a huge JPEG's reduced decoding may be smaller than)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Between Pillow's warning and error thresholds we downscale anyway.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                full_size = image.size
                if image.format == "JPEG" and max(image.size) > MAX_SIDE:
                    # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: a huge photo then costs a fraction to read.
                    image.draft(image.mode, (image.size[0] * MAX_SIDE // max(image.size),
                                             image.size[1] * MAX_SIDE // max(image.size)))
                image.load()
                scale = image.size[0] / full_size[0]
                image = _upright(image, ImageOps)
                image = _to_srgb(image)
                upright_size = (round(image.size[0] / scale), round(image.size[1] / scale))
                return _pillow_samples(image), upright_size
    except UnidentifiedImageError as e:
        if _starts_like_pillows_own(path):
            # A damaged PNG, JPEG or GIF: OpenCV would not do better, and can spend seconds on garbage chunks.
            raise UserError(f"{path} is truncated or corrupt (its header is unreadable); export or download "
                            f"it again") from e
        raise _NotForPillow from e
    except Image.DecompressionBombError as e:
        raise UserError(f"{path} has too many pixels to decode safely ({e}); downscale it to at most "
                        f"{MAX_SIDE} pixels on a side first") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        # Pillow reports a cut-off or damaged stream as one of these, depending on the format.
        raise UserError(f"{path} is truncated or corrupt ({one_line(e)}); export or download it again") from e


def _starts_like_pillows_own(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8).startswith(_PILLOW_SIGNATURES)


def _upright(image, image_ops):
    """Apply the EXIF orientation tag; a malformed tag leaves the pixels as stored."""
    try:
        return image_ops.exif_transpose(image)
    except Exception as e:  # noqa: BLE001  (broken EXIF blocks raise anything from KeyError to struct.error)
        warnings.warn(f"ignoring an unreadable EXIF orientation tag ({one_line(e)})", stacklevel=4)
        return image


def _to_srgb(image):
    """Convert through an embedded ICC profile to sRGB (RGB, RGBA and CMYK images only)."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        target = ImageCms.createProfile("sRGB")
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        return ImageCms.profileToProfile(image, source, target, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a damaged or unusual profile: the pixels as stored are the best guess


def _pillow_samples(image) -> np.ndarray:
    mode = image.mode
    if mode in _HIGH_DEPTH_MODES or mode.startswith("I;16"):
        return np.asarray(image)
    has_alpha = mode in _ALPHA_MODES or "transparency" in image.info
    return np.asarray(image.convert("RGBA" if has_alpha else "RGB"))


def _read_with_opencv(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)
    level = cv2.getLogLevel()
    cv2.setLogLevel(0)          # OpenCV logs each failed decoder on stderr; the UserError below says it in one line
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error:
        decoded = None
    finally:
        cv2.setLogLevel(level)
    if decoded is None:
        raise UserError(f"{path} is not an image this program can read; convert it to PNG or JPEG")
    if decoded.ndim == 3 and decoded.shape[2] == 3:
        return decoded[..., ::-1]
    if decoded.ndim == 3 and decoded.shape[2] == 4:
        return decoded[..., [2, 1, 0, 3]]
    return decoded


def _to_rgb8(samples: np.ndarray) -> np.ndarray:
    """2-D, RGB or RGBA samples of any depth -> contiguous uint8 RGB, alpha composited over black."""
    if samples.ndim == 3 and samples.shape[2] == 1:
        samples = samples[..., 0]
    if samples.ndim == 2:
        samples = samples[..., None].repeat(3, axis=2)
    if samples.ndim != 3 or samples.shape[2] not in (3, 4):
        raise UserError(f"images with {samples.shape[-1]} channels are not supported; save it as RGB PNG or JPEG")
    if samples.dtype == np.uint8:  # the common case stays in integers: no float copy of a large photo
        if samples.shape[2] == 3:
            return np.ascontiguousarray(samples)
        alpha = samples[..., 3:].astype(np.uint16)
        return ((samples[..., :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
    unit = _as_unit_float(samples)
    if unit.shape[2] == 4:
        unit = unit[..., :3] * unit[..., 3:]
    return np.ascontiguousarray(np.rint(unit * 255.0).astype(np.uint8))


def _as_unit_float(samples: np.ndarray) -> np.ndarray:
    if samples.dtype.kind in "ui":  # 16-bit (and 32-bit integer greyscale, taken on the 16-bit scale)
        return np.clip(samples.astype(np.float32) / 65535.0, 0.0, 1.0)
    values = np.nan_to_num(samples.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(values, 0.0, 1.0)


def _downscale(rgb: np.ndarray, longest: int) -> np.ndarray:
    import cv2

    h, w = rgb.shape[:2]
    scale = longest / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """An RGB uint8 image as a plain PNG (no provenance: reference copies, contact sheets), written atomically."""
    import cv2

    from .atomic import write_atomic, write_error

    path = Path(path)
    ok, data = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
    if not ok:
        raise UserError(f"cannot encode {path} as PNG: the image is {rgb.shape}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise write_error(e, path) from None
    return write_atomic(path, data.tobytes())
