"""The short fuzz run of the default test suite: every committed corpus file, then a few hundred hypothesis
examples per target (random bytes and mutated seeds). Only the target's typed errors may escape, and no input
may allocate out of proportion to its size. The long, coverage-guided runs are ``python -m fuzz.run``.
"""

from __future__ import annotations

import logging
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.run import CORPUS
from fuzz.strategies import inputs
from fuzz.targets import TARGETS, Target, check, encode_frames, frames, split
from sensor.errors import HipSenseError

# examples per target: the slow ones (files on disk, SQLite, YAML) get fewer
EXAMPLES = {"import_archive": 25, "scenario": 40, "import_export": 60, "import_file": 80, "polar": 80, "config": 60}
DEFAULT_EXAMPLES = 120
# memory an input may make the parser allocate at its peak: generous, but far from "2^31 samples"
PEAK_LIMIT_BYTES = 48 * 2**20


def _corpus() -> Iterator[tuple[str, Path]]:
    for target in sorted(TARGETS):
        for f in sorted((CORPUS / target).iterdir()):
            yield target, f


CORPUS_FILES = list(_corpus())


@pytest.fixture(autouse=True)
def _quiet_link_logs() -> Iterator[None]:
    logging.disable(logging.WARNING)  # the link decoder logs every skipped frame
    yield
    logging.disable(logging.NOTSET)


def _run_bounded(target: Target, data: bytes) -> BaseException | None:
    check(target, data)  # first untraced: imports done on first use are slow under tracemalloc, and not the input's
    tracemalloc.start()
    try:
        result = check(target, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_LIMIT_BYTES + 200 * len(data), f"{target.name}: {peak / 2**20:.0f} MiB for {len(data)} bytes"
    return result


def test_every_target_has_seeds_and_only_typed_errors_are_allowed() -> None:
    for name, target in TARGETS.items():
        seeds = list((CORPUS / name).iterdir())
        assert any(s.name.startswith("seed-") for s in seeds), name
        assert sum(s.stat().st_size for s in seeds) < 64 * 1024, f"{name}: keep the corpus small"
        assert all(issubclass(e, HipSenseError) for e in target.allowed)
    total = sum(f.stat().st_size for _, f in CORPUS_FILES)
    assert total < 512 * 1024


@pytest.mark.parametrize(("target", "path"), CORPUS_FILES, ids=[f"{t}/{p.name}" for t, p in CORPUS_FILES])
def test_corpus_file_gives_a_result_or_a_typed_error(target: str, path: Path) -> None:
    _run_bounded(TARGETS[target], path.read_bytes())


def _seeds(name: str) -> list[bytes]:
    return [f.read_bytes() for f in sorted((CORPUS / name).iterdir())]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hypothesis_examples_give_a_result_or_a_typed_error(name: str) -> None:
    target = TARGETS[name]

    @settings(
        max_examples=EXAMPLES.get(name, DEFAULT_EXAMPLES),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=inputs(_seeds(name)))
    def run(data: bytes) -> None:
        check(target, data)

    run()


@given(items=st.lists(st.tuples(st.integers(0, 255), st.binary(max_size=255)), max_size=20))
def test_stream_framing_round_trips(items: list[tuple[int, bytes]]) -> None:
    got = [(f.payload, f.channel) for f in frames(encode_frames(items), tuple("abcdefghijklmnop"))]
    assert got == [(p, "abcdefghijklmnop"[c >> 4]) for c, p in items]
    assert split(b"".join(bytes((len(p),)) + p for _, p in items)) == [p for _, p in items]
