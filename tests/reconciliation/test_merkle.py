"""The daily seal's Merkle tree: every leaf's proof leads to the root, nothing else does."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from reconciliation.merkle import (
    EMPTY_ROOT,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)


def test_small_trees_are_built_as_rfc_9162_defines_them() -> None:
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert a == hashlib.sha256(b"\x00a").digest()
    assert root_of([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_of([a]) == a
    assert root_of([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    # Three leaves split 2 + 1, not 1 + 2, and the odd leaf is not duplicated.
    assert root_of([a, b, c]) == node_hash(node_hash(a, b), c)
    assert inclusion_proof([a, b, c], 2) == [node_hash(a, b)]
    assert inclusion_proof([a, b, c], 0) == [b, c]


@given(
    leaves=st.lists(st.binary(max_size=40), min_size=1, max_size=70),
    data=st.data(),
)
def test_every_leaf_proves_its_place_and_a_forgery_does_not(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashes = [leaf_hash(leaf) for leaf in leaves]
    root = root_of(hashes)
    size = len(leaves)
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(hashes, index)
    assert verify_inclusion(leaves[index], index, size, proof, root)
    assert not verify_inclusion(leaves[index] + b"!", index, size, proof, root)
    assert not verify_inclusion(leaves[index], index, size, proof, hashlib.sha256(root).digest())
    if size > 1:
        assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)
    elsewhere = [i for i in range(size) if leaves[i] != leaves[index]]
    if elsewhere:  # the leaf claimed at a place that holds another
        other = data.draw(st.sampled_from(elsewhere))
        assert not verify_inclusion(leaves[index], other, size, proof, root)
