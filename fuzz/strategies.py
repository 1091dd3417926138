"""Hypothesis strategies shared by the fuzz tests: seed mutation (what libFuzzer does, in a few hundred examples)."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

MUTATIONS = ("flip", "set", "cut", "extend", "insert", "delete", "copy")


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], max_mutations: int = 4) -> bytes:
    """One of ``seeds`` with 1..``max_mutations`` byte-level mutations (bit flips, cuts, insertions, copies)."""
    data = bytearray(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(MUTATIONS))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF, draw(st.integers(0, 255))]))
        elif kind == "cut":
            del data[pos:]
        elif kind == "extend":
            data += draw(st.binary(min_size=1, max_size=40))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif kind == "copy" and data:
            size = draw(st.integers(1, 32))
            src = draw(st.integers(0, max(0, len(data) - 1)))
            data[pos:pos] = data[src : src + size]
    return bytes(data)


def inputs(seeds: Sequence[bytes], max_size: int = 400) -> st.SearchStrategy[bytes]:
    """Random bytes, mutated seeds and the seeds themselves."""
    parts = [st.binary(max_size=max_size)]
    if seeds:
        parts += [mutated(seeds), st.sampled_from(list(seeds))]
    return st.one_of(*parts)
