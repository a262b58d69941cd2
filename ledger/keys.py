"""Private keys kept in files (the local token issuer's, the platform's signing key): created on
first use, whole or not at all, readable by their owner only."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path


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
