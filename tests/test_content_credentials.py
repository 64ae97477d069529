"""Content Credentials (C2PA): signed manifests in PNG and MP4 that say `trainedAlgorithmicMedia`, the signing
identity created once per installation, and `verify`'s three signals (C2PA, XMP, watermark)."""
import json
import os
import struct
import sys
import threading

import cv2
import numpy as np
import pytest
from scipy.io import wavfile

c2pa = pytest.importorskip("c2pa", reason="c2pa-python is not installed")

from talking_heads.core.errors import UserError  # noqa: E402
from talking_heads.export import content_credentials as cc  # noqa: E402
from talking_heads.app.cli import main  # noqa: E402
from talking_heads.export import signals, xmp  # noqa: E402
from talking_heads.export.flipbook import write_flipbook  # noqa: E402
from talking_heads.export.sequence import SequenceWriter, encode_frame, write_frame  # noqa: E402
from talking_heads.export.video import video_info, write_video  # noqa: E402

SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
REFERENCE = b"the bytes of a reference portrait, which must never be copied into a manifest"


@pytest.fixture(scope="module")
def c2pa_folder(tmp_path_factory):
    """The local identity lives here, not in the user's config folder."""
    folder = tmp_path_factory.mktemp("config") / "talking-heads" / "c2pa"
    old = os.environ.get(cc.FOLDER_ENV)
    os.environ[cc.FOLDER_ENV] = str(folder)
    yield folder
    if old is None:
        os.environ.pop(cc.FOLDER_ENV, None)
    else:
        os.environ[cc.FOLDER_ENV] = old


@pytest.fixture(scope="module")
def signer(c2pa_folder):
    signer, status = cc.open_signer(reference=REFERENCE)
    assert status.signing and signer is not None, status.message
    assert status.identity.origin == "local" and "untrusted" in status.message
    return signer


@pytest.fixture(scope="module")
def frame(astronaut):
    return np.ascontiguousarray(astronaut[:256, 128:384])


def signed_png(signer, frame) -> bytes:
    """A frame as the writers make it: watermark, PNG with XMP and text chunks, then the manifest."""
    return signer.sign(encode_frame("png", frame), "image/png", title="frame_0001.png")


def chunks(data: bytes):
    at = 8
    while at < len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        yield kind, data[at:at + 12 + length]
        at += 12 + length


def with_new_pixels(png: bytes, pixels: np.ndarray) -> bytes:
    """`png` with its image data replaced by that of `pixels` and every other chunk (the manifest, XMP,
    text) kept in place: an editor that keeps the metadata."""
    new = encode_frame("png", pixels, watermark=False)
    idat = b"".join(c for kind, c in chunks(new) if kind == b"IDAT")
    out, placed = [png[:8]], False
    for kind, c in chunks(png):
        if kind != b"IDAT":
            out.append(c)
        elif not placed:
            out.append(idat)
            placed = True
    return b"".join(out)


def test_a_signed_png_holds_a_valid_manifest_with_the_source_type(signer, frame, tmp_path):
    path = tmp_path / "frame_0001.png"
    path.write_bytes(signed_png(signer, frame))
    result = cc.read(path)
    assert result["state"] == "valid", result
    assert result["digital_source_type"] == SOURCE
    assert result["generator"].startswith("Neural Talking Heads")
    assert not result["trusted"] and result["failures"] == ["signingCredential.untrusted"]
    # c2pa-python itself, independently of our summary
    with open(path, "rb") as f, c2pa.Reader("image/png", f) as reader:
        store = json.loads(reader.json())
    active = store["manifests"][store["active_manifest"]]
    (actions,) = [a["data"]["actions"] for a in active["assertions"] if a["label"].startswith("c2pa.actions")]
    assert actions[0]["action"] == "c2pa.created" and actions[0]["digitalSourceType"] == SOURCE
    # the reference is an ingredient by hash only: no thumbnail, no file name, no pixels
    (ingredient,) = active["ingredients"]
    assert ingredient["instance_id"] == f"sha256:{cc.sha256_of(REFERENCE)}"
    assert ingredient["relationship"] == "inputTo" and "thumbnail" not in ingredient
    assert "thumbnail" not in active
    assert REFERENCE not in path.read_bytes()
    # XMP survives signing and the PNG still decodes
    assert xmp.file_info(path)["digital_source_type"] == SOURCE
    assert cv2.imread(str(path)) is not None


