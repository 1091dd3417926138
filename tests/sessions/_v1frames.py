"""Protocol v1 notifications of a simulated recording, made with the firmware's own encoder (hsproto), as the
virtual sensor sends them: 9 samples per notification at 208 Hz, +-16 g and +-2000 deg/s."""

from __future__ import annotations

import math

import numpy as np

from firmware_proto.micropython import hsproto
from sensor.model import ImuBlock, RawFrame

ACC_CODE, GYR_CODE, RATE_CODE = 3, 4, 5  # +-16 g, +-2000 deg/s, 208 Hz
PER_PACKET = 9


def v1_frames(block: ImuBlock, *, host_t0_s: float = 1.7e9, latency_s: float = 0.012) -> list[RawFrame]:
    acc_lsb = hsproto.ACC_RANGES[ACC_CODE][1] * 9.80665
    gyr_lsb = hsproto.GYR_RANGES[GYR_CODE][1] * math.pi / 180.0
    acc = np.clip(np.round(block.acc_mps2 / acc_lsb), -32768, 32767).astype(int)
    assert block.gyr_radps is not None
    gyr = np.clip(np.round(block.gyr_radps / gyr_lsb), -32768, 32767).astype(int)
    out = []
    for i in range(0, len(block) - PER_PACKET + 1, PER_PACKET):
        sl = slice(i, i + PER_PACKET)
        payload = hsproto.encode_data_packet(
            int(block.sample_index[i]),
            round(float(block.t_s[i]) * hsproto.TICKS_PER_S),
            acc[sl].tolist(),
            gyr[sl].tolist(),
            ACC_CODE,
            GYR_CODE,
            RATE_CODE,
        )
        host_t = host_t0_s + float(block.t_s[i + PER_PACKET - 1]) + latency_s
        out.append(RawFrame(block.sensor_id, host_t, bytes(payload), hsproto.DATA_UUID))
    return out
