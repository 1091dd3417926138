"""Impersonated WitMotion and Polar sensors: their whole path (scan type, start writes, decode) over Bumble."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.protocol import registry
from tests.ble.helpers import links_for, stream

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("kind", "model", "rate_hz", "acc_tol_mps2"),
    [
        # WitMotion: +-16 g over int16 -> 4.8 mm/s^2 per count
        ("witmotion", "verity_sense", 100.0, 16 * 9.80665 / 32768),
        # Polar Verity Sense: compressed frames, 8 g range factor 2.44e-4 g per count
        ("polar", "verity_sense", 52.0, 2.44e-4 * 9.80665),
        # Polar H10: raw ACC frames in whole mg
        ("polar", "h10", 100.0, 1e-3 * 9.80665),
    ],
)
async def test_impersonated_sensor_streams_through_the_link(
    kind: str, model: str, rate_hz: float, acc_tol_mps2: float
) -> None:
    config = VirtualSensorConfig(
        address=sensor_address(1), kind=kind, polar_model=model, sampling_rate_hz=rate_hz, duration_s=20.0
    )  # type: ignore[arg-type]
    async with VirtualWorld([config], speed=10.0) as world:
        sensor = world.sensors[0]
        spec = registry.get(kind)
        links = links_for(world)
        links[0].settings.update(spec.settings_for_name(sensor.config.local_name))
        links[0].settings["sampling_rate_hz"] = rate_hz
        res = await stream(world, links)
        block = res.blocks["s0"]
        assert sum(res.decoders["s0"].skipped.values()) == 0
        assert len(block) >= rate_hz * 19.0
        assert np.all(np.diff(block.t_s) > 0)
        # the values are the simulator's, within the vendor format's resolution
        acc, gyr = sensor.source.window(rate_hz, 0, sensor.head_index)
        tail = acc[-len(block) :]
        assert np.max(np.abs(block.acc_mps2 - tail)) <= acc_tol_mps2
        if model == "h10":
            assert block.gyr_radps is None
        else:
            assert block.gyr_radps is not None
            assert np.max(np.abs(block.gyr_radps - gyr[-len(block) :])) < np.deg2rad(0.07)
