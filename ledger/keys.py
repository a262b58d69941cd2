"""Private keys kept in files (the local token issuer's, the platform's signing key): created on
first use, whole or not at all, readable by their owner only; and the rings of keys they grow
into when a key is rotated."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey


def private_key_file(path: Path, *, size: int = 32) -> bytes:
    """The key in `path`, created with `size` random bytes if there is none yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: a process starting at the
        # same moment finds either no key or the complete one, never half of it.
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(secrets.token_bytes(size))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    if path.stat().st_mode & 0o077:
        raise PermissionError(f"{path} must be readable by its owner only (chmod 600)")
    key = path.read_bytes()
    if len(key) != size:
        raise ValueError(f"{path} must hold a {size}-byte key")
    return key


def key_id(public_key: bytes) -> str:
    """A public key's short, stable name: what a seal or a published key set calls it, so a
    verifier picks the right key once keys are rotated."""
    return hashlib.sha256(public_key).hexdigest()[:16]


# --- key rings --------------------------------------------------------------------------------
#
# A purpose (the platform's signatures, the local token issuer's) has a ring of keys: the
# original key file is its first key, and a folder beside it holds one file a key added since
# (`<kid>.key`) and `current`, the id of the key that signs. Every key of the ring verifies what
# it signed until it is revoked; which keys are revoked is the database's to say
# (`ledger.key_registry`), so every process of every machine agrees.

CURRENT_MARKER = "current"


class KeyRevoked(Exception):
    """A signature made by a key of the ring that was revoked."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"key {kid} was revoked")
        self.kid = kid


def ring_folder(key_file: Path) -> Path:
    """Where the keys added to `key_file`'s ring are kept: `platform-signing.keys/` beside
    `platform-signing.key`."""
    return key_file.with_name(f"{key_file.stem}.keys")


def public_key_of(seed: bytes) -> bytes:
    return bytes(SigningKey(seed).verify_key)


@dataclass(frozen=True)
class LocalRing:
    """The private keys of one purpose held on this machine, the original file's first, and
    the id of the one that signs."""

    key_file: Path
    seeds: dict[str, bytes]  # by key id, in the order they were made (the original first)
    current: str

    @property
    def first(self) -> str:
        """The original key's id: the secrets derived from the key come from this one, so they
        keep their meaning across rotations."""
        return next(iter(self.seeds))

    def signing_key(self, kid: str | None = None) -> SigningKey:
        return SigningKey(self.seeds[kid or self.current])

    def public_keys(self) -> dict[str, bytes]:
        return {kid: public_key_of(seed) for kid, seed in self.seeds.items()}


def load_ring(key_file: Path, *, create: bool = True) -> LocalRing:
    """The ring of `key_file`: the file itself (made now when `create` and there is none) and
    the keys of its folder, each file owner-only. A folder without `current` signs with the
    original key, as before any rotation."""
    if not create and not key_file.exists():
        raise FileNotFoundError(key_file)
    first = private_key_file(key_file)
    seeds = {key_id(public_key_of(first)): first}
    folder = ring_folder(key_file)
    current = next(iter(seeds))
    if folder.is_dir():
        added = []
        for path in folder.glob("*.key"):
            seed = private_key_file(path)
            kid = key_id(public_key_of(seed))
            if path.stem != kid:
                raise ValueError(f"{path} holds key {kid}, not {path.stem}")
            added.append((path.stat().st_mtime_ns, kid, seed))
        seeds.update((kid, seed) for _, kid, seed in sorted(added))
        marker = folder / CURRENT_MARKER
        if marker.exists():
            current = marker.read_text().strip()
            if current not in seeds:
                raise ValueError(f"{marker} names key {current}, which {folder} does not hold")
    return LocalRing(key_file, seeds, current)


def add_key(key_file: Path) -> str:
    """Make a new key in the ring's folder (not yet current: see `make_current`); its id."""
    load_ring(key_file)  # the original first, so it stays the ring's first key
    folder = ring_folder(key_file)
    folder.mkdir(mode=0o700, exist_ok=True)
    seed = secrets.token_bytes(32)
    kid = key_id(public_key_of(seed))
    _write_private(folder / f"{kid}.key", seed)
    return kid


def make_current(key_file: Path, kid: str) -> None:
    """Mark `kid` as the key that signs, replacing the marker whole."""
    ring = load_ring(key_file)
    if kid not in ring.seeds:
        raise ValueError(f"the ring of {key_file} holds no key {kid}")
    folder = ring_folder(key_file)
    folder.mkdir(mode=0o700, exist_ok=True)
    draft = folder / f".{CURRENT_MARKER}.{secrets.token_hex(4)}"
    draft.write_text(kid + "\n")
    os.replace(draft, folder / CURRENT_MARKER)


def forget_key(key_file: Path, kid: str) -> None:
    """Remove a key made by `add_key` that never became current (its rotation failed)."""
    path = ring_folder(key_file) / f"{kid}.key"
    path.unlink(missing_ok=True)


def _write_private(path: Path, key: bytes) -> None:
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(key)
    try:
        os.link(draft, path)
    finally:
        draft.unlink()


@dataclass(frozen=True, slots=True)
class PublicKeys:
    """The public keys a signature of one purpose is checked against: the valid ones by id,
    and the revoked ones, kept to tell a revoked key's signature from a forgery."""

    valid: Mapping[str, VerifyKey]
    revoked: Mapping[str, VerifyKey] = field(default_factory=dict)

    @classmethod
    def of(cls, *keys: VerifyKey) -> PublicKeys:
        return cls({key_id(bytes(key)): key for key in keys})

    def signer(self, message: bytes, signature: bytes, kid: str | None = None) -> str:
        """The id of the valid key that made `signature` over `message`: the key `kid` names
        when it names one, else any valid key. Raises `KeyRevoked` for a revoked key's
        signature and `BadSignatureError` for any other."""
        if kid is not None and kid in self.revoked:
            raise KeyRevoked(kid)
        candidates = [kid] if kid is not None else list(self.valid)
        for candidate in candidates:
            key = self.valid.get(candidate)
            if key is not None and _holds(key, message, signature):
                return candidate
        if kid is None:
            for candidate, key in self.revoked.items():
                if _holds(key, message, signature):
                    raise KeyRevoked(candidate)
        raise BadSignatureError("no key of the ring made this signature")


def _holds(key: VerifyKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True
