"""Ed25519 keys: generate, load, sign, verify. The private keys never reach the store.

Three roles (docs/security.md): the **apply** key signs audit entries
(``ZPLAN_SIGNING_KEY``, held by whoever writes the store); the **plan** key
signs saved plans (``ZPLAN_PLAN_KEY``, falling back to ``ZPLAN_SIGNING_KEY``);
the **operator** key signs administration and key changes
(``ZPLAN_OPERATOR_KEY``). Only public keys are recorded in the store; a
verifier needs nothing else.

``cryptography`` is imported inside the functions that sign or verify, never
at start-up.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import os
from pathlib import Path
from typing import Any, NamedTuple

from zplan.errors import UsageError

SIGNING_ENV = "ZPLAN_SIGNING_KEY"
PLAN_ENV = "ZPLAN_PLAN_KEY"
OPERATOR_ENV = "ZPLAN_OPERATOR_KEY"
PREFIX = "ed25519"


class Role(enum.Enum):
    APPLY = "apply"
    PLAN = "plan"
    OPERATOR = "operator"


class PublicKey(NamedTuple):
    """A public key as the store records it: its id and the raw 32 bytes in base64."""

    id: str
    public: str

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        return cls(key_id(raw), base64.b64encode(raw).decode())


class Signer(NamedTuple):
    """A private key that can sign, with its public part."""

    key: PublicKey
    private: bytes  # raw 32-byte seed
    origin: str  # where it came from, for messages

    def sign(self, data: bytes) -> str:
        signature = _private_key(self.private).sign(data)
        return f"{self.key.id}:{base64.b64encode(signature).decode()}"


@functools.lru_cache(maxsize=8)
def _private_key(seed: bytes) -> Any:
    """The key object of a seed, made once (an apply signs an entry per account)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.from_private_bytes(seed)


@functools.lru_cache(maxsize=64)
def _public_key(public: str) -> Any:
    """The key object of a registered public key, made once (verify runs per audit entry)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public))


def key_id(raw: bytes) -> str:
    """A short, stable name for a public key: ``ed25519:`` and 16 hex digits of its SHA-256."""
    return f"{PREFIX}:{hashlib.sha256(raw).hexdigest()[:16]}"


def signature_key(signature: str) -> str | None:
    """The key id a signature names (``ed25519:ID:SIG``), or None if it is not one."""
    parts = signature.split(":")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    return f"{PREFIX}:{parts[1]}"


def verify(key: PublicKey, data: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``key``'s signature of ``data``."""
    from cryptography.exceptions import InvalidSignature

    if signature_key(signature) != key.id:
        return False
    try:
        raw_signature = base64.b64decode(signature.rsplit(":", 1)[1], validate=True)
        _public_key(key.public).verify(raw_signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


def generate() -> Signer:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Signer(PublicKey.from_raw(raw), seed, "generated")


def _pem(signer: Signer) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    private = Ed25519PrivateKey.from_private_bytes(signer.private)
    return (
        private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()),
        private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
    )


def write_new(path: Path) -> Signer:
    """A new key: the private key to ``path`` (0600, never overwritten), the public to PATH.pub."""
    signer = generate()
    private_pem, public_pem = _pem(signer)
    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if os.path.lexists(target):
            raise UsageError(f"{target} already exists; zplan does not overwrite a key")
    _write_exclusive(path, private_pem, 0o600)
    _write_exclusive(public_path, public_pem, 0o644)
    return signer._replace(origin=str(path))


def write_private(path: Path, signer: Signer) -> None:
    """A private key alone (a sandbox store's own), 0600, never over an existing file."""
    _write_exclusive(path, _pem(signer)[0], 0o600)


def _write_exclusive(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), mode)  # the umask may have cut the mode
        handle.write(data)


def load_private(setting: str, what: str) -> Signer:
    """A private key from ``setting``: the PEM itself, or the path of a PEM file."""
    text = setting.strip()
    if "-----BEGIN" in text:
        data, origin = text.encode(), what
    else:
        try:
            data = Path(text).expanduser().read_bytes()
        except OSError as exc:
            raise UsageError(f"{what}: cannot read the key file {text}: {exc.strerror}") from None
        origin = text
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
        load_pem_private_key,
    )

    try:
        private = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"{what}: not an unencrypted PEM private key ({_first(exc)})",
            hint="make one with: zplan keygen PATH",
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise UsageError(f"{what}: the key is not an Ed25519 key", hint="zplan keygen PATH")
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Signer(PublicKey.from_raw(raw), seed, origin)


def load_public(path: str, what: str) -> PublicKey:
    """A public key from a PEM file (``PATH.pub`` from ``zplan keygen``)."""
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise UsageError(f"{what}: cannot read {path}: {exc.strerror}") from None
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        PublicFormat,
        load_pem_public_key,
    )

    try:
        public: Any = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        if b"PRIVATE KEY" in data:
            raise UsageError(
                f"{what}: {path} is a private key; give its public part ({path}.pub)"
            ) from None
        raise UsageError(f"{what}: {path} is not a PEM public key ({_first(exc)})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise UsageError(f"{what}: {path} is not an Ed25519 public key")
    return PublicKey.from_raw(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def from_env(name: str) -> Signer | None:
    setting = os.environ.get(name)
    return load_private(setting, name) if setting else None


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
