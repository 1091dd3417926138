"""Sets at extreme tempos and right after a change of posture (issue 7, rep count within +-1; fixed seeds).

Each case failed by two or more reps before the rules it names (numbers in the comments: counted on 8e76ea0 or,
for the short pauses of round 5, on f09798b; the step-ups of seed 3 are a guard that passed there too).
"""

from __future__ import annotations

import numpy as np
import pytest

from sensor.events import Exercise, RepEvent
from sensor.frames import Side
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps import counter as counter_mod
from sensor.pipeline.reps.chunks import concat_chunks
from sensor.pipeline.reps.frontend import pipeline_with_fixed_mounting
from sensor.sim import ExerciseSet, Mounting, Rest, Scenario, SensorModel, Standing, Tempo, Walking, simulate
from sensor.sim.scenario import Segment
from tests.pipeline.reps.simcase import Run, assert_same_events_rechunked, dumped, refeed, reps_in, run, session


def _scenario(segs: list[Segment], seed: int, sampling_rate_hz: float = 104.0) -> Scenario:
    return Scenario(
        segments=[Standing(duration_s=10.0), Walking(duration_s=20.0), *segs, Standing(duration_s=10.0)],
        sensor=SensorModel(sampling_rate_hz=sampling_rate_hz),
        mounting=Mounting(euler_deg=(150.0, 10.0, -15.0)),
        seed=seed,
    )


def _counted(r: Run, k: int = -1) -> int:
    tr = r.truth
    return len(reps_in(r, float(tr.sets.t_start_s[k]), float(tr.sets.t_end_s[k])))


@pytest.mark.parametrize("seed", [3, 5])
def test_fast_squats_without_a_pause_at_the_top_are_counted(seed: int) -> None:
    # 1.35 s a rep, no pause standing: each rep's travel came back 15-25 cm off and the return never fell below
    # half the peak distance; the tilt (20-30 deg) now says when the pelvis is back (seed 3: 1 of 20)
    tempo = Tempo(eccentric_s=0.55, concentric_s=0.5, pause_far_s=0.3, pause_near_s=0.0)
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="standing"),
        ExerciseSet(exercise="squat", reps=20, tempo=tempo),
    ]
    assert abs(_counted(run(_scenario(segs, seed))) - 20) <= 1


@pytest.mark.parametrize("seed", [3, 5, 7])
def test_a_very_slow_way_up_of_a_static_lunge_is_not_cut_half_way(seed: int) -> None:
    # 3 s up at 0.15-0.2 m/s: quiet for over 0.5 s at its peak velocity while the tilt still moves (2, 1, 0 of 10)
    tempo = Tempo(eccentric_s=1.6, concentric_s=3.0, pause_far_s=0.6, pause_near_s=0.3)
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="standing"),
        ExerciseSet(exercise="static_lunge", reps=10, side="left", tempo=tempo, lateral_tilt_deg=3.0),
    ]
    assert abs(_counted(run(_scenario(segs, seed))) - 10) <= 1


@pytest.mark.parametrize("seed", [3, 5, 7])
def test_donkey_kicks_right_after_lying_are_counted_from_the_first(seed: int) -> None:
    # from lying on the back to all fours the orientation estimate lags by 15-20 deg for a few seconds; its
    # vertical acceleration error moved the integrated travel, and the rest pose ended up on a kick's top (seed 7:
    # 7 of 10)
    tempo = Tempo(eccentric_s=1.5, concentric_s=1.5, pause_far_s=1.0, pause_near_s=0.3)
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="supine"),
        ExerciseSet(exercise="single_leg_bridge", reps=5, side="left"),
        Rest(duration_s=15.0, mode="still", posture="quadruped"),
        ExerciseSet(exercise="donkey_kick", reps=10, side="left", tempo=tempo, lateral_tilt_deg=3.0),
    ]
    assert abs(_counted(run(_scenario(segs, seed))) - 10) <= 1


_STEP_UP_FAST = Tempo(eccentric_s=0.45, concentric_s=0.44, pause_far_s=0.15, pause_near_s=0.38)
_STATIC_LUNGE_FAST = Tempo(eccentric_s=0.41, concentric_s=0.43, pause_far_s=0.23, pause_near_s=0.2)


