"""Image sequences: numbered PNG (8 or 16 bit) and OpenEXR (half float, linear) frames.

**Names.** Frame N of a sequence is `<name><N padded to 4 digits>.<ext>` (`frame_0001.png`), like Blender's
`####`; frame numbers are Blender's, so a sequence can start anywhere (frames past 9999 get more digits).

**Pixels.** In memory, images are sRGB-encoded: `uint8` or `uint16` `H x W x 3`, or float in [0, 1].
PNG stores them as they are. EXR stores *linear* light, as compositors expect: the sRGB transfer curve is
undone on writing (`srgb_to_linear`) and redone by `read_srgb`; with an alpha channel, EXR colour is
premultiplied by alpha (the EXR convention), PNG colour is straight. `read_image` returns a file's samples
as stored; `read_srgb` returns float sRGB whatever the format.

**Provenance.** Every frame gets the synthetic-image watermark (`export.provenance.mark`), the
provenance text fields (PNG tEXt/iTXt chunks, EXR header attributes), plus any metadata passed in, and the
XMP packet with IPTC's digital source type (`export.xmp`: a PNG iTXt chunk right after IHDR, an EXR header
attribute). With a `signer` (`export.content_credentials.Signer`), each PNG also carries a signed C2PA
manifest, made in memory after encoding and before the atomic write (EXR has no C2PA binding: XMP only).

**Safety.** Each frame is encoded in memory and written atomically (`core.atomic`): the program crashing,
a full disk or a cancelled run never leaves a broken frame under a final name, and every frame written
before stays valid. Write errors become a `UserError` saying what to do; the temporary file is removed.

**Overwriting.** Nothing the user has is replaced silently. `SequenceWriter(..., overwrite=False)` (the
default) refuses, before writing anything, a folder that already holds frames of the same sequence (same
name and extension); `overwrite=True` replaces frames one by one as they are written (each replacement
atomic) and leaves every other file alone, frames of the old sequence beyond the new range included.
`write_frame(..., overwrite=False)` refuses an existing file.

**Speed.** Encoding runs in a thread pool: numpy, OpenCV, ISA-L's deflate (`encode_png`), OpenEXR, C2PA
signing and file writes release the GIL, so frames are marked, encoded and signed in parallel. While a writer
is open, numpy's BLAS runs one thread per call: OpenBLAS otherwise starts its own threads inside every
worker's matrix products and they fight over the cores (benchmarks/RESULTS.md has the figures). At most two
frames per worker wait in the queue, so memory stays bounded when the caller renders faster than the disk
writes.
"""
from __future__ import annotations

import io
import os
import re
import struct
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ..core import atomic
from ..core.colour import linear_to_srgb, srgb_to_linear
from ..core.errors import UserError
from ..core.frame_names import frame_name
from . import provenance, xmp

WRITE_FORMATS = ("png", "exr")
READ_FORMATS = ("png", "exr", "jpg", "jpeg", "tif", "tiff", "webp", "bmp")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG: every row with the Up filter (this row's bytes minus the row above's, one numpy subtraction), deflated
# by ISA-L (`isal`) at level 1. libpng with zlib level 1 and the Sub filter, as OpenCV wrote it, took 4 to 5
# times as long for files as large or larger (a 2048 x 2048 RGBA UV frame: 168 ms and 2.96 MB against 38 ms
# and 2.59 MB; 1920 x 1080 frames 125 ms against 27 ms; benchmarks/RESULTS.md). zlib itself, whatever the
# filter and strategy, spent 120 to 150 ms deflating the UV frame: the deflate, not libpng, is the cost.
PNG_LEVEL = 1


# --- names ---------------------------------------------------------------------------------------------

def _pattern(name: str, ext: str) -> re.Pattern:
    return re.compile(rf"^{re.escape(name)}(\d+)\.{re.escape(ext)}$", re.IGNORECASE)


def sequence_numbers(folder: str | os.PathLike, name: str, ext: str) -> dict[int, Path]:
    """Frame number -> path of every `<name><digits>.<ext>` file in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    pattern = _pattern(name, ext)
    found = {}
    for entry in os.scandir(folder):
        m = pattern.match(entry.name)
        if m and entry.is_file():
            found[int(m.group(1))] = Path(entry.path)
    return dict(sorted(found.items()))


def find_sequences(folder: str | os.PathLike) -> list[tuple[str, str, list[int]]]:
    """Every numbered sequence in `folder` as (name, ext, sorted frame numbers), the longest first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder; give the folder that holds the frames")
    groups: dict[tuple[str, str], list[int]] = {}
    for entry in os.scandir(folder):
        m = re.match(r"^(.*?)(\d+)\.([A-Za-z0-9]+)$", entry.name)
        if m and not entry.name.startswith(".") and m.group(3).lower() in READ_FORMATS and entry.is_file():
            groups.setdefault((m.group(1), m.group(3)), []).append(int(m.group(2)))
    return sorted(((n, e, sorted(v)) for (n, e), v in groups.items()), key=lambda s: (-len(s[2]), s[0], s[1]))


