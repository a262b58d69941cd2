"""The Merkle tree of a day's entries, as RFC 9162 (Certificate Transparency 2.0, section 2.1)
defines it: leaves and inner nodes are hashed with distinct prefixes, so no leaf can pass for a
node, and an unbalanced tree splits at the largest power of two below its size. Nothing here
knows about the ledger: a verifier needs only these few functions, or hashlib and the README.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """The tree's root over leaf hashes in order; SHA-256 of nothing for an empty day. Level by
    level, pairing neighbours and lifting an odd last node as it is: the same root as the
    recursive split (`_root`), without copying the lists at every level of the recursion."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [
            node_hash(left, right) for left, right in zip(level[::2], level[1::2], strict=False)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _root(hashes: Sequence[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _split(len(hashes))
    return node_hash(_root(hashes[:k]), _root(hashes[k:]))


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index`: the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaf_hashes):
        raise IndexError(f"leaf {index} of a tree of {len(leaf_hashes)}")
    path: list[bytes] = []
    hashes = list(leaf_hashes)
    while len(hashes) > 1:
        k = _split(len(hashes))
        if index < k:
            path.append(_root(hashes[k:]))
            hashes = hashes[:k]
        else:
            path.append(_root(hashes[:k]))
            hashes, index = hashes[k:], index - k
    return path[::-1]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162, 2.1.3.2: does `leaf`, at `index` of a tree of `size`, lead up to `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