def test_a_signed_mp4_holds_a_valid_manifest_with_the_source_type(signer, frame, tmp_path):
    path = write_video(tmp_path / "clip.mp4", [frame] * 8, fps=25, signer=signer)
    result = cc.read(path)
    assert result["state"] == "valid", result
    assert result["digital_source_type"] == SOURCE
    assert xmp.file_info(path)["digital_source_type"] == SOURCE
    report = signals.file_signals(path)
    assert report["watermark"]["found"] and report["synthetic"]
    assert not list(tmp_path.glob(".*.tmp"))                     # signed in place through a temporary file


def test_the_writers_sign_every_png_from_a_thread_pool(signer, frame, tmp_path):
    frames = [np.ascontiguousarray(np.roll(frame, 3 * k, axis=1)) for k in range(6)]
    with SequenceWriter(tmp_path / "seq", workers=3, signer=signer) as writer:
        for f in frames:
            writer.append(f)
    single = write_frame(tmp_path / "one.png", frame, bit_depth=16, signer=signer)
    atlas, _ = write_flipbook(frames, tmp_path / "atlas.png", signer=signer)
    paths = sorted((tmp_path / "seq").glob("frame_*.png")) + [single, atlas]
    assert len(paths) == 8
    for path in paths:
        result = cc.read(path)
        assert result["state"] == "valid" and result["digital_source_type"] == SOURCE, (path, result)
        assert xmp.file_info(path)["synthetic"]
    with open(paths[0], "rb") as f, c2pa.Reader("image/png", f) as reader:
        store = json.loads(reader.json())
    assert store["manifests"][store["active_manifest"]]["title"] == "frame_0001.png"
    exr = write_frame(tmp_path / "frame.exr", frame, signer=signer)     # EXR: no C2PA binding, XMP only
    assert cc.read(exr)["state"] == "absent" and xmp.file_info(exr)["synthetic"]


def test_a_video_with_sound_is_signed_after_the_sound_is_muxed(signer, frame, tmp_path):
    wav = tmp_path / "voice.wav"
    wavfile.write(wav, 16000, (np.sin(np.linspace(0, 400, 32000)) * 2 ** 14).astype(np.int16))
    voice = write_video(tmp_path / "voice.mp4", [frame] * 8, fps=4, audio=wav)       # 2 s with sound
    path = write_video(tmp_path / "take.mp4", [frame] * 10, fps=10, audio=voice, audio_offset=0.5, signer=signer)
    assert video_info(path)["audio"]["duration"] == pytest.approx(1.0, abs=1e-3)
    assert cc.read(path)["state"] == "valid"


def test_one_changed_pixel_is_a_hash_mismatch_while_the_watermark_is_still_found(signer, frame, tmp_path):
    png = signed_png(signer, frame)
    pixels = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    pixels[100, 100, 0] ^= 1
    path = tmp_path / "edited.png"
    path.write_bytes(with_new_pixels(png, pixels))
    report = signals.file_signals(path)
    assert report["c2pa"]["state"] == "tampered"
    assert "assertion.dataHash.mismatch" in report["c2pa"]["failures"]
    assert report["c2pa"]["digital_source_type"] == SOURCE       # what the (broken) manifest claimed
    assert report["xmp"]["present"] and report["xmp"]["synthetic"]
    assert report["watermark"]["found"] and report["synthetic"]
    lines = signals.format_lines(report)
    assert [line.split("\t")[1:3] for line in lines] == [["c2pa", "tampered"], ["xmp", "present"],
                                                         ["watermark", "found"]]
    assert "assertion.dataHash.mismatch" in lines[0]