def find_sequence(folder: str | os.PathLike, name: str | None = None) -> tuple[str, str, list[int]]:
    """The one numbered sequence in `folder` (or the one called `name`): (name, ext, frame numbers)."""
    sequences = find_sequences(folder)
    if name is not None:
        sequences = [s for s in sequences if s[0] == name]
    if not sequences:
        what = f"frames named {name}####" if name is not None else "numbered frames (name####.png or .exr)"
        raise UserError(f"{folder} holds no {what}; give the folder the frames were written to")
    if len(sequences) > 1 and name is None:
        listed = ", ".join(f"{n}####.{e} ({len(v)} frames)" for n, e, v in sequences[:4])
        raise UserError(f"{folder} holds several sequences ({listed}); choose one with --name")
    if len({s[1].lower() for s in sequences}) > 1:
        raise UserError(f"{folder} holds frames named {name}#### in several formats; move all but one away")
    return sequences[0]


def _as_depth(image: np.ndarray, depth: int | None) -> np.ndarray:
    """uint8 / uint16 / float [0, 1] -> uint8 (depth 8), uint16 (depth 16) or float32 (depth None)."""
    if image.dtype == np.uint8 and depth == 8 or image.dtype == np.uint16 and depth == 16:
        return image
    if image.dtype == np.uint8 and depth == 16:
        return image.astype(np.uint16) * 257
    if image.dtype == np.uint8:
        unit = image.astype(np.float32) / 255.0
    elif image.dtype == np.uint16:
        unit = image.astype(np.float32) / 65535.0
    elif image.dtype == bool:
        unit = image.astype(np.float32)
    elif np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise UserError("the frame holds NaN or infinite values; check the renderer's output")
        unit = np.clip(image, 0.0, 1.0).astype(np.float32)
    else:
        raise UserError(f"frames must be uint8, uint16 or float in [0, 1], not {image.dtype}")
    if depth is None:
        return unit
    white = 255.0 if depth == 8 else 65535.0
    return np.rint(unit * white).astype(np.uint8 if depth == 8 else np.uint16)


def _split_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise UserError(f"a frame must be an H x W x 3 RGB (or x 4 RGBA) array, not {rgb.shape}")
    if rgb.shape[2] == 4:
        if alpha is not None:
            raise UserError("the frame is RGBA and an alpha was passed as well; pass one of them")
        rgb, alpha = rgb[..., :3], rgb[..., 3]
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.ndim == 3 and alpha.shape[2] == 1:
            alpha = alpha[..., 0]
        if alpha.shape != rgb.shape[:2]:
            raise UserError(f"the alpha mask is {alpha.shape}, the frame {rgb.shape[:2]}; they must match")
    return rgb, alpha


# --- encoding ------------------------------------------------------------------------------------------

def _chunk(kind: bytes, data) -> bytes:
    """One PNG chunk: length, type, data, CRC of type and data."""
    crc = zlib.crc32(data, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)))