@pytest.mark.parametrize(
    ("exercise", "tempo", "n_reps", "seed"),
    [
        # 1 s a rep (2 m/s onto the step) with 0.35 s standing (held-out seed 4007: 5 of 22; seed 8 here: 17 of 22)
        ("step_up", _STEP_UP_FAST, 22, 3),
        ("step_up", _STEP_UP_FAST, 22, 8),
        # 1.1 s a rep with 0.2 s pauses at both ends (held-out seed 4018: 5 of 13; seeds 1 and 6 here: off by 8 and 6)
        ("static_lunge", _STATIC_LUNGE_FAST, 13, 1),
        ("static_lunge", _STATIC_LUNGE_FAST, 13, 6),
    ],
)
def test_fast_sets_with_short_pauses_do_not_merge(exercise: Exercise, tempo: Tempo, n_reps: int, seed: int) -> None:
    # each fast phase leaves 0.15-0.25 m/s of velocity error, and the pause is quiet for only 3-5 bins, too short
    # for a zero-velocity update of 0.3 s: the travel drifted on like "going out again" and reps merged (counts in
    # the comments above on f09798b). A short update once the velocity has fallen to a fraction of its peak ends
    # the drift at every pause
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="standing"),
        ExerciseSet(exercise=exercise, reps=n_reps, side="left", tempo=tempo, rom=1.1, lateral_tilt_deg=4.0),
    ]
    assert abs(_counted(run(_scenario(segs, seed))) - n_reps) <= 1


# issue 7, round 7b: ~1 s a rep with (near-)zero pauses (bench seeds 8084 and 8080: the tempi here)
_STEP_UP_NO_PAUSE = Tempo(eccentric_s=0.52, concentric_s=0.42, pause_far_s=0.07, pause_near_s=0.04)
_SIT_TO_STAND_FAST = Tempo(eccentric_s=0.68, concentric_s=0.49, pause_far_s=0.15, pause_near_s=0.22)
_STATIC_LUNGE_NO_PAUSE = Tempo(eccentric_s=0.5, concentric_s=0.45, pause_far_s=0.05, pause_near_s=0.05)


@pytest.mark.parametrize(
    ("exercise", "tempo", "side", "rom", "seed"),
    [
        # counted on 31acea1 (main before this round): 12 and 6 of 22
        ("step_up", _STEP_UP_NO_PAUSE, "left", 1.17, 6),
        ("step_up", _STEP_UP_NO_PAUSE, "left", 1.17, 8),
        # 12 and 10 of 22
        ("sit_to_stand", _SIT_TO_STAND_FAST, None, 1.13, 6),
        ("sit_to_stand", _SIT_TO_STAND_FAST, None, 1.13, 7),
        # 3 of 20
        ("static_lunge", _STATIC_LUNGE_NO_PAUSE, "left", 1.0, 1),
    ],
)
def test_fast_sets_with_near_zero_pauses_are_not_split(
    exercise: Exercise, tempo: Tempo, side: Side | None, rom: float, seed: int
) -> None:
    # with no pause of 0.15 s there was no zero-velocity update in the whole set: the velocity removed at each rep's
    # end was read at the pose's slowest bin, where the next rep's travel had begun (0.1-0.35 m/s of real velocity
    # taken away), and a sit-to-stand's 0.15-0.2 s pauses were never quiet on the low-passed rotation rate; the
    # error ran on until the travel drifted "out again" (sets split, reps lost). Now the velocity is removed where
    # it changed least before the turn (the pause), and a 0.1 s pause on the unfiltered bins is an update
    n_reps = 22 if exercise != "static_lunge" else 20
    # the pause updates carry their state across chunks (checked by the helper)
    _assert_fast_set_counted(exercise, tempo, side, rom, n_reps, seed, lateral_tilt_deg=4.0)


