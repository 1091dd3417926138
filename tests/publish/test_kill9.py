"""Kill -9 of the live gateway at seeded random points (one per phase: connect, stream, before COMMIT, inside
COMMIT, between PUBACK and marking the outbox row delivered), each followed by a restart on the same store: the store
opens and passes integrity_check, nothing received more than a second before the kill is lost, and every outbox
event reaches the broker after the restarts. bench/bench_kill9.py runs the same campaign with 50 kill points."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensor.crashpoints import parse_spec

from ._kill9 import LOSS_BOUND_S, PHASES, plan_kills, run_campaign


@pytest.mark.slow
@pytest.mark.mosquitto
async def test_kill_9_at_every_phase_loses_at_most_the_last_second_and_no_event(
    mosquitto_url: str, prefix: str, tmp_path: Path
) -> None:
    plans = plan_kills(len(PHASES), seed=7)
    assert [p.phase for p in plans] == list(PHASES)
    c = await run_campaign(tmp_path, "127.0.0.1", 1883, prefix, plans)
    by_phase = {r.plan.phase: r for r in c.kills}
    for r in c.kills:
        assert r.open_error is None, r
        assert r.integrity == [], r
        assert r.seq_gaps == 0, r  # the frames kept are exactly the first ones received, in order
        assert r.lost_s <= LOSS_BOUND_S, r
    # the hooks fired where planned, and the timed stream kill hit a streaming gateway that had recorded
    for phase in ("commit", "in-commit", "publish"):
        assert by_phase[phase].self_killed, by_phase[phase]
    assert by_phase["stream"].hit == "streaming"
    assert by_phase["stream"].stored_frames > 0
    assert by_phase["commit"].hit == "streaming"
    # the publish kill left its acknowledged rows undelivered; the clean restart after it delivered them
    assert by_phase["publish"].pending_after_kill > 0
    assert by_phase["publish"].flushed_by_next
    # at least once: every event the outbox ever held reached the subscriber, none is left pending
    assert c.outbox_rows >= len(PHASES)  # a session-start message per process at least
    assert c.unflushed == []
    assert c.pending_at_end == 0
    assert c.final_integrity == []


def test_crash_spec_parsing() -> None:
    assert parse_spec(None) is None
    assert parse_spec("store.commit") == ("store.commit", 1, None)
    assert parse_spec("store.commit:7@0.002") == ("store.commit", 7, 0.002)
    assert parse_spec("mqtt.acked:2") == ("mqtt.acked", 2, None)
    with pytest.raises(ValueError, match="unknown crash point"):
        parse_spec("store.comit")
    with pytest.raises(ValueError, match="NAME"):
        parse_spec("store.commit:x")
    with pytest.raises(ValueError, match="N must be >= 1"):
        parse_spec("store.commit:0")
