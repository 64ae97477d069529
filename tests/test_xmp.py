"""XMP: the IPTC digital source type in PNG, EXR and MP4, where other tools (exiftool) read it."""
import shutil
import struct
import subprocess
import zlib

import cv2
import numpy as np
import pytest

from talking_heads.core.errors import UserError
from talking_heads.export import provenance, xmp
from talking_heads.export.sequence import encode_frame, read_metadata, write_frame
from talking_heads.export.video import read_video, write_video

SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (libimage-exiftool-perl)")


def exiftool(path, *options) -> str:
    """The value exiftool reads for XMP-iptcExt:DigitalSourceType ('' if none)."""
    out = subprocess.run([EXIFTOOL, "-s3", *options, "-XMP-iptcExt:DigitalSourceType", str(path)],
                         capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def chunk_kinds(data: bytes) -> list[bytes]:
    kinds, at = [], 8
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8:at + 8 + length]
        assert struct.unpack_from(">I", data, at + 8 + length)[0] == zlib.crc32(kind + body), kind
        kinds.append(kind)
        at += 12 + length
    return kinds


@pytest.fixture(scope="module")
def frame(astronaut):
    return np.ascontiguousarray(astronaut[:256, 128:384])


def test_the_packet_says_synthetic_and_names_the_software():
    info = xmp.describe(xmp.packet("image/png"))
    assert info["present"] and info["synthetic"]
    assert info["digital_source_type"] == SOURCE
    assert info["software"] == provenance.metadata()["Software"]
    assert info["statement"] == provenance.STATEMENT
    assert 'dc:format="video/mp4"' in xmp.packet("mp4")
    assert xmp.describe(None) == {"present": False, "digital_source_type": None, "software": None,
                                  "statement": None, "synthetic": False}


def test_describe_reads_other_tools_packets_and_refuses_entities():
    element_form = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
                    '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/">'
                    f'<Iptc4xmpExt:DigitalSourceType>{SOURCE}</Iptc4xmpExt:DigitalSourceType>'
                    '</rdf:Description></rdf:RDF></x:xmpmeta>')
    assert xmp.describe(element_form)["digital_source_type"] == SOURCE
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>'
    assert "error" in xmp.describe(bomb)
    assert "error" in xmp.describe("<x:xmpmeta not xml")


def plain_png(frame) -> bytes:
    """A PNG as other software writes it: no XMP, no text chunks."""
    ok, data = cv2.imencode(".png", frame[..., ::-1])
    return data.tobytes()


def test_png_chunk_goes_after_ihdr_keeps_the_pixels_and_replaces_an_old_packet(frame):
    png = plain_png(frame)
    with_xmp = xmp.embed_png(png)
    kinds = chunk_kinds(with_xmp)
    assert kinds[:2] == [b"IHDR", b"iTXt"] and kinds[-1] == b"IEND"
    assert len(with_xmp) == len(png) + len(xmp.png_chunk())
    decoded = cv2.imdecode(np.frombuffer(with_xmp, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(decoded, cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED))
    assert xmp.describe(xmp.read_png(with_xmp))["digital_source_type"] == SOURCE
    again = xmp.embed_png(with_xmp, xmp.packet(None))              # one packet per file: the new one
    assert chunk_kinds(again).count(b"iTXt") == kinds.count(b"iTXt")
    assert xmp.read_png(again) == xmp.packet(None)
    assert xmp.read_png(png) is None
    with pytest.raises(UserError):
        xmp.embed_png(b"not a png")


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_every_encoded_png_carries_the_packet_right_after_ihdr(frame, bit_depth):
    png = encode_frame("png", frame, bit_depth=bit_depth)
    kinds = chunk_kinds(png)
    assert kinds[:2] == [b"IHDR", b"iTXt"] and kinds.count(b"iTXt") == 1
    assert xmp.read_png(png) == xmp.packet("image/png")
    assert len(xmp.embed_png(png)) == len(png)                       # embedding again replaces it


def test_png_text_fields_stay_readable(frame, tmp_path):
    path = write_frame(tmp_path / "frame.png", frame)
    fields = read_metadata(path)
    assert fields["DigitalSourceType"] == SOURCE and xmp.PNG_KEYWORD.decode() in fields


def test_written_mp4s_carry_the_box_and_a_new_packet_replaces_it(frame, tmp_path):
    path = write_video(tmp_path / "clip.mp4", [frame] * 6, fps=25)
    assert xmp.describe(xmp.read_mp4(path))["digital_source_type"] == SOURCE
    assert xmp.read_mp4(path) == xmp.packet("video/mp4")
    size = path.stat().st_size
    xmp.embed_mp4(path, xmp.packet(None))                          # the old box becomes `free`
    assert path.stat().st_size == size + len(xmp.mp4_box(xmp.packet(None)))
    assert xmp.read_mp4(path) == xmp.packet(None)
    assert len(read_video(path)) == 6
    with pytest.raises(UserError):
        xmp.embed_mp4(_text_file(tmp_path))


def _text_file(tmp_path):
    path = tmp_path / "not-a-video.mp4"
    path.write_text("hello, not an MP4 file")
    return path


def test_every_written_exr_carries_the_packet(frame, tmp_path):
    path = write_frame(tmp_path / "frame.exr", frame)
    assert xmp.read_exr(path) == xmp.packet("image/x-exr")
    assert xmp.file_info(path)["synthetic"]
    assert read_metadata(path)["DigitalSourceType"] == SOURCE       # the project's own attribute stays


def test_read_dispatches_on_content_and_scans_other_formats(frame, tmp_path):
    jpeg = tmp_path / "frame.jpg"
    ok, data = cv2.imencode(".jpg", frame)
    jpeg.write_bytes(data.tobytes())
    assert xmp.read(jpeg) is None
    png = tmp_path / "frame.bin"                                   # the suffix does not matter
    png.write_bytes(encode_frame("png", frame))
    assert xmp.file_info(png)["digital_source_type"] == SOURCE


@needs_exiftool
def test_exiftool_reads_the_digital_source_type_from_png_exr_and_mp4(frame, tmp_path):
    plain = tmp_path / "plain.png"
    plain.write_bytes(plain_png(frame))
    assert exiftool(plain) == ""
    assert exiftool(write_frame(tmp_path / "frame.png", frame)) == SOURCE
    assert exiftool(write_frame(tmp_path / "frame16.png", frame, bit_depth=16)) == SOURCE
    assert exiftool(write_video(tmp_path / "clip.mp4", [frame] * 4, fps=25)) == SOURCE
    # OpenEXR defines no XMP attribute; exiftool finds the plain-text packet with -scanForXMP.
    assert exiftool(write_frame(tmp_path / "frame.exr", frame), "-scanForXMP") == SOURCE
