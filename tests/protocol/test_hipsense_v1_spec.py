"""The registry entry of protocol v1: discovery, GATT layout, start/stop writes, decoder factory."""

from __future__ import annotations

import pytest

from firmware_proto.micropython import hsproto as P
from sensor.errors import ConfigError
from sensor.model import RawFrame
from sensor.protocol import hipsense_v1 as H
from sensor.protocol import registry


def test_registry_discovers_the_module_spec() -> None:
    registry.rediscover()
    spec = registry.get("hipsense_v1")
    assert spec is H.SPEC
    assert spec.clock == "sensor"
    assert spec.service_uuids == (P.SERVICE_UUID,)
    props = {c.uuid: c.properties for c in spec.characteristics}
    assert props[P.DATA_UUID] == {"notify"}
    assert props[P.CONTROL_UUID] == {"write", "indicate"}
    assert props[P.STATUS_UUID] == {"read", "notify"}
    assert props[P.INFO_UUID] == {"read"}
    assert spec.subscribe_uuids[0] == P.CONTROL_UUID  # responses first
    assert spec.match_score("HipSense-1A2B", [P.SERVICE_UUID], {}) == 5


def test_start_writes_configure_then_start_or_resume() -> None:
    writes = H.SPEC.start_writes(sampling_rate_hz=416.0, acc_range_g=16, gyr_range_dps=2000)
    assert [w.data for w in writes] == [
        H.set_rate_command(416),
        H.set_acc_range_command(16),
        H.set_gyr_range_command(2000),
        H.start_command(),
    ]
    assert all(w.char_uuid == P.CONTROL_UUID and w.with_response for w in writes)
    resume = H.SPEC.start_writes(resume_from_index=123456, gyr_range_dps=None)
    assert [w.data for w in resume] == [H.set_gyr_range_command(None), H.send_backlog_command(123456)]
    assert [w.data for w in H.SPEC.stop_writes()] == [H.stop_command()]


def test_start_writes_are_understood_by_the_firmware_core() -> None:
    from firmware_proto.micropython.sensorcore import SensorCore

    core = SensorCore(100, "LSM6DSOX", "t")
    for w in H.SPEC.start_writes(sampling_rate_hz=104, acc_range_g=4, gyr_range_dps=None):
        assert H.decode_response(core.handle_command(w.data)).ok
    assert (core.rate_code, core.acc_code, core.gyr_code, core.streaming) == (4, 1, P.GYR_OFF, True)


@pytest.mark.parametrize(
    "settings",
    [{"sampling_rate_hz": 100.0}, {"acc_range_g": 3}, {"gyr_range_dps": 250}, {"color": "red"}],
)
def test_bad_settings_are_refused_with_the_fix(settings: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"choose one of|use"):
        H.make_decoder("s", **settings)
    with pytest.raises(ConfigError):
        H.SPEC.start_writes(**settings)


def test_make_decoder_gives_a_working_stream_decoder() -> None:
    dec = H.SPEC.make_decoder("hip", sampling_rate_hz=208.0)
    pkt = P.encode_data_packet(0, 0, [(0, 0, 4096)], [(0, 0, 0)], 2, 2, 5)
    block = dec.decode(RawFrame("other-id", 0.0, pkt, P.DATA_UUID))
    assert block is not None
    assert block.sensor_id == "hip"
