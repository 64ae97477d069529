"""Content Credentials (C2PA): a signed manifest in every PNG and MP4 that says how it was made.

Platforms, newsrooms and labelling rules (the EU AI Act's Article 50) look for C2PA manifests. The one
this module writes (with `c2pa-python`, the Content Authenticity Initiative's SDK) holds:

- an actions assertion: `c2pa.created` with digital source type `trainedAlgorithmicMedia` and the software
  agent (this project and its version);
- the generator (`claim_generator_info`: name and version);
- the reference photo as an `inputTo` ingredient recorded **by its SHA-256 only**: no title from its file
  name, no thumbnail, no pixels (`reference_ingredient`);
- no thumbnail of the frame either (it would cost ~100 ms a 1024 x 1024 frame and repeat the pixels).

**Signing identity** (`signing_identity`): a key and certificate chain the user configures (PEM files:
an ES256/384/512, Ed25519 or RSA-PSS key and its certificate, chain included), else a local certificate
authority and a signing certificate created once per installation in the user's config folder
(`config_folder()`: `$TALKING_HEADS_C2PA_DIR`, else `talking-heads/c2pa/` in the platform's config folder:
`$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on
Windows). The leaf certificate is ES256 (P-256) with subject and authority key identifiers and the
email-protection extended key usage: c2pa refuses a bare self-signed leaf. Validators show the local
identity as an **untrusted signer** (no public CA vouches for it): the manifest still proves integrity
(any change to the file is detected) and states the source type; a user who wants a trusted signer
configures a certificate from a C2PA-trusted CA.

**Where signing is impossible** (c2pa-python or cryptography missing, the config folder not writable),
`open_signer` returns no signer and a `SigningStatus` saying why, so the caller writes the frames with XMP
and the watermark and reports it. A key or certificate the user configured but that cannot be used is a
`UserError` (bad input the user can fix), never a silent fall-back to another identity.

**Reading** (`read`): "valid" (the signature and every hash match; `trusted` says whether the signer
chains to a trust anchor), "tampered" (a hash or signature does not match: the file changed after
signing), "absent" (no manifest) or "error" (a manifest that cannot be read), with the source type.

Order of operations for a file: pixels (watermarked) -> encode -> XMP -> sign. The manifest hashes every
byte outside itself, so nothing may be added after signing.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import os
import sys
import threading
from pathlib import Path

from ..core import __version__, atomic
from ..core.errors import UserError
from . import provenance

SOURCE_TYPE = provenance.IPTC_SOURCE_TYPE
FOLDER_ENV = "TALKING_HEADS_C2PA_DIR"
APP_FOLDER = "talking-heads"
MEDIA_TYPES = {".png": "image/png", ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
               ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".tif": "image/tiff",
               ".tiff": "image/tiff"}
SIGNABLE = {"image/png", "video/mp4"}
LOCAL_FILES = ("ca.pem", "ca-key.pem", "signer-chain.pem", "signer-key.pem")
LOCAL_ORGANIZATION = "Neural Talking Heads (local installation)"
LOCAL_YEARS = 10
# Validation codes that are about trust in the signer, not about the file's integrity.
TRUST_CODES = ("signingCredential.untrusted", "signingCredential.ocsp", "signingCredential.expired",
               "timeStamp.", "signingCredential.revoked")
_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}


# --- the signing identity ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SigningIdentity:
    """A private key and its certificate chain (PEM files) and what validators will show of them."""
    certificate_chain: Path        # leaf first, then intermediates (the local identity: leaf + local CA)
    private_key: Path
    algorithm: str                 # c2pa's name: es256, es384, es512, ed25519, ps256
    origin: str                    # "configured" (the user's) or "local" (created for this installation)
    subject: str                   # the leaf's common name (else its organisation)
    issuer: str
    not_after: datetime.datetime

    def describe(self) -> str:
        trust = ("a self-made local certificate: validators show it as an untrusted signer"
                 if self.origin == "local" else "the configured certificate")
        return f"{self.subject} (issued by {self.issuer}; {trust})"


@dataclasses.dataclass(frozen=True)
class SigningStatus:
    """Whether files will carry Content Credentials, and a one-line message saying so (or why not)."""
    signing: bool
    message: str
    identity: SigningIdentity | None = None


def config_folder() -> Path:
    """Where the local signing identity lives: $TALKING_HEADS_C2PA_DIR, else talking-heads/c2pa in the
    platform's folder for per-user configuration."""
    override = os.environ.get(FOLDER_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / APP_FOLDER / "c2pa"


def signing_identity(key: str | os.PathLike | None = None, certificate: str | os.PathLike | None = None, *,
                     folder: str | os.PathLike | None = None) -> SigningIdentity:
    """The user's key and certificate chain if both are given, else the local identity (created on first
    use in `folder`, default `config_folder()`). A configured pair that cannot be used raises UserError."""
    if key is not None or certificate is not None:
        if key is None or certificate is None:
            raise UserError("Content Credentials need both a private key and its certificate (PEM files); "
                            "give both, or neither to use this installation's local certificate")
        return _configured_identity(Path(key).expanduser(), Path(certificate).expanduser())
    return local_identity(folder)


def _configured_identity(key_path: Path, chain_path: Path) -> SigningIdentity:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    contents = {}
    for path, what in ((key_path, "private key"), (chain_path, "certificate")):
        if not path.is_file():
            raise UserError(f"the C2PA {what} {path} does not exist; check the path in the preferences")
        try:
            contents[path] = path.read_bytes()
        except OSError as e:
            raise UserError(f"cannot read the C2PA {what} {path}: {e.strerror or e}") from None
    try:
        key = serialization.load_pem_private_key(contents[key_path], password=None)
    except (ValueError, TypeError) as e:
        raise UserError(f"{key_path} is not an unencrypted PEM private key ({e}); export it without a "
                        f"password as PKCS#8 PEM") from None
    try:
        chain = x509.load_pem_x509_certificates(contents[chain_path])
    except ValueError as e:
        raise UserError(f"{chain_path} holds no PEM certificate ({e}); give the signing certificate "
                        f"followed by its intermediates") from None
    leaf = chain[0]
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if leaf.public_key().public_bytes(serialization.Encoding.DER, public) != \
            key.public_key().public_bytes(serialization.Encoding.DER, public):
        raise UserError(f"the key {key_path} does not belong to the first certificate in {chain_path}; "
                        f"put the signing certificate first")
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        algorithm = "ed25519"
    elif isinstance(key, rsa.RSAPrivateKey):
        algorithm = "ps256"
    else:
        algorithm = None
    if algorithm is None:
        raise UserError(f"{key_path}: C2PA signs with P-256/384/521 EC, Ed25519 or RSA keys; this one is "
                        f"{type(key).__name__}")
    if leaf.not_valid_after_utc < datetime.datetime.now(datetime.timezone.utc):
        raise UserError(f"the certificate {chain_path} expired on {leaf.not_valid_after_utc:%Y-%m-%d}; renew it")
    return SigningIdentity(chain_path, key_path, algorithm, "configured", _name(leaf.subject),
                           _name(leaf.issuer), leaf.not_valid_after_utc)


def _name(name) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        found = name.get_attributes_for_oid(oid)
        if found:
            return str(found[0].value)
    return name.rfc4514_string()


def local_identity(folder: str | os.PathLike | None = None) -> SigningIdentity:
    """This installation's signing identity, created once: a local CA and an ES256 signing certificate.

    Concurrent first calls (several worker processes) are safe: the files are made in a temporary folder
    that is renamed into place; whoever renames second uses the first one's files."""
    from cryptography import x509

    folder = Path(folder).expanduser() if folder is not None else config_folder()
    if not all((folder / name).is_file() for name in LOCAL_FILES):
        _create_local(folder)
    try:
        leaf = x509.load_pem_x509_certificates((folder / "signer-chain.pem").read_bytes())[0]
    except (OSError, ValueError) as e:
        raise UserError(f"the local C2PA identity in {folder} cannot be read ({e}); move the folder away to "
                        f"have a new one made") from None
    return SigningIdentity(folder / "signer-chain.pem", folder / "signer-key.pem", "es256", "local",
                           _name(leaf.subject), _name(leaf.issuer), leaf.not_valid_after_utc)


def _create_local(folder: Path) -> None:
    files = _local_certificates()
    tmp = atomic.temporary_path(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(mode=0o700)
        for name, data in files.items():
            atomic.store(tmp / name, data)
            if name.endswith("key.pem"):
                os.chmod(tmp / name, 0o600)
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()                                  # an empty folder (made by hand): take its place
        os.rename(tmp, folder)
    except OSError as e:
        atomic.remove_quietly(tmp)
        if all((folder / name).is_file() for name in LOCAL_FILES):
            return                                          # another process made it first: use that one
        if folder.exists():
            raise UserError(f"{folder} exists but does not hold a complete C2PA identity "
                            f"({', '.join(LOCAL_FILES)}); move it away to have a new one made") from None
        raise atomic.write_error(e, folder) from None


def _local_certificates() -> dict[str, bytes]:
    """PEM files of a new local CA (P-256, 10 years) and an ES256 signing certificate issued by it."""
    import secrets

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    installation = secrets.token_hex(4)       # tells installations apart without putting a computer's name in files

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common[:64]),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, LOCAL_ORGANIZATION)])

    def usage(**flags) -> x509.KeyUsage:
        names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                 "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")
        return x509.KeyUsage(**{n: flags.get(n, False) for n in names})

    def base(subject, issuer, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=365 * LOCAL_YEARS))
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"Neural Talking Heads local CA {installation}")
    ca = (base(ca_name, ca_name, ca_key.public_key())
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (base(name(f"Neural Talking Heads local signer {installation}"), ca_name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(digital_signature=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))

    cert = lambda c: c.public_bytes(serialization.Encoding.PEM)   # noqa: E731
    return {"ca.pem": cert(ca), "ca-key.pem": _key_pem(ca_key), "signer-chain.pem": cert(leaf) + cert(ca),
            "signer-key.pem": _key_pem(key)}


# --- the manifest --------------------------------------------------------------------------------------

def sha256_of(source: str | os.PathLike | bytes) -> str:
    """Hex SHA-256 of a file's bytes (streamed) or of bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return hashlib.sha256(source).hexdigest()
    digest = hashlib.sha256()
    try:
        with open(source, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as e:
        raise UserError(f"cannot read the reference photo {source}: {e.strerror or e}; check the path") from None
    return digest.hexdigest()


# What a reference hash was taken of: a photo file's bytes, or (where only the person model is at hand, as
# in `generate`) the reference image the model holds, decoded.
HASHED = {"file": "the photo file's bytes",
          "pixels": "the decoded reference image: H x W x 3 RGB uint8 samples, row by row"}


def reference_ingredient(sha256: str, media_type: str | None = None, hashed: str = "file") -> dict:
    """The reference photo as an ingredient known only by its hash: no file name, thumbnail or pixels."""
    ingredient = {
        "title": "reference photo",
        "relationship": "inputTo",
        "instance_id": f"sha256:{sha256}",
        "description": "the portrait the frames were generated from, recorded by its SHA-256 only",
        "metadata": {"dataSource": {"type": "localProvider.notPublished"}, "org.talking-heads.sha256": sha256,
                     "org.talking-heads.hashed": HASHED[hashed]},
        "label": "reference",
    }
    if media_type:
        ingredient["format"] = media_type
    return ingredient


def manifest(media_type: str, *, title: str | None = None, reference_sha256: str | list[str] | None = None,
             reference_type: str | None = None, reference_hashed: str = "file") -> dict:
    """The manifest definition (c2pa-python's JSON) for one file."""
    hashes = [reference_sha256] if isinstance(reference_sha256, str) else list(reference_sha256 or [])
    ingredients = [reference_ingredient(h, reference_type, reference_hashed) for h in hashes]
    for i, ingredient in enumerate(ingredients):
        ingredient["label"] = f"reference-{i}"
    action = {"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE,
              "softwareAgent": {"name": provenance.SOFTWARE, "version": __version__},
              "description": provenance.STATEMENT}
    if ingredients:
        action["parameters"] = {"ingredientIds": [i["label"] for i in ingredients]}
    definition = {
        "claim_generator_info": [{"name": provenance.SOFTWARE, "version": __version__}],
        "format": media_type,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }
    if title:
        definition["title"] = title
    if ingredients:
        definition["ingredients"] = ingredients
    return definition


# --- signing -------------------------------------------------------------------------------------------

class Signer:
    """Signs PNG and MP4 files with one identity and one reference photo; make one per writer and reuse
    it for every frame (each thread gets its own c2pa context, built once)."""

    def __init__(self, identity: SigningIdentity, *, reference: str | os.PathLike | bytes | list | None = None,
                 reference_sha256: str | list[str] | None = None, reference_hashed: str = "file"):
        import c2pa

        self.identity = identity
        if reference is not None and reference_sha256 is None:
            references = reference if isinstance(reference, list) else [reference]
            reference_sha256 = [sha256_of(r) for r in references]
        self.reference_sha256 = reference_sha256
        self.reference_hashed = reference_hashed
        self._chain = identity.certificate_chain.read_bytes()
        self._key = _pkcs8(identity.private_key.read_bytes())
        self._local = threading.local()
        self._c2pa = c2pa
        self._context()                                  # fail here, not on the first frame

    def _context(self):
        context = getattr(self._local, "context", None)
        if context is None:
            c2pa = self._c2pa
            try:
                info = c2pa.C2paSignerInfo(self.identity.algorithm.encode(), self._chain, self._key, None)
                context = c2pa.Context.from_dict(_SETTINGS, signer=c2pa.Signer.from_info(info))
            except c2pa.C2paError as e:
                raise UserError(f"c2pa refuses the signing certificate {self.identity.certificate_chain} "
                                f"({e}); it needs key identifiers and a C2PA-accepted extended key usage") from None
            self._local.context = context
        return context

    def sign(self, data: bytes, media_type: str = "image/png", *, title: str | None = None) -> bytes:
        """`data` (a complete PNG or MP4, XMP included) with its manifest embedded."""
        if media_type not in SIGNABLE:
            raise UserError(f"Content Credentials are written into PNG and MP4 files, not {media_type}")
        if media_type == "image/png":
            data = one_idat(data)
        out = io.BytesIO()
        builder = self._c2pa.Builder(self._manifest(media_type, title), context=self._context())
        try:
            builder.sign(media_type, io.BytesIO(data), out)
        except self._c2pa.C2paError as e:
            raise UserError(f"c2pa could not sign the {media_type} file ({e}); write it again without "
                            f"Content Credentials") from None
        return out.getvalue()

    def _manifest(self, media_type: str, title: str | None) -> dict:
        return manifest(media_type, title=title, reference_sha256=self.reference_sha256,
                        reference_hashed=self.reference_hashed)

    def sign_file(self, path: str | os.PathLike, *, title: str | None = None, media_type: str | None = None) -> Path:
        """Sign the PNG or MP4 at `path` in place (through a temporary file and a rename). For a large video
        the source is streamed from disk, not held in memory. `media_type` defaults to the one of the
        suffix (give it, and the final name as `title`, for a file still under its temporary name)."""
        path = Path(path)
        media_type = media_type or MEDIA_TYPES.get(path.suffix.lower())
        if media_type not in SIGNABLE:
            raise UserError(f"{path}: Content Credentials are written into .png and .mp4 files")
        definition = self._manifest(media_type, title or path.name)
        with atomic.atomic_path(path) as tmp, open(path, "rb") as source, open(tmp, "w+b") as dest:
            builder = self._c2pa.Builder(definition, context=self._context())
            try:
                builder.sign(media_type, source, dest)
            except self._c2pa.C2paError as e:
                raise UserError(f"c2pa could not sign {path} ({e}); it stays without Content Credentials") from None
        return path


def _pkcs8(pem: bytes) -> bytes:
    """The key as PKCS#8 PEM, the only form c2pa reads (`openssl ecparam -genkey` writes SEC1 keys)."""
    if b"-----BEGIN PRIVATE KEY-----" in pem:
        return pem
    from cryptography.hazmat.primitives import serialization

    return _key_pem(serialization.load_pem_private_key(pem, password=None))   # checked in signing_identity


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def one_idat(data: bytes) -> bytes:
    """The same PNG with its image data in one IDAT chunk (encoders write 8 KB chunks).

    c2pa reads the file through Python callbacks, two per chunk, holding the GIL: a 1024 x 1024 frame's
    ~170 chunks cost more than the hashing and signature themselves and kept signing from running in
    parallel. One chunk costs a CRC over the image data instead (~1 ms per 1.4 MB)."""
    import struct
    import zlib

    view, at, parts, image, slot = memoryview(data), 8, [memoryview(data)[:8]], [], None
    while at + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        if kind == b"IDAT":
            image.append(view[at + 8:at + 8 + length])
            if slot is None:
                slot = len(parts)
                parts.append(b"")
        else:
            parts.append(view[at:at + 12 + length])
        at += 12 + length
    if len(image) <= 1 or len(data) > 1 << 31:
        return data
    body = b"".join(image)
    parts[slot:slot + 1] = [struct.pack(">I", len(body)) + b"IDAT", body,
                            struct.pack(">I", zlib.crc32(body, zlib.crc32(b"IDAT")))]
    return b"".join(parts)


def open_signer(key: str | os.PathLike | None = None, certificate: str | os.PathLike | None = None, *,
                reference: str | os.PathLike | bytes | list | None = None, reference_hashed: str = "file",
                folder: str | os.PathLike | None = None, enabled: bool = True) -> tuple[Signer | None, SigningStatus]:
    """(signer, status) for a writer. The signer is None where signing is impossible or `enabled` is False;
    the status's message says why (for the report), or which identity signs. A configured key that cannot
    be used raises. `reference`: the reference photo(s), as paths or bytes, recorded by their SHA-256
    (`reference_hashed`: "file" for a photo file's bytes, "pixels" for a decoded image's samples)."""
    if not enabled:
        if key is not None or certificate is not None:
            raise UserError("Content Credentials are turned off (--no-c2pa) but a key or certificate is given; "
                            "drop one of them")
        return None, SigningStatus(False, "no Content Credentials (turned off); files carry XMP and the watermark")
    try:
        import c2pa  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError as e:
        return None, SigningStatus(False, f"no Content Credentials: {e.name} is not installed "
                                          f"(pip install c2pa-python); files carry XMP and the watermark")
    try:
        identity = signing_identity(key, certificate, folder=folder)
    except UserError as e:
        if key is not None or certificate is not None:
            raise
        return None, SigningStatus(False, f"no Content Credentials: {e}; files carry XMP and the watermark")
    hashes = None if reference is None else [sha256_of(r) for r in (reference if isinstance(reference, list)
                                                                     else [reference])]   # a bad path raises
    try:
        signer = Signer(identity, reference_sha256=hashes, reference_hashed=reference_hashed)
    except UserError as e:
        if identity.origin == "configured":
            raise
        return None, SigningStatus(False, f"no Content Credentials: {e}; files carry XMP and the watermark",
                                   identity)
    return signer, SigningStatus(True, f"Content Credentials signed by {identity.describe()}", identity)


# --- reading -------------------------------------------------------------------------------------------

def read(source: str | os.PathLike | bytes, media_type: str | None = None) -> dict:
    """What the file's C2PA manifest says and whether it holds:

    {"state": "valid" | "tampered" | "absent" | "error", "digital_source_type", "generator", "signer",
     "trusted", "failures": [validation codes], "message"}"""
    result = {"state": "absent", "digital_source_type": None, "generator": None, "signer": None,
              "trusted": False, "failures": [], "message": "no Content Credentials"}
    try:
        import c2pa
    except ImportError:
        return {**result, "state": "error", "message": "c2pa-python is not installed: cannot read the manifest"}
    if isinstance(source, (bytes, bytearray, memoryview)):
        stream, media_type = io.BytesIO(bytes(source)), media_type or "image/png"
    else:
        path = Path(source)
        media_type = media_type or MEDIA_TYPES.get(path.suffix.lower())
        if media_type is None:
            return {**result, "message": f"{path.suffix or 'this'} files carry no Content Credentials"}
        stream = open(path, "rb")
    try:
        with stream:
            reader = c2pa.Reader.try_create(media_type, stream)
            if reader is None:
                return result
            with reader:
                store = json.loads(reader.json())
    except c2pa.C2paError as e:
        return {**result, "state": "error", "message": f"the manifest cannot be read: {e}"}
    return _summary(store)


def _summary(store: dict) -> dict:
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    statuses = store.get("validation_results", {}).get("activeManifest", {}).get("failure")
    if statuses is None:
        statuses = store.get("validation_status") or []
    failures = [s.get("code", "") for s in statuses]
    integrity = [c for c in failures if not c.startswith(TRUST_CODES)]
    sources = [a.get("digitalSourceType") for assertion in active.get("assertions", [])
               if assertion.get("label", "").startswith("c2pa.actions")
               for a in assertion.get("data", {}).get("actions", []) if a.get("action") == "c2pa.created"]
    generator = ", ".join(f"{g.get('name', '')} {g.get('version', '')}".strip()
                          for g in active.get("claim_generator_info", [])) or active.get("claim_generator")
    signature = active.get("signature_info", {})
    signer = signature.get("common_name") or signature.get("issuer")
    state = "tampered" if integrity or store.get("validation_state") == "Invalid" else "valid"
    trusted = state == "valid" and not any(c.startswith("signingCredential.untrusted") for c in failures)
    if state == "tampered":
        message = f"the file changed after signing ({', '.join(integrity) or 'invalid manifest'})"
    else:
        message = "signature and hashes match" + ("" if trusted else "; the signer is not on a trust list")
    return {"state": state, "digital_source_type": next((s for s in sources if s), None), "generator": generator,
            "signer": signer or None, "trusted": trusted, "failures": failures, "message": message}