def _text_chunk(key: str, value: str) -> bytes:
    if not 1 <= len(key) <= 79 or key != key.strip() or not all(32 <= ord(c) <= 255 for c in key):
        raise UserError(f"metadata key {key!r} is not a valid PNG keyword (1-79 Latin-1 characters)")
    try:
        return _chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
    except UnicodeEncodeError:
        return _chunk(b"iTXt", key.encode("latin-1") + b"\0\0\0\0\0" + value.encode("utf-8"))


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None, metadata: dict[str, str], *,
               with_xmp: bool = True) -> bytes:
    """uint8 or uint16 RGB or RGBA (or RGB and a separate alpha of the same dtype) -> PNG bytes: IHDR, the
    XMP packet (`xmp.png_chunk`), the metadata as text chunks, then the pixels (see PNG_LEVEL).
    `with_xmp=False` is for measurements only."""
    from isal import isal_zlib

    pixels = np.asarray(rgb)
    if alpha is not None:
        pixels = np.dstack([pixels, alpha])
    h, w, channels = pixels.shape
    depth = 8 if pixels.dtype == np.uint8 else 16
    if depth == 16:
        pixels = pixels.astype(">u2")                   # PNG's samples are big-endian
    rows = np.ascontiguousarray(pixels).reshape(h, -1).view(np.uint8)
    filtered = np.empty((h, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2                                  # the Up filter, on every row
    filtered[0, 1:] = rows[0]                           # (the first row's "row above" is zeros)
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", w, h, depth, 6 if channels == 4 else 2, 0, 0, 0)   # RGBA or RGB
    chunks = [_text_chunk(k, str(v)) for k, v in metadata.items()]
    return b"".join((PNG_SIGNATURE, _chunk(b"IHDR", header), xmp.png_chunk() if with_xmp else b"", *chunks,
                     _chunk(b"IDAT", isal_zlib.compress(filtered, PNG_LEVEL)), _chunk(b"IEND", b"")))


def encode_exr(rgb: np.ndarray, alpha: np.ndarray | None, metadata: dict[str, str]) -> bytes:
    """float sRGB in [0, 1] (+ float alpha) -> OpenEXR bytes: half float, linear, ZIP, premultiplied."""
    import OpenEXR

    linear = srgb_to_linear(rgb)
    channels = {}
    if alpha is not None:
        a = np.clip(alpha.astype(np.float32), 0.0, 1.0)
        linear = linear * a[..., None]
        channels["A"] = a.astype(np.float16)
    channels["RGB"] = linear.astype(np.float16)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
              "comments": metadata.get("Description", ""), **{k: str(v) for k, v in metadata.items()},
              **xmp.exr_header()}
    buffer = io.BytesIO()
    OpenEXR.File(header, channels, num_threads=1).write(buffer)
    return buffer.getvalue()


def encode_frame(ext: str, rgb: np.ndarray, alpha: np.ndarray | None = None, *, bit_depth: int | None = None,
                 metadata: dict[str, str] | None = None, watermark: bool = True,
                 spare: np.ndarray | None = None) -> bytes:
    """Convert, mark and encode one frame (see `write_frame`) without touching the disk."""
    ext = ext.lower().lstrip(".")
    pixels = _frame_pixels(rgb, alpha, _check_depth(ext, bit_depth))
    if watermark:
        pixels = provenance.mark(pixels, spare)
    fields = {**(metadata or {}), **provenance.metadata()}
    if ext == "png":
        return encode_png(pixels, None, fields)
    return encode_exr(pixels[..., :3], pixels[..., 3] if pixels.shape[2] == 4 else None, fields)


def _frame_pixels(rgb: np.ndarray, alpha: np.ndarray | None, depth: int | None) -> np.ndarray:
    """A frame as one H x W x 3 array, or x 4 with its alpha, at `depth` (see `_as_depth`). An RGBA frame stays
    one array: numpy's copies of its RGB and alpha views cost 50 ms for 2048 x 2048, more than the mark."""
    colour, alpha = _split_alpha(rgb, alpha)
    frame = np.asarray(rgb)
    if alpha is None:
        return _as_depth(colour, depth)
    if frame.ndim == 3 and frame.shape[2] == 4:
        return _as_depth(frame, depth)
    return np.dstack([_as_depth(colour, depth), _as_depth(alpha, depth)])


def _check_depth(ext: str, bit_depth: int | None) -> int | None:
    if ext not in WRITE_FORMATS:
        raise UserError(f"cannot write .{ext} frames; use png or exr")
    if ext == "png":
        if bit_depth not in (None, 8, 16):
            raise UserError(f"PNG frames are 8 or 16 bit, not {bit_depth}")
        return bit_depth or 8
    if bit_depth not in (None, 16):
        raise UserError(f"EXR frames are written as 16-bit half float, not {bit_depth} bit")
    return None


# --- writing -------------------------------------------------------------------------------------------

def prepare_folder(folder: str | os.PathLike) -> Path:
    """Create `folder` if needed and prove it writable, or raise a UserError before anything is written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserError(f"{folder} exists and is not a folder; choose another output folder") from None
    except OSError as e:
        raise UserError(f"cannot create the folder {folder}: {e.strerror}; choose another output folder") from None
    if not folder.is_dir():
        raise UserError(f"{folder} exists and is not a folder; choose another output folder")
    probe = atomic.temporary_path(folder / "write-test")
    try:
        atomic.store(probe, b"")
    except OSError as e:
        atomic.remove_quietly(probe)
        raise UserError(f"cannot write to the folder {folder}: {e.strerror or e}; "
                        f"choose a folder you can write to") from None
    atomic.remove_quietly(probe)
    return folder


def write_frame(path: str | os.PathLike, rgb: np.ndarray, *, alpha: np.ndarray | None = None,
                bit_depth: int | None = None, metadata: dict[str, str] | None = None, watermark: bool = True,
                overwrite: bool = False, signer=None, spare: np.ndarray | None = None) -> Path:
    """Write one frame, atomically, as PNG (8 or 16 bit, default 8) or EXR (half float, linear).

    `rgb`: uint8, uint16 or float [0, 1] sRGB, H x W x 3 (or x 4 with alpha); `alpha`: an optional
    H x W mask (bool, uint8, uint16 or float) such as a face mask. The watermark, the provenance fields and
    XMP are added (`watermark=False` is for data that is not a synthetic image; `spare`, an H x W map such
    as `provenance.face_spare`'s, keeps the watermark off the face); `signer`
    (`content_credentials.Signer`) adds a C2PA manifest to a PNG. The format follows the extension."""
    path = Path(path)
    data = encode_frame(path.suffix, rgb, alpha, bit_depth=bit_depth, metadata=metadata, watermark=watermark,
                        spare=spare)
    return atomic.write_atomic(path, sign_png(data, path, signer), overwrite=overwrite)


def sign_png(data: bytes, path: Path, signer) -> bytes:
    """`data` with its C2PA manifest when `signer` is given and the frame is a PNG; else `data`."""
    if signer is None or path.suffix.lower() != ".png":
        return data
    return signer.sign(data, "image/png", title=path.name)


class SequenceWriter:
    """Writes `<name>####.<ext>` frames into `folder`, encoding in a thread pool.

        with SequenceWriter("out", name="frame_", ext="png") as writer:
            for number, rgb in frames:
                writer.write(number, rgb)          # or writer.append(rgb), numbered from `start`

    `close()` (or leaving the `with` block) waits for every frame and raises the first error. The folder is
    created and checked before anything is written; see the module docstring for `overwrite`. `signer`
    (`content_credentials.Signer`, one for the whole pool: it keeps a c2pa context per thread) signs
    each PNG frame."""

    def __init__(self, folder: str | os.PathLike, name: str = "frame_", ext: str = "png", start: int = 1,
                 bit_depth: int | None = None, workers: int | None = None, *, overwrite: bool = False,
                 metadata: dict[str, str] | None = None, watermark: bool = True, signer=None):
        self.ext = ext.lower().lstrip(".")
        self.bit_depth = _check_depth(self.ext, bit_depth)
        if "/" in name or "\\" in name or name.startswith("."):
            raise UserError(f"frame name {name!r} must be a plain file name prefix such as frame_")
        self.folder = prepare_folder(folder)
        self.name = name
        existing = sequence_numbers(self.folder, name, self.ext)
        if existing and not overwrite:
            first = next(iter(existing.values())).name
            raise UserError(f"{self.folder} already holds {len(existing)} frames named {name}####.{self.ext} "
                            f"(such as {first}); choose an empty folder or allow overwriting them (--overwrite)")
        self.next_number = start
        self.metadata = dict(metadata or {})
        self.watermark = watermark
        self.signer = signer
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.written: list[int] = []                # numbers of the frames on disk, in completion order
        self._blas = threadpool_limits(limits=1, user_api="blas")
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="frame-writer")
        self._pending: deque[tuple[int, Future]] = deque()
        self._error: BaseException | None = None
        self._failing = False
        self._closed = False

    def path(self, number: int) -> Path:
        return self.folder / frame_name(self.name, number, self.ext)

    def write(self, frame_number: int, rgb: np.ndarray, alpha: np.ndarray | None = None,
              spare: np.ndarray | None = None) -> Path:
        """Queue frame `frame_number`; returns its final path (the file exists once `close()` returns).
        `spare`: where to keep the watermark off (`write_frame`)."""
        if self._closed:
            raise RuntimeError("SequenceWriter.write() after close()")
        while self._pending and self._pending[0][1].done():      # surface a failure as early as possible
            self._collect(self._pending.popleft())
        self._raise_if_failed()
        path = self.path(int(frame_number))
        _split_alpha(rgb, alpha)                   # bad input fails here, in the caller's thread
        rgb, alpha = np.array(rgb, copy=True), None if alpha is None else np.array(alpha, copy=True)
        while len(self._pending) >= 2 * self.workers:
            self._collect(self._pending.popleft())
        future = self._pool.submit(self._encode_and_store, path, rgb, alpha, spare)
        self._pending.append((int(frame_number), future))
        self.next_number = int(frame_number) + 1
        return path

    def append(self, rgb: np.ndarray, alpha: np.ndarray | None = None) -> int:
        """Write the next frame (`start`, `start + 1`, ...); returns its number."""
        number = self.next_number
        self.write(number, rgb, alpha)
        return number

    def close(self) -> None:
        """Wait for every queued frame; raise the first error (a UserError for write failures)."""
        if not self._closed:
            self._closed = True
            while self._pending:
                self._collect(self._pending.popleft())
            self._pool.shutdown(wait=True)
            self._blas.restore_original_limits()
        self._raise_if_failed()

    def __enter__(self) -> "SequenceWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
            return
        try:                                          # the body failed: finish what is queued, keep its error
            self.close()
        except Exception:
            pass

    def _encode_and_store(self, path: Path, rgb: np.ndarray, alpha: np.ndarray | None,
                          spare: np.ndarray | None = None) -> bool:
        if self._failing:                              # an earlier frame failed: stop writing
            return False
        try:
            data = encode_frame(self.ext, rgb, alpha, bit_depth=self.bit_depth, metadata=self.metadata,
                                watermark=self.watermark, spare=spare)
            atomic.write_atomic(path, sign_png(data, path, self.signer))
        except BaseException:
            self._failing = True
            raise
        return True

    def _collect(self, item: tuple[int, Future]) -> None:
        number, future = item
        try:
            if future.result():
                self.written.append(number)
        except BaseException as e:
            if self._error is None:
                self._error = e

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


# --- reading -------------------------------------------------------------------------------------------

def read_image(path: str | os.PathLike) -> np.ndarray:
    """A file's samples as stored: PNG/JPEG/TIFF -> uint8 or uint16 RGB(A); EXR -> float32 linear RGB(A)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file; check the path")
    if path.suffix.lower() == ".exr":
        return _read_exr(path)
    import cv2

    pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise UserError(f"{path} is not an image OpenCV can read, or it is damaged; write it again")
    if pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=2)
    order = [2, 1, 0, 3][:pixels.shape[2]]
    return np.ascontiguousarray(pixels[..., order])


def _read_exr(path: Path) -> np.ndarray:
    import OpenEXR

    try:
        channels = OpenEXR.File(str(path), separate_channels=True).channels()
    except Exception as e:                             # the binding raises plain Exceptions for bad files
        raise UserError(f"{path} is not a readable OpenEXR file ({e}); write it again") from None
    if not {"R", "G", "B"} <= channels.keys():
        raise UserError(f"{path} has no R, G, B channels (it has {', '.join(sorted(channels))})")
    names = ["R", "G", "B"] + (["A"] if "A" in channels else [])
    return np.dstack([channels[n].pixels.astype(np.float32) for n in names])


def read_srgb(path: str | os.PathLike) -> np.ndarray:
    """Any frame as float32 sRGB in [0, 1], H x W x 3 or x 4 (straight alpha)."""
    pixels = read_image(path)
    if pixels.dtype == np.float32:                     # EXR: linear, premultiplied
        colour = pixels[..., :3]
        if pixels.shape[2] == 4:
            a = pixels[..., 3:]
            colour = np.where(a > 0, colour / np.maximum(a, 1e-6), 0.0)
            return np.dstack([linear_to_srgb(colour), np.clip(a, 0.0, 1.0)])
        return linear_to_srgb(colour)
    return pixels.astype(np.float32) / (255.0 if pixels.dtype == np.uint8 else 65535.0)


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """Text metadata of a PNG (tEXt, zTXt, iTXt chunks) or EXR (string header attributes)."""
    path = Path(path)
    if path.suffix.lower() == ".exr":
        import OpenEXR

        header = OpenEXR.File(str(path), header_only=True).header()
        return {k: v for k, v in header.items() if isinstance(v, str)}
    data = path.read_bytes()
    fields, at = {}, 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            fields[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, value = body.partition(b"\0")
            fields[key.decode("latin-1")] = zlib.decompress(value[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _, _, rest = rest.partition(b"\0")       # language tag
            _, _, text = rest.partition(b"\0")       # translated keyword
            fields[key.decode("latin-1")] = (zlib.decompress(text) if compressed else text).decode("utf-8")
        elif kind == b"IEND":
            break
        at += 12 + length
    return fields


def read_sequence(folder: str | os.PathLike, name: str = "frame_", ext: str = "png") -> dict[int, np.ndarray]:
    """Frame number -> samples as stored (see `read_image`) for every `<name>####.<ext>` in `folder`."""
    return {n: read_image(p) for n, p in sequence_numbers(folder, name, ext.lstrip(".")).items()}