def _assert_fast_set_counted(
    exercise: Exercise,
    tempo: Tempo,
    side: Side | None,
    rom: float,
    n_reps: int,
    seed: int,
    *,
    lateral_tilt_deg: float,
    sampling_rate_hz: float = 104.0,
) -> Run:
    """One set after a still rest in its start posture is counted within +-1, and the rep stage re-fed the same
    pelvis stream in 37-sample chunks gives the same events."""
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="sitting" if exercise == "sit_to_stand" else "standing"),
        ExerciseSet(
            exercise=exercise,
            reps=n_reps,
            side=side,
            tempo=tempo,
            rom=rom,
            lateral_tilt_deg=None if side is None else lateral_tilt_deg,
        ),
    ]
    r = run(_scenario(segs, seed, sampling_rate_hz))
    assert abs(_counted(r) - n_reps) <= 1
    assert dumped(refeed(concat_chunks(r.chunks))[0]) == dumped(r.events)
    return r


_STATIC_LUNGE_SLOW = Tempo(eccentric_s=2.1, concentric_s=2.64, pause_far_s=0.17, pause_near_s=1.03)


@pytest.mark.parametrize("seed", [12, 16])
def test_a_slow_way_up_out_of_the_bottom_pause_is_not_taken_for_a_stop(seed: int) -> None:
    # 2.1 s down, 2.6 s up (held-out seed 6088: 18 of 21; here 18 and 19 of 21 on 31acea1). The way up starts out
    # of the pause at the bottom so slowly (0.01-0.1 m/s for 0.3-0.5 s) that it passes the quiet test: the still
    # update of the pause went on into it, or a new one came at 0.06 m/s while the pelvis rose at 0.13-0.17 m/s, and
    # the velocity lost there turned the way up's slowing down into travel downward, as if going out again. While
    # the tilt moves during an excursion of an open set, a slow velocity alone no longer makes a quiet run a stop
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="standing"),
        ExerciseSet(
            exercise="static_lunge", reps=21, side="right", tempo=_STATIC_LUNGE_SLOW, rom=0.86, lateral_tilt_deg=4.0
        ),
    ]
    assert abs(_counted(run(_scenario(segs, seed))) - 21) <= 1


_LUNGE_SLOW_DOWN = Tempo(eccentric_s=2.85, concentric_s=1.84, pause_far_s=0.07, pause_near_s=1.45)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_slow_first_way_down_is_not_stopped_before_the_excursion_opens(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # alternating lunges going down in 2.85 s at 52 Hz (bench seed 8094: 8 of 12, recognised as step-ups; here 11 of
    # 12, recognised as step-ups, on 9e976ad). Each rep's way down moves at 0.2 m/s with little acceleration for 0.5 s
    # before the distance from rest reaches h_on, its tilt changing steadily by 5-8 deg/s; the update after 0.5 s of
    # quiet there zeroed that velocity, the slowing down at the bottom read as 0.3 m/s upward, and the bottom was
    # taken for the rest pose: the first rep was lost and the set counted bottom to bottom (up first: "step-ups").
    # Now a steady tilt defers that update as it does once the excursion has opened (ZUPT_STEADY_DEG)
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="standing"),
        ExerciseSet(
            exercise="lunge", reps=12, side="alternate", tempo=_LUNGE_SLOW_DOWN, rom=0.83, lateral_tilt_deg=4.3
        ),
    ]
    r = run(_scenario(segs, seed, 52.0))
    tr = r.truth
    got = reps_in(r, float(tr.sets.t_start_s[-1]), float(tr.sets.t_end_s[-1]))
    assert len(got) == 12
    assert r.sets[-1].exercise == "lunge"
    # the first rep is the first way down and back, not bottom to bottom
    assert abs(got[0].t_start_s - float(tr.reps.t_start_s[0])) < 1.0
    assert abs(got[0].t_end_s - float(tr.reps.t_end_s[0])) < 0.5
    # the rule reads the tilt of past bins: the same events in 37-sample chunks, with and without the idle fast path
    assert_same_events_rechunked(r, monkeypatch)


_STEP_UP_SLOW_DOWN = Tempo(eccentric_s=2.73, concentric_s=1.64, pause_far_s=0.38, pause_near_s=0.69)


