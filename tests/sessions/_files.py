"""Writers of real export files in the layouts of phyphox and Sensor Logger, for the importer tests and the bench.

Column names and layouts as the apps write them: phyphox ``"Time (s)","Acceleration x (m/s^2)",...`` (a zip with one
CSV per sensor and ``meta/time.csv``); Sensor Logger ``time,seconds_elapsed,z,y,x`` with ``time`` in ns since the
epoch (a zip with one CSV per sensor).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

START_EPOCH_S = 1_760_000_000.0


def smooth_imu(duration_s: float, rate_hz: float, t0_s: float = 0.0) -> tuple[NDArray[np.float64], ...]:
    """Noise-free smooth signals (so interpolation error is measurable): t, acc (with gravity), gyr."""
    t = t0_s + np.arange(round(duration_s * rate_hz)) / rate_hz
    w = 2 * np.pi * 1.4
    acc = np.column_stack([0.9 * np.sin(w * t), 0.4 * np.cos(w * t), 9.80665 + 2.5 * np.sin(2 * w * t)])
    gyr = np.column_stack([0.5 * np.sin(w * t + 0.2), 0.3 * np.cos(w * t), 0.2 * np.sin(2 * w * t)])
    return t, acc, gyr


def _csv(header: list[str], cols: list[NDArray[np.float64]], *, delim: str = ",", decimal_comma: bool = False) -> str:
    buf = io.StringIO()
    buf.write(delim.join(f'"{h}"' for h in header) + "\n")
    np.savetxt(buf, np.column_stack(cols), delimiter=delim, fmt="%.9E")
    text = buf.getvalue()
    if decimal_comma:
        lines = text.split("\n")
        text = "\n".join([lines[0], *(ln.replace(".", ",") for ln in lines[1:])])
    return text


def phyphox_acc_csv(
    t: NDArray[np.float64],
    acc: NDArray[np.float64],
    *,
    linear: bool = False,
    delim: str = ",",
    decimal_comma: bool = False,
) -> str:
    name = "Linear Acceleration" if linear else "Acceleration"
    header = ["Time (s)", *(f"{name} {a} (m/s^2)" for a in "xyz"), "Absolute acceleration (m/s^2)"]
    return _csv(header, [t, *acc.T, np.linalg.norm(acc, axis=1)], delim=delim, decimal_comma=decimal_comma)


def phyphox_gyr_csv(t: NDArray[np.float64], gyr: NDArray[np.float64]) -> str:
    header = ["Time (s)", *(f"Gyroscope {a} (rad/s)" for a in "xyz"), "Absolute (rad/s)"]
    return _csv(header, [t, *gyr.T, np.linalg.norm(gyr, axis=1)])


def write_phyphox_zip(
    path: Path, duration_s: float = 30.0, *, rate_hz: float = 200.0, gyro: bool = True, linear: bool = False
) -> Path:
    t, acc, _gyr = smooth_imu(duration_s, rate_hz)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "Accelerometer.csv" if not linear else "Linear Accelerometer.csv",
            phyphox_acc_csv(t, acc - [0, 0, 9.80665] if linear else acc, linear=linear),
        )
        if gyro:
            tg, _, g = smooth_imu(duration_s, rate_hz * 0.98, t0_s=0.0013)
            zf.writestr("Gyroscope.csv", phyphox_gyr_csv(tg, g))
        zf.writestr(
            "meta/time.csv",
            '"event","experiment time","system time","system time text"\n'
            f'"START",0.000000000E0,{START_EPOCH_S:.3f},"2025-10-09 09:06:40.000 UTC+00:00"\n',
        )
        zf.writestr("meta/device.csv", '"property","value"\n"deviceModel","Pixel 7"\n')
    return path


def sensor_logger_csv(t_s: NDArray[np.float64], xyz: NDArray[np.float64]) -> str:
    buf = io.StringIO()
    buf.write("time,seconds_elapsed,z,y,x\n")
    ns = (START_EPOCH_S * 1e9 + np.round(t_s * 1e9)).astype(np.int64)
    rows = xyz.tolist()
    for i, tt in enumerate(t_s.tolist()):
        x, y, z = rows[i]
        buf.write(f"{ns[i]},{tt:.9f},{z!r},{y!r},{x!r}\n")
    return buf.getvalue()


def write_sensor_logger_zip(
    path: Path,
    duration_s: float = 30.0,
    *,
    rate_hz: float = 100.0,
    total: bool = True,
    gravity: bool = True,
    gyro: bool = True,
) -> Path:
    t, acc, _gyr = smooth_imu(duration_s, rate_hz)
    g = np.tile([0.0, 0.0, 9.80665], (t.size, 1))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Accelerometer.csv", sensor_logger_csv(t, acc - g))
        if total:
            zf.writestr("TotalAcceleration.csv", sensor_logger_csv(t, acc))
        if gravity:
            tg, _, _ = smooth_imu(duration_s, rate_hz, t0_s=0.0021)
            zf.writestr("Gravity.csv", sensor_logger_csv(tg, np.tile([0.0, 0.0, 9.80665], (tg.size, 1))))
        if gyro:
            tg, _, gg = smooth_imu(duration_s, rate_hz, t0_s=0.0037)
            zf.writestr("Gyroscope.csv", sensor_logger_csv(tg, gg))
        zf.writestr("Metadata.csv", "version,device name,platform\n3,iPhone 15,ios\n")
    return path
