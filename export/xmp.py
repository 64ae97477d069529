"""XMP: the synthetic-image statement in the metadata packet other tools read (exiftool, Photoshop, newsrooms).

The project's own PNG text chunks and EXR attributes (`provenance.metadata()`) say that a frame is
AI-generated, but only in keys that no other tool interprets. XMP is the place where they look, and IPTC's
`Iptc4xmpExt:DigitalSourceType` is the property they read: `trainedAlgorithmicMedia` for media made by a
model trained on sampled content. `packet()` makes the one packet every written file carries:

- `Iptc4xmpExt:DigitalSourceType` = http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia
- `Iptc4xmpExt:AISystemUsed` / `AISystemVersionUsed` (IPTC 2025.1) and `xmp:CreatorTool`: software and version
- `dc:description`: the plain statement that the image is synthetic (`provenance.STATEMENT`)
- `dc:format`: the file's media type

Each format keeps it where the XMP specification (part 3) or the format's readers put it:

| format | where | function |
| --- | --- | --- |
| PNG | an uncompressed iTXt chunk `XML:com.adobe.xmp`, right after IHDR | `png_chunk`, `embed_png`, `read_png` |
| MP4 | a top-level `uuid` box with the XMP UUID BE7ACFCB-97A9-42E8-9C71-999491E3AFAC, appended | `mp4_box`, `embed_mp4`, `read_mp4` |
| EXR | a string header attribute `xmp` (no standard place: exiftool reads it with `-scanForXMP`) | `exr_header`, `read_exr` |

Costs: the packet and the PNG chunk are built once per format and cached; `embed_png` walks the chunk
headers and joins the pieces in one copy (well under a millisecond for a 1024 x 1024 frame; see
`benchmarks/provenance_cost.py`). The MP4 box is appended after the last box, so no sample offset moves.
Embed XMP *before* signing Content Credentials (`content_credentials`): the C2PA hash covers it.
"""
from __future__ import annotations

import os
import re
import struct
import uuid
import zlib
from functools import lru_cache
from pathlib import Path
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from ..core import __version__
from ..core.errors import UserError
from . import provenance