@pytest.mark.parametrize("seed", [2, 3])
def test_a_still_update_going_on_into_a_slow_way_down_gives_its_velocity_back(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # step-ups going down from the step in 2.7 s (bench seed 11069: 3 of 6, recognised as static lunges; here 3 and
    # 2 of 6, recognised as static lunges, on 9e976ad). The way down starts so slowly that the still update of the
    # pause on the step goes on into it, every bin, while the tilt already turns; by the time the quiet test fails
    # the pelvis moves at 0.1 m/s, and without that velocity the slowing down at the floor read as upward travel and
    # the rep never came back. Now an update that went on for 0.3-0.8 s while the tilt moved by 3 deg or more gives
    # the velocity and travel integrated meanwhile back when it ends (ZUPT_RESTORE_DEG)
    segs: list[Segment] = [
        Rest(duration_s=20.0, mode="still", posture="standing"),
        ExerciseSet(exercise="step_up", reps=6, side="left", tempo=_STEP_UP_SLOW_DOWN, rom=0.83, lateral_tilt_deg=5.8),
    ]
    r = run(_scenario(segs, seed))
    assert abs(_counted(r) - 6) <= 1
    assert r.sets[-1].exercise == "step_up"
    assert_same_events_rechunked(r, monkeypatch)


def test_an_update_given_back_in_a_rest_is_the_same_through_the_idle_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # this session's standing rest has a still update that goes on while the tilt moves by 3 deg and ends in
    # fidgeting (its velocity is given back in the idle fast path): the same events and state without that path
    whole = concat_chunks(run(session(("lunge", "step_up"), reps=5, seed=4)).chunks)
    out = []
    for bulk, step in ((True, 10**7), (False, 10**7), (True, 37), (False, 37)):
        monkeypatch.setattr(counter_mod, "_BULK_IDLE", bulk)
        events, stage = refeed(whole, step)
        out.append((dumped(events), stage._buf.copy(), stage._v, stage._z, stage._hs_n))
    assert sum(e["kind"] == "rep" for e in out[0][0]) >= 8
    for o in out[1:]:
        assert o[0] == out[0][0]
        assert np.array_equal(o[1], out[0][1])
        assert o[2:] == out[0][2:]


# issue 7, round 16: static lunges right after glute bridges and a walk (the tempo of bench seed 15080)
_BRIDGE_15080 = Tempo(eccentric_s=1.63, concentric_s=2.04, pause_far_s=1.18, pause_near_s=0.68)
_STATIC_LUNGE_15080 = Tempo(eccentric_s=1.68, concentric_s=2.44, pause_far_s=0.01, pause_near_s=0.42)


@pytest.mark.parametrize("seed", [4, 9])
def test_static_lunges_after_lying_learn_the_standing_bias_before_the_first_rep(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # glute bridges lying, 32 s of walking, 1.75 s standing still, then 24 static lunges (bench seed 15080: 21 of 24;
    # here 21 of 24 on 8693908 for both seeds, 24 for seeds 1-3, 5-8, 10-12). The vertical acceleration's bias learnt
    # lying was 0.17 m/s^2 off standing in 15080, walking has no zero-velocity update, and 2 % per still bin left
    # 0.10 m/s^2 of it at the first way down: rep 1 read 28 cm low at the top, and reps 1-3 never came back (dropped
    # after MAX_REP_S). Now the first still run in another posture class sets the bias to the mean of its still
    # updates (ZUPT_MEAN_BINS)
    segs: list[Segment] = [
        Rest(duration_s=39.6, mode="still", posture="supine"),
        ExerciseSet(exercise="glute_bridge", reps=14, tempo=_BRIDGE_15080, rom=1.14),
        Rest(duration_s=32.1, mode="walk", posture="standing"),
        ExerciseSet(
            exercise="static_lunge", reps=24, side="right", tempo=_STATIC_LUNGE_15080, rom=0.95, lateral_tilt_deg=5.5
        ),
    ]
    sc = _scenario(segs, seed, 208.0).model_copy(update={"mounting": Mounting(euler_deg=(-91.4, -8.84, 3.88))})
    r = run(sc)
    tr = r.truth
    got = reps_in(r, float(tr.sets.t_start_s[-1]), float(tr.sets.t_end_s[-1]))
    assert len(got) == 24
    assert r.sets[-1].exercise == "static_lunge"
    # counted from the first rep on, not from the fourth
    first = int(np.searchsorted(tr.reps.t_start_s, tr.sets.t_start_s[-1] - 0.01))
    assert abs(got[0].t_start_s - float(tr.reps.t_start_s[first])) < 1.0
    assert abs(got[0].t_end_s - float(tr.reps.t_end_s[first])) < 0.5
    # the mean is state of its own (the run and its sums): the same events in 37-sample chunks, with and without the
    # idle fast path
    assert_same_events_rechunked(r, monkeypatch)


# issue 7, round 8: fast sets whose velocity error runs on at the top (the tempi of fast bench seeds 166, 191, 107)
_SQUAT_FAST_UP = Tempo(eccentric_s=0.495, concentric_s=0.295, pause_far_s=0.167, pause_near_s=0.022)
_LUNGE_NO_PAUSE = Tempo(eccentric_s=0.39, concentric_s=0.51, pause_far_s=0.03, pause_near_s=0.055)
_SIT_TO_STAND_NO_TOP_PAUSE = Tempo(eccentric_s=0.44, concentric_s=0.59, pause_far_s=0.01, pause_near_s=0.14)


@pytest.mark.parametrize(
    ("exercise", "tempo", "side", "rom", "n_reps", "sampling_rate_hz", "seed"),
    [
        # standing up in 0.3 s, at up to 4.2 m/s: counted 4 and 13 of 17 on d1c7fad
        ("squat", _SQUAT_FAST_UP, None, 1.1, 17, 104.0, 1),
        ("squat", _SQUAT_FAST_UP, None, 1.1, 17, 104.0, 4),
        # 0.9 s a rep, 0.03-0.06 s pauses: 0 of 13
        ("lunge", _LUNGE_NO_PAUSE, "alternate", 1.15, 13, 52.0, 2),
        # no pause standing, a seat landing in every rep: 19 and 14 of 23
        ("sit_to_stand", _SIT_TO_STAND_NO_TOP_PAUSE, None, 1.19, 23, 104.0, 2),
        ("sit_to_stand", _SIT_TO_STAND_NO_TOP_PAUSE, None, 1.19, 23, 104.0, 5),
    ],
)
def test_fast_sets_whose_travel_drifts_at_the_top_are_counted_to_the_end(
    exercise: Exercise, tempo: Tempo, side: Side | None, rom: float, n_reps: int, sampling_rate_hz: float, seed: int
) -> None:
    # the way up left 0.25-0.8 m/s of velocity error at the top (a 3 m/s bound below the true 4.2 m/s, orientation
    # lag, a seat landing) and no pause was long enough to remove it: the travel drifted out again before the
    # return had turned, reps merged until the travel passed 90 cm, and that "posture change" ended the set, after
    # which the fast reps' gait label vetoed the rest of it. Now the bound is 5 m/s, a turn ends the rep even where
    # the distance is already out again, and drift during a set only resets travel and velocity
    _assert_fast_set_counted(
        exercise, tempo, side, rom, n_reps, seed, lateral_tilt_deg=3.3, sampling_rate_hz=sampling_rate_hz
    )


# issue 7, round 7c: the donkey kicks of bench seeds 111 and 108 (--fast), ~1 s a rep with 0.2 s on all fours
_DONKEY_KICK_FAST = Tempo(eccentric_s=0.47, concentric_s=0.45, pause_far_s=0.04, pause_near_s=0.18)


@pytest.mark.parametrize("seed", [3, 5])
def test_fast_donkey_kicks_are_announced_within_half_a_second(seed: int) -> None:
    # back on all fours the pose jitters at 5-15 % of the kick's top speed for the 0.2 s pause, so the return
    # neither stopped (< 3 %) nor turned (the next kick's slow start) and the rep was cut 0.35-0.4 s after its
    # slowest bin: announced 0.5-0.63 s after its end. Now a pose back near rest and slow for 0.15 s ends it
    segs: list[Segment] = [
        Rest(duration_s=15.0, mode="still", posture="quadruped"),
        ExerciseSet(
            exercise="donkey_kick", reps=17, side="right", tempo=_DONKEY_KICK_FAST, rom=1.1, lateral_tilt_deg=2.8
        ),
    ]
    sc = _scenario(segs, seed)
    res = simulate(sc)
    stage = RepStage()
    pipe = pipeline_with_fixed_mounting(
        sc.sensor.sampling_rate_hz, PelvisMounting(res.truth.r_pelvis_from_sensor, np.zeros(3), 1.0), [stage]
    )
    late_s: list[float] = []
    kicks = 0
    for blk in res.block.chunks(10):  # ~0.1 s at 104 Hz, a BLE notification batch
        for e in pipe.feed(blk):
            if isinstance(e, RepEvent) and e.exercise == "donkey_kick":
                kicks += 1
                late_s.append(float(blk.t_s[-1]) - e.t_end_s)
    pipe.finish()
    assert abs(kicks - 17) <= 1
    assert max(late_s) <= 0.5, sorted(late_s)[-5:]


# issue 7, round 9: fast sit-to-stands whose seat landing leaves velocity error (the tempi of fast bench seeds 196, 290)
_SIT_TO_STAND_SEAT_BOUNCE = Tempo(eccentric_s=0.40, concentric_s=0.59, pause_far_s=0.17, pause_near_s=0.01)
_SIT_TO_STAND_FAST_DOWN = Tempo(eccentric_s=0.35, concentric_s=0.50, pause_far_s=0.07, pause_near_s=0.09)


@pytest.mark.parametrize(
    ("tempo", "rom", "n_reps", "sampling_rate_hz", "seed"),
    [
        # 0.01 s on the seat, 52 Hz: counted 10 and 7 of 18 on 39dea3c
        (_SIT_TO_STAND_SEAT_BOUNCE, 1.13, 18, 52.0, 1),
        (_SIT_TO_STAND_SEAT_BOUNCE, 1.13, 18, 52.0, 2),
        # sitting down in 0.35 s (3-4 m/s): 3 and 7 of 14
        (_SIT_TO_STAND_FAST_DOWN, 1.18, 14, 104.0, 2),
        (_SIT_TO_STAND_FAST_DOWN, 1.18, 14, 104.0, 3),
    ],
)
def test_fast_sit_to_stands_turn_on_the_seat_by_their_tilt(
    tempo: Tempo, rom: float, n_reps: int, sampling_rate_hz: float, seed: int
) -> None:
    # the seat landing (25 m/s^2 in a bin or two) leaves 0.3-1.3 m/s of vertical velocity error and the pelvis sits
    # for 0.01-0.1 s only: the pose speed there stayed just above 30 % of the rep's top speed (no turn), the travel
    # drifted "out again" and the reps merged until the drift reset. The tilt is right: back at the seated rest
    # tilt, then out again the way it swung, is the next rep
    _assert_fast_set_counted(
        "sit_to_stand", tempo, None, rom, n_reps, seed, lateral_tilt_deg=3.0, sampling_rate_hz=sampling_rate_hz
    )


# issue 7, round 12: fast alternating lunges whose travel overshoots through rest at the top (fast bench seed 488)
_LUNGE_FAST_DOWN = Tempo(eccentric_s=0.35, concentric_s=0.50, pause_far_s=0.055, pause_near_s=0.185)


@pytest.mark.parametrize("seed", [3, 4, 7])
def test_fast_lunges_whose_travel_overshoots_through_rest_end_at_the_top(seed: int) -> None:
    # 0.35 s down, 0.5 s up, 52 Hz: the way up reads long, the travel passes through the rest pose's height with
    # velocity error left and stops 15-25 cm on the other side, where the distance from rest exceeded 0.6 of the
    # peak before the stop could end the rep: "went out again", the rep merged with the next, and once a rep ended at
    # the bottom the set was counted bottom to bottom as step-ups (on 9e976ad: seeds 3 and 7 18 of 20, seed 4 19
    # recognised as step-ups). Travel on the other side of rest from the excursion's peak, in an excursion carried by
    # travel, is not the same excursion going out again
    r = _assert_fast_set_counted(
        "lunge", _LUNGE_FAST_DOWN, "alternate", 1.15, 20, seed, lateral_tilt_deg=5.4, sampling_rate_hz=52.0
    )
    assert r.sets[-1].exercise == "lunge"