def test_a_png_stripped_of_its_metadata_still_shows_the_watermark(signer, frame, tmp_path):
    signed = tmp_path / "signed.png"
    signed.write_bytes(signed_png(signer, frame))
    stripped = tmp_path / "stripped.png"
    assert cv2.imwrite(str(stripped), cv2.imread(str(signed), cv2.IMREAD_COLOR))     # OpenCV keeps no chunks
    report = signals.file_signals(stripped)
    assert report["c2pa"]["state"] == "absent"
    assert not report["xmp"]["present"]
    assert report["watermark"]["found"] and report["synthetic"]
    assert [line.split("\t")[2] for line in signals.format_lines(report)] == ["absent", "absent", "found"]
    json.dumps(report)                                           # what `--json -` prints


def test_verify_exits_0_only_for_synthetic_untampered_files_and_prints_json(signer, frame, tmp_path, capsys):
    signed = tmp_path / "signed.png"
    signed.write_bytes(signed_png(signer, frame))
    png = signed.read_bytes()
    pixels = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    pixels[7, 7, 1] ^= 1
    edited = tmp_path / "edited.png"
    edited.write_bytes(with_new_pixels(png, pixels))
    stripped = tmp_path / "stripped.png"
    cv2.imwrite(str(stripped), cv2.imread(str(signed), cv2.IMREAD_COLOR))
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), frame[..., ::-1])
    video = write_video(tmp_path / "clip.mp4", [frame] * 4, fps=25, signer=signer)

    assert main(["verify", str(signed), str(stripped), str(video)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 9 and all(len(line.split("\t")) == 4 for line in lines)
    assert [line.split("\t")[2] for line in lines[:3]] == ["valid", "present", "found"]
    assert "untrusted signer" in lines[0]
    assert main(["verify", str(signed), str(edited)]) == 1             # the watermark is there, but tampered
    capsys.readouterr()
    assert main(["verify", str(photo)]) == 1                            # no signal at all
    capsys.readouterr()
    assert main(["verify", str(edited), str(photo), "--json", "-"]) == 1
    reports = json.loads(capsys.readouterr().out)
    assert [r["c2pa"]["state"] for r in reports] == ["tampered", "absent"]
    assert [r["synthetic"] for r in reports] == [True, False]
    out = tmp_path / "signals.json"
    assert main(["verify", str(signed), "--json", str(out)]) == 0
    assert json.loads(out.read_text())[0]["c2pa"]["state"] == "valid"
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_the_command_line_signs_with_the_options_it_is_given(c2pa_folder, frame, tmp_path, capsys):
    with SequenceWriter(tmp_path / "frames") as writer:
        for k in range(3):
            writer.append(np.roll(frame, k, axis=1))
    local = cc.local_identity()
    assert main(["export", "sequence", str(tmp_path / "frames"), "--out", str(tmp_path / "signed"),
                 "--c2pa-key", str(local.private_key), "--c2pa-cert", str(local.certificate_chain)]) == 0
    assert "Content Credentials signed by" in capsys.readouterr().out
    assert cc.read(tmp_path / "signed" / "frame_0001.png")["state"] == "valid"
    assert main(["export", "video", str(tmp_path / "frames"), "--out", str(tmp_path / "v.mp4"), "--fps", "3",
                 "--no-c2pa"]) == 0
    assert "no Content Credentials (turned off)" in capsys.readouterr().out
    assert cc.read(tmp_path / "v.mp4")["state"] == "absent" and xmp.file_info(tmp_path / "v.mp4")["synthetic"]
    with pytest.raises(UserError, match="both"):
        cc.open_signer(key=local.private_key)


def test_an_unmarked_photo_has_no_signal(astronaut, tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    report = signals.file_signals(path)
    assert report["c2pa"]["state"] == "absent" and not report["xmp"]["present"]
    assert not report["watermark"]["found"] and not report["synthetic"]


def test_the_local_ca_is_created_once_and_reused(tmp_path):
    folder = tmp_path / "c2pa"
    first = cc.local_identity(folder)
    files = {name: (folder / name).read_bytes() for name in cc.LOCAL_FILES}
    stamps = {name: (folder / name).stat().st_mtime_ns for name in cc.LOCAL_FILES}
    second = cc.local_identity(folder)
    assert first == second
    assert {name: (folder / name).read_bytes() for name in cc.LOCAL_FILES} == files
    assert {name: (folder / name).stat().st_mtime_ns for name in cc.LOCAL_FILES} == stamps
    if os.name == "posix":
        assert (folder / "signer-key.pem").stat().st_mode & 0o077 == 0
    # what c2pa needs of the leaf: key identifiers and the email-protection usage, issued by the local CA
    from cryptography import x509
    from cryptography.x509.oid import ExtendedKeyUsageOID

    leaf, ca = x509.load_pem_x509_certificates(files["signer-chain.pem"])
    assert leaf.issuer == ca.subject != leaf.subject
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    leaf.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_concurrent_first_uses_agree_on_one_identity(tmp_path):
    folder = tmp_path / "c2pa"
    found, errors = [], []

    def run():
        try:
            found.append(cc.local_identity(folder).certificate_chain.read_bytes())
        except Exception as e:                                   # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(found)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c2pa"]        # no temporary folder left


def test_a_configured_key_and_certificate_sign_and_bad_ones_are_user_errors(frame, tmp_path):
    local = cc.local_identity(tmp_path / "made")
    signer, status = cc.open_signer(local.private_key, local.certificate_chain, reference=REFERENCE)
    assert status.identity.origin == "configured" and signer is not None
    assert cc.read(signed_png(signer, frame))["state"] == "valid"
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(local.private_key.read_bytes(), password=None)
    sec1 = tmp_path / "sec1-key.pem"                                    # as `openssl ecparam -genkey` writes it
    sec1.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    signer, _ = cc.open_signer(sec1, local.certificate_chain)
    assert cc.read(signed_png(signer, frame))["state"] == "valid"
    other = cc.local_identity(tmp_path / "other")
    with pytest.raises(UserError, match="does not belong"):
        cc.open_signer(other.private_key, local.certificate_chain)
    with pytest.raises(UserError, match="both"):
        cc.signing_identity(key=local.private_key)
    with pytest.raises(UserError, match="does not exist"):
        cc.signing_identity(tmp_path / "missing.pem", local.certificate_chain)


def test_without_c2pa_python_the_status_says_why_and_nothing_is_signed(monkeypatch):
    monkeypatch.setitem(sys.modules, "c2pa", None)               # `import c2pa` raises ImportError
    signer, status = cc.open_signer()
    assert signer is None and not status.signing
    assert "c2pa" in status.message and "watermark" in status.message
    assert cc.read(b"\x89PNG\r\n\x1a\n")["state"] == "error"


def test_an_unwritable_config_folder_is_a_status_not_a_crash(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder's parent should be")
    monkeypatch.setenv(cc.FOLDER_ENV, str(blocker / "c2pa"))
    signer, status = cc.open_signer()
    assert signer is None and not status.signing and "no Content Credentials" in status.message


def test_formats_without_content_credentials_read_as_absent(frame, tmp_path):
    path = tmp_path / "frame.exr"
    from talking_heads.export.sequence import write_frame

    write_frame(path, frame, metadata=xmp.exr_header())
    report = signals.file_signals(path)
    assert report["c2pa"]["state"] == "absent"
    assert report["xmp"]["synthetic"] and report["watermark"]["found"]
