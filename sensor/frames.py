"""Frames, axes and sign conventions: the one place they are defined.

Every module of HipSense (simulator, pipeline, codecs, reports) uses these definitions; the README points here.
The definitions follow ``../shared/notes/definitions.md``.

Sensor frame
    The IMU's own right-handed axes ``x, y, z`` as printed on the sensor (for the HipSense protocol v1 this is
    the frame of the on-board IMU, see ``firmware_proto/PROTOCOL.md``). Raw data stay in this frame:
    ``acc_mps2`` is the accelerometer's specific force *with gravity included* (a sensor lying still, z up,
    reads ``(0, 0, +9.81)``), ``gyr_radps`` the angular rate (right-hand rule, rad/s).

World frame
    Right-handed, ``Z`` up (against gravity), ``X`` the runner's initial heading, ``Y`` to the left. Gravity is
    ``(0, 0, -STANDARD_GRAVITY_MPS2)``.

Pelvis frame (AP, ML, V)
    Right-handed, fixed to the pelvis: **AP** forward, **ML** to the pelvis' left (from the right hip joint
    centre towards the left one), **V** up (AP x ML). At neutral standing it coincides with the world frame
    rotated by the heading (yaw). The sensor-to-pelvis rotation (the mounting) is found once, by calibration;
    every later stage works in the pelvis frame (names like ``acc_ap``, ``gyr_ml``).

Pelvis angles (degrees in names ending ``_deg``)
    The pelvis orientation is a yaw -> obliquity -> tilt (Z-X-Y) Cardan sequence, ``R = Rz(yaw) Rx(roll)
    Ry(pitch)``, mapping pelvis-frame vectors to world-frame vectors.

    * **roll = obliquity**: ``asin(ML . up)``, the elevation of the ML axis above the horizontal plane. It does
      not depend on an Euler sequence. **Positive when the left side of the pelvis is higher** than the right.
    * **pitch = anterior tilt**: rotation about ML. **Positive = anterior tilt** (the front of the pelvis goes
      down: the AP axis points below the horizon). With ML pointing left this is the right-hand sense about ML
      (``Ry(+θ)`` turns AP toward -V), and it matches how clinicians report anterior tilt.
    * **yaw = rotation**: rotation about V, right-hand sense: **positive = turning left** (counter-clockwise seen
      from above), the pelvis' left side moving backward.

Stance side and pelvic drop
    The stance side of a step is the foot whose initial contact starts the step. The swing side is the other one.
    **Pelvic drop** of a step is the largest obliquity toward the swing side during that step's stance (initial
    contact to toe-off), measured from neutral; **positive means the swing side is lower** than in neutral.
    With obliquity positive-left-up, on a left-stance step the swing (right) side drops when obliquity rises, so
    ``drop = max(obliquity - neutral)``; on a right-stance step ``drop = max(-(obliquity - neutral))``.
    See :func:`sensor.definitions.pelvic_drop_deg`, used by both the simulator's truth and the analysis.
"""

from __future__ import annotations

from typing import Final, Literal

STANDARD_GRAVITY_MPS2: Final = 9.80665

Side = Literal["left", "right"]
"""Stance side of a step, or working side of a one-sided rep."""

SIDE_SIGN: Final[dict[str, float]] = {"left": 1.0, "right": -1.0}
"""Multiply (obliquity - neutral) by this to get the drop toward the swing side for a stance side."""
