"""Scenarios: building, YAML/JSON round trips, presets, determinism, truth JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensor.errors import ScenarioError
from sensor.sim import (
    PRESETS,
    ExerciseSet,
    Hill,
    Hold,
    Mounting,
    Rest,
    Running,
    Scenario,
    SensorModel,
    Sitting,
    Standing,
    Tempo,
    Truth,
    Turn,
    Walking,
    simulate,
)
from sensor.sim.kinematics import scenario_duration_s, truncate


def _rich() -> Scenario:
    return Scenario(
        name="rich",
        segments=[
            Standing(duration_s=5.0),
            Walking(duration_s=20.0, turns=[Turn(at_s=5.0, angle_deg=45.0)]),
            Running(duration_s=20.0, hills=[Hill(at_s=5.0, duration_s=10.0, grade_pct=5.0)], first_side="right"),
            Sitting(duration_s=10.0),
            ExerciseSet(
                exercise="lunge",
                reps=4,
                side="alternate",
                tempo=Tempo(eccentric_s=1, concentric_s=1, pause_far_s=0, pause_near_s=1),
            ),
            Hold(exercise="squat", hold_s=5.0),
            Rest(duration_s=20.0, mode="walk"),
        ],
        sensor=SensorModel(packet_loss_probability=0.01, timestamp_jitter_s=0.0005),
        mounting=Mounting(axis_angle_deg=(1.0, 1.0, 0.0, 120.0)),
        seed=9,
    )


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_scenario_file_round_trip(tmp_path: Path, suffix: str) -> None:
    sc = _rich()
    path = tmp_path / f"s{suffix}"
    path.write_text(sc.to_yaml() if suffix == ".yaml" else sc.to_json())
    back = Scenario.from_file(path)
    assert back == sc
    assert Scenario.load(str(path)) == sc


def test_every_preset_builds_and_loads_by_name() -> None:
    for name in PRESETS:
        sc = Scenario.load(name)
        assert sc.name == name
        assert scenario_duration_s(sc) > 30


def test_deterministic_for_a_seed_and_different_across_seeds() -> None:
    sc = _rich()
    a, b, c = simulate(sc), simulate(sc), simulate(sc, seed=10)
    np.testing.assert_array_equal(a.block.acc_mps2, b.block.acc_mps2)
    np.testing.assert_array_equal(a.block.t_s, b.block.t_s)
    np.testing.assert_array_equal(a.truth.roll_deg, b.truth.roll_deg)
    assert a.truth.steps.t_ic_s.size == b.truth.steps.t_ic_s.size
    assert a.block.acc_mps2.shape != c.block.acc_mps2.shape or not np.array_equal(a.block.acc_mps2, c.block.acc_mps2)
    assert not np.array_equal(a.truth.roll_deg, c.truth.roll_deg)


def test_the_sensor_model_does_not_change_the_motion() -> None:
    sc = _rich()
    ideal = simulate(sc.model_copy(update={"sensor": SensorModel.ideal()}))
    noisy = simulate(sc)
    np.testing.assert_array_equal(ideal.truth.roll_deg, noisy.truth.roll_deg)
    np.testing.assert_array_equal(ideal.truth.steps.pelvic_drop_deg, noisy.truth.steps.pelvic_drop_deg)
    np.testing.assert_array_equal(ideal.acc_true_mps2, noisy.acc_true_mps2)


def test_truth_json_round_trip() -> None:
    res = simulate(_rich())
    back = Truth.from_json(res.truth.to_json())
    assert back.steps.side == res.truth.steps.side
    np.testing.assert_array_equal(back.roll_deg, res.truth.roll_deg)
    np.testing.assert_array_equal(back.steps.pelvic_drop_deg, res.truth.steps.pelvic_drop_deg)
    np.testing.assert_array_equal(back.reps.t_far_s, res.truth.reps.t_far_s)
    np.testing.assert_array_equal(back.activity, res.truth.activity)
    np.testing.assert_array_equal(back.r_pelvis_from_sensor, res.truth.r_pelvis_from_sensor)
    assert back.reps.side == res.truth.reps.side == ["left", "right", "left", "right"]
    assert back.holds.exercise == ["squat"]
    assert back.segments[2].activity == "running"
    assert Scenario.model_validate(back.scenario) == _rich()


def test_truth_json_refuses_other_documents() -> None:
    with pytest.raises(ValueError, match="not a simulator truth document"):
        Truth.from_json('{"format": "something else"}')


def test_truncate_shortens_the_running_segment_and_drops_unfinished_sets() -> None:
    sc = _rich()
    cut = truncate(sc, 30.0)
    assert scenario_duration_s(cut) == pytest.approx(30.0)
    assert [s.activity for s in cut.segments] == ["standing", "walking", "running"]
    cut = truncate(sc, 60.0)  # inside the lunge set: dropped
    assert [s.activity for s in cut.segments][-1] == "sitting"
    with pytest.raises(ScenarioError):
        truncate(sc, 0.2)


def test_scenario_errors_name_the_value() -> None:
    with pytest.raises(ScenarioError, match=r"segments\.0\.running\.contact_time_s"):
        Scenario.from_dict({"segments": [{"activity": "running", "duration_s": 10, "contact_time_s": 0.9}]})
    with pytest.raises(ScenarioError, match="leaves no flight phase"):
        Scenario.from_dict(
            {"segments": [{"activity": "running", "duration_s": 10, "contact_time_s": 0.4, "cadence_spm": 200}]}
        )
    with pytest.raises(ScenarioError, match="unknown scenario preset"):
        Scenario.preset("nope")
    with pytest.raises(ScenarioError, match="duration_s"):
        simulate(Scenario(segments=[Standing(duration_s=3.0), Sitting(duration_s=2.0)]))
    with pytest.raises(ScenarioError, match="too short"):
        simulate(Scenario(segments=[Standing(duration_s=3.0), ExerciseSet(exercise="squat", reps=10, duration_s=5.0)]))


def test_truth_as_pipeline_events() -> None:
    res = simulate(_rich())
    events = res.truth.events()
    kinds = [e.kind for e in events]
    assert kinds.count("step") == len(res.truth.steps)
    assert kinds.count("rep") == 4
    assert kinds.count("set") == 1
    assert kinds.count("hold") == 1
    times = [getattr(e, "t_s", None) or getattr(e, "t_start_s", 0.0) for e in events if e.kind != "set"]
    assert times == sorted(times)
    step = next(e for e in events if e.kind == "step" and e.activity == "running")
    assert step.flight_time_s is not None
    assert step.flight_time_s > 0


def test_features_must_fit_their_segment_and_sides_must_apply() -> None:
    with pytest.raises(ScenarioError, match="ends after the segment"):
        Scenario.from_dict(
            {"segments": [{"activity": "running", "duration_s": 10, "turns": [{"at_s": 9, "angle_deg": 90}]}]}
        )
    with pytest.raises(ScenarioError, match="two-legged"):
        simulate(Scenario(segments=[Standing(duration_s=3.0), ExerciseSet(exercise="squat", reps=2, side="left")]))


def test_truncate_drops_turns_that_no_longer_fit() -> None:
    late_turn = [Turn(at_s=40.0, angle_deg=90.0)]
    sc = Scenario(segments=[Standing(duration_s=5.0), Running(duration_s=60.0, turns=late_turn)])
    cut = truncate(sc, 30.0)
    run = cut.segments[1]
    assert isinstance(run, Running)
    assert run.turns == []
    assert scenario_duration_s(cut) == pytest.approx(30.0)


def test_the_yaml_example_in_the_docs_is_valid() -> None:
    import re

    import yaml

    doc = (Path(__file__).resolve().parents[2] / "docs" / "simulator.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", doc, re.S)
    assert block is not None
    sc = Scenario.from_dict(yaml.safe_load(block.group(1)))
    assert sc.name == "morning"
    assert scenario_duration_s(sc) > 2000


# ---- hostile scenario files (found by fuzz/: the `scenario` target) -------------------------------------------
def test_scenario_file_that_is_not_utf8_is_a_scenario_error(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_bytes(b"name: caf\xe9\nsegments: []\n")  # Latin-1: UnicodeDecodeError escaped before
    with pytest.raises(ScenarioError, match=r"not UTF-8 text \(byte 0xe9 at offset 9\); save it as UTF-8"):
        Scenario.from_file(p)


@pytest.mark.parametrize(
    ("suffix", "text"),
    [(".yaml", "a: " + "[" * 3000 + "]" * 3000), (".json", "[" * 100_000 + "]" * 100_000), (".yaml", "a: &a [*a]\n")],
    ids=["yaml-deep", "json-deep", "yaml-recursive-anchor"],
)
def test_too_deep_or_recursive_scenario_is_a_scenario_error(tmp_path: Path, suffix: str, text: str) -> None:
    p = tmp_path / f"s{suffix}"
    p.write_text(text)
    with pytest.raises(ScenarioError, match="nests lists or mappings too deeply"):
        Scenario.from_file(p)


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    # nine levels of ten aliases: 10^9 nodes once expanded; validation used to take minutes and gigabytes
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    lines.append("segments: *l8")
    p = tmp_path / "s.yaml"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=r"expands to \d+ nodes .* more than 200000; write the segments out"):
        Scenario.from_file(p)


def test_a_few_aliases_still_load(tmp_path: Path) -> None:
    p = tmp_path / "s.yaml"
    p.write_text(
        "name: twice\nsegments:\n  - &walk {activity: walking, duration_s: 20.0}\n  - {activity: standing, "
        "duration_s: 5.0}\n  - *walk\n"
    )
    sc = Scenario.from_file(p)
    assert [s.activity for s in sc.segments] == ["walking", "standing", "walking"]
    assert sc.segments[0] == sc.segments[2]


def test_a_huge_invalid_value_is_shown_shortened(tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text('{"segments": [' + ",".join(['"x"'] * 5000) + "]}")
    with pytest.raises(ScenarioError, match=r"segments\.0: .*\(got 'x'\); fix that value \(5000 problem") as ei:
        Scenario.from_file(p)
    assert len(str(ei.value)) < 400