DIGITAL_SOURCE_TYPE = provenance.IPTC_SOURCE_TYPE
# Source types that mean "made or changed by a generative model" (IPTC NewsCodes, digitalsourcetype).
SYNTHETIC_SOURCE_TYPES = {f"http://cv.iptc.org/newscodes/digitalsourcetype/{name}" for name in (
    "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "compositeSynthetic")}
XMP_UUID = uuid.UUID("be7acfcb-97a9-42e8-9c71-999491e3afac")
PNG_KEYWORD = b"XML:com.adobe.xmp"
EXR_ATTRIBUTE = "xmp"
MEDIA_TYPES = {"png": "image/png", "exr": "image/x-exr", "mp4": "video/mp4"}
MAX_PACKET = 4 << 20            # a packet larger than this is not ours and not parsed

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXR_MAGIC = b"\x76\x2f\x31\x01"


# --- the packet ----------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def packet(media_type: str | None = "image/png") -> str:
    """The XMP packet (a str; UTF-8 when embedded) that every written file carries.

    `media_type` ("image/png", "image/x-exr", "video/mp4", or a short name from MEDIA_TYPES) becomes
    `dc:format`; None leaves it out."""
    media_type = MEDIA_TYPES.get(media_type, media_type)
    software = f"{provenance.SOFTWARE} {__version__}"
    attributes = {
        "Iptc4xmpExt:DigitalSourceType": DIGITAL_SOURCE_TYPE,
        "Iptc4xmpExt:AISystemUsed": provenance.SOFTWARE,
        "Iptc4xmpExt:AISystemVersionUsed": __version__,
        "xmp:CreatorTool": software,
    }
    if media_type:
        attributes["dc:format"] = media_type
    namespaces = " ".join(f"xmlns:{p}={quoteattr(NS[p])}" for p in ("Iptc4xmpExt", "xmp", "dc"))
    fields = "".join(f"\n    {k}={quoteattr(v)}" for k, v in attributes.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk={quoteattr(software)}>\n'
        f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
        f'  <rdf:Description rdf:about="" {namespaces}{fields}>\n'
        f'   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(provenance.STATEMENT)}</rdf:li>'
        f'</rdf:Alt></dc:description>\n'
        '  </rdf:Description>\n'
        ' </rdf:RDF>\n'
        '</x:xmpmeta>\n'
        '<?xpacket end="r"?>')


def describe(xmp: str | bytes | None) -> dict:
    """What a packet says: {"present", "digital_source_type", "software", "statement", "synthetic"}.

    Reads any tool's packet (properties as attributes or as elements); a packet that does not parse is
    reported as present with `"error"`."""
    result = {"present": xmp is not None, "digital_source_type": None, "software": None, "statement": None,
              "synthetic": False}
    if xmp is None:
        return result
    text = xmp.decode("utf-8", "replace") if isinstance(xmp, bytes) else xmp
    start, end = text.find("<x:xmpmeta"), text.rfind("</x:xmpmeta>")
    body = text[start:end + len("</x:xmpmeta>")] if start >= 0 and end > start else text
    if len(body) > MAX_PACKET or "<!DOCTYPE" in body or "<!ENTITY" in body:   # XMP forbids DTDs
        return {**result, "error": "not a plain XMP packet"}
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as e:
        return {**result, "error": f"XMP does not parse: {e}"}
    source = _property(root, "Iptc4xmpExt", "DigitalSourceType")
    result.update(digital_source_type=source, software=_property(root, "xmp", "CreatorTool"),
                  statement=_property(root, "dc", "description"), synthetic=source in SYNTHETIC_SOURCE_TYPES)
    return result


def _property(root: ElementTree.Element, prefix: str, name: str) -> str | None:
    key = f"{{{NS[prefix]}}}{name}"
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        if key in description.attrib:
            return description.attrib[key].strip()
        element = description.find(key)
        if element is not None:
            texts = [t.strip() for t in element.itertext() if t.strip()]
            resource = element.attrib.get(f"{{{NS['rdf']}}}resource")
            return texts[0] if texts else resource
    return None


# --- PNG -----------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def png_chunk(xmp: str | None = None) -> bytes:
    """The iTXt chunk `XML:com.adobe.xmp` (uncompressed, as the XMP specification requires) holding
    `xmp` (default: `packet("image/png")`), ready to insert after IHDR."""
    text = (xmp if xmp is not None else packet("image/png")).encode("utf-8")
    body = PNG_KEYWORD + b"\0\0\0\0\0" + text            # no compression, no language, no translated keyword
    return struct.pack(">I", len(body)) + b"iTXt" + body + struct.pack(">I", zlib.crc32(b"iTXt" + body))


def _png_chunks(data: bytes | memoryview):
    """(offset, kind, body start, body length) of each chunk, up to and including IEND."""
    if bytes(data[:8]) != _PNG_SIGNATURE:
        raise UserError("not a PNG file (its signature is missing); write it again")
    at, size = 8, len(data)
    while at + 12 <= size:
        length, kind = struct.unpack_from(">I4s", data, at)
        if at + 12 + length > size:
            raise UserError("the PNG file is truncated; write it again")
        yield at, kind, at + 8, length
        if kind == b"IEND":
            return
        at += 12 + length


def _is_xmp_chunk(data, kind: bytes, start: int, length: int) -> bool:
    return kind == b"iTXt" and length > len(PNG_KEYWORD) and \
        bytes(data[start:start + len(PNG_KEYWORD) + 1]) == PNG_KEYWORD + b"\0"


def embed_png(data: bytes, xmp: str | None = None) -> bytes:
    """PNG bytes with the XMP chunk right after IHDR (a chunk already there is replaced: one packet per
    file). Pixels and every other chunk are copied as they are, in one pass."""
    view = memoryview(data)
    chunks = list(_png_chunks(view))
    if not chunks or chunks[0][1] != b"IHDR":
        raise UserError("the PNG file does not start with its IHDR chunk; write it again")
    header_end = chunks[0][2] + chunks[0][3] + 4
    parts = [view[:header_end], png_chunk(xmp)]
    at = header_end
    for offset, kind, start, length in chunks[1:]:
        if _is_xmp_chunk(view, kind, start, length):
            parts.append(view[at:offset])
            at = offset + 12 + length
    parts.append(view[at:])
    return b"".join(parts)


def read_png(source: bytes | str | os.PathLike) -> str | None:
    """The XMP packet of a PNG (bytes or a path), or None."""
    data = source if isinstance(source, (bytes, bytearray, memoryview)) else Path(source).read_bytes()
    for _, kind, start, length in _png_chunks(data):
        if _is_xmp_chunk(data, kind, start, length):
            body = bytes(data[start + len(PNG_KEYWORD) + 1:start + length])
            if len(body) < 2:
                return ""
            compressed = body[0] == 1
            _, _, rest = body[2:].partition(b"\0")           # language tag
            _, _, text = rest.partition(b"\0")               # translated keyword
            try:
                return (zlib.decompress(text) if compressed else text).decode("utf-8", "replace")
            except zlib.error:
                raise UserError("the PNG's XMP chunk is damaged (it does not decompress)") from None
    return None


# --- MP4 (ISO base media file format) ------------------------------------------------------------------

@lru_cache(maxsize=4)
def mp4_box(xmp: str | None = None) -> bytes:
    """The top-level `uuid` box with the XMP UUID holding `xmp` (default: `packet("video/mp4")`)."""
    text = (xmp if xmp is not None else packet("video/mp4")).encode("utf-8")
    return struct.pack(">I", 8 + 16 + len(text)) + b"uuid" + XMP_UUID.bytes + text


def _boxes(f, size: int):
    """(offset, header size, box size, type, first 16 bytes of the payload, size runs to the end of the
    file) of each top-level box."""
    at = 0
    while at + 8 <= size:
        f.seek(at)
        head = f.read(32)
        box_size, kind = struct.unpack_from(">I4s", head)
        header, to_end = 8, box_size == 0
        if box_size == 1 and len(head) < 16:
            raise UserError("the MP4 file is truncated (a box header is cut off); write it again")
        if box_size == 1:
            box_size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif to_end:
            box_size = size - at
        if box_size < header or at + box_size > size:
            raise UserError("the MP4 file is damaged (a box runs past its end); write it again")
        yield at, header, box_size, kind, head[header:header + 16], to_end
        at += box_size


def embed_mp4(path: str | os.PathLike, xmp: str | None = None) -> Path:
    """Append the XMP box to the MP4 at `path`, in place (call it on the temporary file before its rename,
    and before C2PA signing). An XMP box already there is turned into a `free` box of the same size, so no
    offset in the file moves; a last box whose size runs to the end of the file gets its size written."""
    path = Path(path)
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(4)
        if size < 8 or f.read(4) != b"ftyp":
            raise UserError(f"{path} is not an MP4 file (no ftyp box); write it again")
        for at, header, box_size, kind, payload, to_end in list(_boxes(f, size)):
            if kind == b"uuid" and payload == XMP_UUID.bytes:
                f.seek(at + 4)                                   # the type follows the 32-bit size
                f.write(b"free")
            if to_end:                                           # "to the end of the file": make it explicit
                if box_size >= 1 << 32:
                    raise UserError(f"{path}: its last box is too large to append metadata after it")
                f.seek(at)
                f.write(struct.pack(">I", box_size))
        f.seek(size)
        f.write(mp4_box(xmp))
    return path


def read_mp4(path: str | os.PathLike) -> str | None:
    """The XMP packet of an MP4 / MOV (top-level XMP `uuid` box), or None."""
    path = Path(path)
    with open(path, "rb") as f:
        size = f.seek(0, os.SEEK_END)
        for at, header, box_size, kind, payload, _ in _boxes(f, size):
            if kind == b"uuid" and payload == XMP_UUID.bytes and box_size - header - 16 <= MAX_PACKET:
                f.seek(at + header + 16)
                return f.read(box_size - header - 16).decode("utf-8", "replace")
    return None


# --- EXR -----------------------------------------------------------------------------------------------

def exr_header(xmp: str | None = None) -> dict[str, str]:
    """The header entry to merge into the dict `OpenEXR.File(header, channels)` writes: {"xmp": packet}.

    OpenEXR has no standard XMP attribute; a string attribute keeps the packet as plain text, which
    generic XMP scanners (exiftool -scanForXMP) find."""
    return {EXR_ATTRIBUTE: xmp if xmp is not None else packet("image/x-exr")}


def read_exr(path: str | os.PathLike) -> str | None:
    import OpenEXR

    try:
        header = OpenEXR.File(str(path), header_only=True).header()
    except Exception as e:                         # the binding raises plain Exceptions for bad files
        raise UserError(f"{path} is not a readable OpenEXR file ({e}); write it again") from None
    value = header.get(EXR_ATTRIBUTE)
    return value if isinstance(value, str) else None


# --- any file ------------------------------------------------------------------------------------------

def read(path: str | os.PathLike) -> str | None:
    """The XMP packet of a PNG, EXR or MP4 / MOV file; for other formats (JPEG, TIFF, WebP, ...) the first
    packet found by scanning the file, as exiftool's -scanForXMP does; None if there is none."""
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(12)
    if head.startswith(_PNG_SIGNATURE):
        return read_png(path)
    if head.startswith(_EXR_MAGIC):
        return read_exr(path)
    if head[4:8] == b"ftyp":
        return read_mp4(path)
    if path.stat().st_size > 256 << 20:
        return None
    data = path.read_bytes()
    match = re.search(rb"<x:xmpmeta.*?</x:xmpmeta>", data, re.DOTALL)
    return match.group(0).decode("utf-8", "replace") if match else None


def file_info(path: str | os.PathLike) -> dict:
    """`describe(read(path))`: whether the file carries XMP and what it says."""
    return describe(read(path))
