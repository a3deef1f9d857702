"""Council signing keys (ed25519): a signed record shows which council issued it.

The signature covers the record's record_sha256 (itself a hash of the whole body), the key id and the signer's
name. ed25519 signatures are deterministic, so a signed record is still byte-identical run to run.
"""

from __future__ import annotations

import base64
import os

from ntm.audit.canonical import canonical, sha256_hex
from ntm.errors import NtmInputError

ALGORITHM = "ed25519"


def _raw_public(pub) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw_public: bytes) -> str:
    """Short, stable name of a public key: the first 16 hex digits of its SHA-256."""
    return sha256_hex(raw_public)[:16]


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Create a file that must not exist yet (O_EXCL): a key is never overwritten."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise NtmInputError.single("file exists; a key is never overwritten", file=path,
                                   hint="choose another name, or move the old key away first") from None
    except OSError as e:
        raise NtmInputError.single(f"cannot write key: {e.strerror or e}", file=path) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def generate(out: str) -> tuple[str, str, str]:
    """Write a new private key (PEM, mode 0600) to `out` and its public key to `out.pub`; returns
    (private path, public path, key id)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub_path = out + ".pub"
    for p in (out, pub_path):
        if os.path.lexists(p):
            raise NtmInputError.single("file exists; a key is never overwritten", file=p,
                                       hint="choose another name, or move the old key away first")
    key = Ed25519PrivateKey.generate()
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(out, priv, 0o600)
    try:
        _write_new(pub_path, pub, 0o644)
    except NtmInputError:
        os.unlink(out)
        raise
    return out, pub_path, key_id(_raw_public(key.public_key()))


def load_private(path: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ntm.criteria.yamlsrc import regular_file

    regular_file(path, "--sign-key", "signing key")  # a FIFO would block the open forever
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 * 1024)
    except OSError as e:
        raise NtmInputError.single(f"cannot read signing key: {e.strerror or e}", file=path,
                                   field="--sign-key") from None
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # a damaged key can name a curve nobody supports
        raise NtmInputError.single("not an unencrypted PEM private key", file=path, field="--sign-key",
                                   hint="create one with `ntm keys generate --out council.key`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise NtmInputError.single("not an ed25519 key", file=path, field="--sign-key")
    return key


def load_public(path: str) -> bytes:
    """A public key file (PEM, as `keys generate` writes it) -> raw 32 bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ntm.criteria.yamlsrc import regular_file

    regular_file(path, "--trusted-key", "public key")  # a FIFO would block the open forever
    try:
        with open(path, "rb") as fh:
            data = fh.read(64 * 1024)
        pub = serialization.load_pem_public_key(data)
    except OSError as e:
        raise NtmInputError.single(f"cannot read public key: {e.strerror or e}", file=path) from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise NtmInputError.single("not a PEM public key", file=path, expected="a .pub file from `ntm keys generate`") \
            from None
    if not isinstance(pub, Ed25519PublicKey):
        raise NtmInputError.single("not an ed25519 public key", file=path)
    return _raw_public(pub)


def _message(record_sha256: str, kid: str, signer: str | None) -> bytes:
    return canonical({"algorithm": ALGORITHM, "key_id": kid, "record_sha256": record_sha256,
                      "signer": signer}).encode("utf-8")


def sign(rec: dict, key_path: str, signer: str | None = None) -> dict:
    """The record with a `signature` block added (outside record_sha256, which it covers)."""
    key = load_private(key_path)
    raw = _raw_public(key.public_key())
    kid = key_id(raw)
    value = key.sign(_message(rec["record_sha256"], kid, signer))
    return {**rec, "signature": {"algorithm": ALGORITHM, "public_key": base64.b64encode(raw).decode("ascii"),
                                 "key_id": kid, "signer": signer, "value": base64.b64encode(value).decode("ascii")}}


UNSIGNED = "the record is not signed, but a trusted key was given"


def check(rec: dict, trusted: bytes | None = None) -> tuple[str | None, str | None]:
    """(problem, description): problem is None when the signature (if any) is valid and, if a trusted key
    is given, made by that key."""
    _, problem, who = trust(rec, trusted)
    return problem, who


def trust(rec: dict, trusted: bytes | None = None) -> tuple[str, str | None, str | None]:
    """(kind, problem, description). kind is "ok", "unsigned" (a trusted key was asked for and there is no
    signature), "untrusted" (a valid signature by another key) or "invalid" (the signature does not match the
    record: the record or the signature was altered). Only "invalid" is tampering."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    sig = rec.get("signature")
    if sig is None:
        return ("unsigned", UNSIGNED, None) if trusted else ("ok", None, None)
    if not isinstance(sig, dict) or sig.get("algorithm") != ALGORITHM:
        return "invalid", "signature block is damaged or uses an unknown algorithm", None
    try:
        raw = base64.b64decode(sig["public_key"], validate=True)
        value = base64.b64decode(sig["value"], validate=True)
        pub = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, TypeError, ValueError):
        return "invalid", "signature block is damaged (public_key/value are not valid base64 ed25519 data)", None
    kid = key_id(raw)
    if sig.get("key_id") != kid:
        return "invalid", f"signature key_id {sig.get('key_id')!r} does not match its public key ({kid})", None
    signer = sig.get("signer")
    if signer is not None and not isinstance(signer, str):
        return "invalid", "signature signer must be text", None
    try:
        pub.verify(value, _message(rec["record_sha256"], kid, signer))
    except InvalidSignature:
        return "invalid", "signature is not valid (the record or its signature block was changed after signing)", None
    who = f"signed by {signer + ' ' if signer else ''}(key {kid})"
    if trusted is not None and raw != trusted:
        return "untrusted", f"{who}, but not by the trusted key (key {key_id(trusted)})", None
    return "ok", None, who
