"""Fuzz targets: every parser HipSense points at input it does not control, bytes in.

Each :class:`Target` runs one parser (or a stateful decoder over a stream of frames cut out of the bytes) and
names the only exception types it may raise. Anything else escaping :func:`check` is a bug (a crash), and so are
a hang and an allocation out of proportion to the input (the runner sets libFuzzer's ``-timeout`` and
``-rss_limit_mb``; the default test run measures the peak with ``tracemalloc``). Some targets also check a
property that must hold for every input (the one-by-one and the vectorised v1 decoders agree; the link decoder
never raises).

Stream framing (targets ``*_stream`` and ``link_decoder``): the bytes are a sequence of frames ``<ctl> <len>
<len bytes>``; the low 4 bits of ``ctl`` pick the host-time step before the frame (:data:`HOST_STEPS_S`, jumps
and small backward steps included: the host wall clock is not monotonic), the high 4 bits pick the channel.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from sensor.ble.link import LinkDecoder
from sensor.cli.calibrate import load_mounting
from sensor.config import load_config
from sensor.errors import ConfigError, HipSenseError, ImportFormatError, PacketError, ScenarioError
from sensor.model import ImuBlock, RawFrame
from sensor.protocol import hipsense_v1 as v1
from sensor.protocol import polar, witmotion
from sensor.sessions import hipsense_csv as hcsv
from sensor.sessions.importers import import_file as import_into
from sensor.sessions.importers import read_recording
from sensor.sessions.store import Store
from sensor.sim.scenario import Scenario

HOST_T0_S: Final = 1_760_000_000.0
HOST_STEPS_S: Final = (0.0, 0.001, 0.004, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 3.0, 30.0, 300.0, 700.0, -0.01, -2.0)
MAX_FRAMES: Final = 256
MODELS: Final[tuple[polar.Model, ...]] = ("verity_sense", "h10")
V1_CHANNELS: Final = (v1.DATA_UUID,) * 13 + (v1.STATUS_UUID, v1.INFO_UUID, v1.CONTROL_UUID)
"""The channel of a v1 frame by the high nibble of its ``ctl`` byte: 13 = status, 14 = info, 15 = control."""


@dataclass(frozen=True, slots=True)
class Target:
    """One fuzz target: ``run(data)`` may raise only ``allowed`` (an empty tuple: it may raise nothing)."""

    name: str
    run: Callable[[bytes], None]
    allowed: tuple[type[BaseException], ...]
    doc: str


def check(target: Target, data: bytes) -> BaseException | None:
    """Run ``target`` on ``data``; return the allowed error it raised (or ``None``); anything else propagates."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # as in the test suite: a numpy overflow warning on bad input is a finding
            target.run(data)
    except target.allowed as exc:
        if not str(exc):
            raise AssertionError(f"{type(exc).__name__} without a message") from exc
        return exc
    return None


# ---- byte helpers ------------------------------------------------------------------------------------------------
def frames(data: bytes, channels: tuple[str, ...], sensor_id: str = "fz") -> Iterator[RawFrame]:
    """Cut ``data`` into :class:`RawFrame` s (module docstring: ``<ctl> <len> <payload>``)."""
    pos, t, count = 0, HOST_T0_S, 0
    while pos + 2 <= len(data) and count < MAX_FRAMES:
        ctl, size = data[pos], data[pos + 1]
        payload = data[pos + 2 : pos + 2 + size]
        pos += 2 + size
        t += HOST_STEPS_S[ctl & 0x0F]
        count += 1
        yield RawFrame(sensor_id, t, payload, channels[(ctl >> 4) % len(channels)])


def encode_frames(items: list[tuple[int, bytes]]) -> bytes:
    """The inverse of :func:`frames` for seeds: ``(ctl, payload)`` pairs."""
    out = bytearray()
    for ctl, payload in items:
        if len(payload) > 255:
            raise ValueError(f"a framed payload holds at most 255 bytes, got {len(payload)}")
        out += bytes((ctl, len(payload))) + payload
    return bytes(out)


def split(data: bytes) -> list[bytes]:
    """Length-prefixed pieces ``<len> <len bytes>`` (for targets that take several payloads)."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data) and len(out) < MAX_FRAMES:
        size = data[pos]
        out.append(data[pos + 1 : pos + 1 + size])
        pos += 1 + size
    return out


_SCRATCH: list[Path] = []
_TMPFS = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def scratch_dir() -> Path:
    """A fresh empty directory (on tmpfs when there is one), removed by the next call."""
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)
    d = Path(tempfile.mkdtemp(prefix="hipsense-fuzz-", dir=_TMPFS))
    _SCRATCH.append(d)
    return d


def _joined(blocks: list[ImuBlock]) -> tuple[np.ndarray, ...]:
    """All samples of ``blocks`` in order; gyroscope rows of accelerometer-only blocks are nan."""
    if not blocks:
        return ()
    gyr = [b.gyr_radps if b.gyr_radps is not None else np.full((len(b), 3), np.nan) for b in blocks]
    return (
        np.concatenate([b.t_s for b in blocks]),
        np.concatenate([b.acc_mps2 for b in blocks]),
        np.concatenate(gyr),
        np.concatenate([b.sample_index for b in blocks]),
        np.concatenate([b.missing_before for b in blocks]),
    )


def _same_blocks(a: list[ImuBlock], b: list[ImuBlock]) -> bool:
    ja, jb = _joined(a), _joined(b)
    return len(ja) == len(jb) and all(np.array_equal(x, y, equal_nan=True) for x, y in zip(ja, jb, strict=True))


# ---- protocol v1 -------------------------------------------------------------------------------------------------
def v1_packet(data: bytes) -> None:
    """Every stateless v1 decoder on the bytes; ``decode_packet`` and ``decode_packets([...])`` must agree."""
    for parse in (v1.decode_status, v1.decode_info, v1.decode_response):
        with contextlib.suppress(PacketError):
            parse(data)
    one: PacketError | None = None
    many: PacketError | None = None
    try:
        pkt = v1.decode_packet(data)
    except PacketError as exc:
        one = exc
    try:
        batch = v1.decode_packets([data])
    except PacketError as exc:
        many = exc
    if (one is None) != (many is None) or (one and many and one.reason != many.reason):
        raise AssertionError(f"decode_packet gave {one!r}, decode_packets gave {many!r}")
    if one is None and not np.array_equal(pkt.acc_counts, batch.acc_counts):
        raise AssertionError("decode_packet and decode_packets disagree on the samples")
    pieces = split(data)
    v1.decode_packets(pieces)


def v1_stream(data: bytes) -> None:
    """The stateful v1 decoder frame by frame, and ``decode_batch`` on the same frames: the same samples."""
    fs = list(frames(data, V1_CHANNELS))
    one = v1.HipSenseV1Decoder("fz")
    blocks = []
    for f in fs:
        try:
            b = one.decode(f)
        except PacketError:
            continue
        if b is not None and len(b):
            blocks.append(b)
    batch = v1.HipSenseV1Decoder("fz")
    got = [b for b in batch.decode_batch(fs) if len(b)]
    if not _same_blocks(blocks, got):
        raise AssertionError("decode_batch differs from decoding frame by frame")
    if (one.n_errors, one.n_duplicates, one.n_missing) != (batch.n_errors, batch.n_duplicates, batch.n_missing):
        raise AssertionError(
            f"counters differ: one by one {(one.n_errors, one.n_duplicates, one.n_missing)}, "
            f"batch {(batch.n_errors, batch.n_duplicates, batch.n_missing)}"
        )


# ---- link decoder (what the live BLE path and replay run): never raises ------------------------------------------
def link_decoder(data: bytes) -> None:
    """:class:`~sensor.ble.link.LinkDecoder` of each sensor type: bad frames are counted, nothing is raised."""
    if not data:
        return
    kind = data[0] % 4
    if kind == 0:
        dec = LinkDecoder("fz", v1.SENSOR_TYPE)
        channels: tuple[str, ...] = V1_CHANNELS
    elif kind == 1:
        dec = LinkDecoder("fz", witmotion.SENSOR_TYPE, sampling_rate_hz=50.0)
        channels = (witmotion.NOTIFY_UUID,)
    else:
        model: polar.Model = "verity_sense" if kind == 2 else "h10"
        dec = LinkDecoder("fz", polar.SENSOR_TYPE, model=model)
        channels = (polar.PMD_DATA_UUID,) * 3 + (polar.PMD_CONTROL_UUID,)
    last = -np.inf
    for f in frames(data[1:], channels):
        block = dec.feed(f)
        if block is not None and len(block):
            if not block.t_s[0] > last:
                raise AssertionError(f"host times go back: {block.t_s[0]!r} after {last!r}")
            last = float(block.t_s[-1])


# ---- WitMotion ---------------------------------------------------------------------------------------------------
def witmotion_frames(data: bytes) -> None:
    """WitMotion notification and command parsers, the virtual sensor's answer, and the stream decoder."""
    for piece in [data, *split(data)]:
        for parse in (witmotion.parse_notification, witmotion.parse_command):
            with contextlib.suppress(PacketError):
                parse(piece)
        with contextlib.suppress(PacketError):
            witmotion.answer_command(piece, {0x64: 3900})
    dec = witmotion.WitMotionDecoder("fz", sampling_rate_hz=100.0)
    for f in frames(data, (witmotion.NOTIFY_UUID,)):
        with contextlib.suppress(PacketError):
            dec.decode(f)


# ---- Polar -------------------------------------------------------------------------------------------------------
def polar_frames(data: bytes) -> None:
    """Polar PMD parsers, the virtual sensor's answer (never raises), and both decoders (with and without gyro)."""
    for piece in [data, *split(data)]:
        for parse in (
            polar.parse_frame,
            polar.parse_response,
            polar.parse_features,
            polar.parse_settings,
            polar.parse_command,
        ):
            with contextlib.suppress(PacketError):
                parse(piece)
        for model in MODELS:
            answer, _ = polar.answer_command(piece, model=model)
            if answer[:1] != bytes((polar.RESPONSE_CODE,)):
                raise AssertionError(f"answer_command answered {answer.hex()}")
    channels = (polar.PMD_DATA_UUID,) * 3 + (polar.PMD_CONTROL_UUID,)
    for dec in (polar.PolarDecoder("fz"), polar.PolarDecoder("fz", model="h10")):
        for f in frames(data, channels):
            with contextlib.suppress(PacketError):
                dec.decode(f)


# ---- files -------------------------------------------------------------------------------------------------------
def hipsense_csv(data: bytes) -> None:
    """:func:`sensor.sessions.hipsense_csv.read_csv` (the pure parser behind it, and the UTF-8 check)."""
    path = scratch_dir() / "rec.csv"
    path.write_bytes(data)
    hcsv.read_csv(path)


def import_file(data: bytes) -> None:
    """One file of any importable format through detection and its reader (``read_recording``); byte 0: bits 0-1
    pick the suffix (the JSON reader is chosen by ``.json``), bit 2 imports into a store (``import_file``: frames,
    host times, the session row) instead of only reading."""
    flags = data[0] if data else 0
    path = scratch_dir() / f"rec{('.csv', '.json', '.txt', '.zip')[flags % 4]}"
    path.write_bytes(data[1:])
    if flags & 4:
        import_into(_store(), path)
    else:
        read_recording(path)


MEMBER_NAMES: Final = (
    "Accelerometer.csv",
    "Gyroscope.csv",
    "TotalAcceleration.csv",
    "Gravity.csv",
    "Metadata.csv",
    "meta/time.csv",
    "Raw Data.csv",
    "Linear Acceleration.csv",
)
FORMATS: Final = ("auto", "phyphox", "sensor-logger", "hipsense-csv")


def encode_members(flags: int, members: list[tuple[str, bytes]]) -> bytes:
    """A seed for :func:`import_export`: ``flags`` then ``<name index> <len u16 LE> <content>`` per member."""
    out = bytearray((flags,))
    for name, content in members:
        out += bytes((MEMBER_NAMES.index(name),)) + len(content).to_bytes(2, "little") + content
    return bytes(out)


def import_export(data: bytes) -> None:
    """A phone-app export of several CSVs (phyphox, Sensor Logger) as a zip or a folder, read with format
    detection or a forced format. Byte 0: bit 0 zip/folder, bits 1-2 the format (:data:`FORMATS`); then members
    ``<name index> <len u16 LE> <content>`` (names: :data:`MEMBER_NAMES`)."""
    if not data:
        return
    flags, pos = data[0], 1
    members: dict[str, bytes] = {}
    while pos + 3 <= len(data) and len(members) < 16:
        name = MEMBER_NAMES[data[pos] % len(MEMBER_NAMES)]
        size = int.from_bytes(data[pos + 1 : pos + 3], "little")
        members[name] = data[pos + 3 : pos + 3 + size]
        pos += 3 + size
    d = scratch_dir()
    if flags & 1:
        target = d / "export.zip"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, content in members.items():
                z.writestr(name, content)
        target.write_bytes(buf.getvalue())
    else:
        target = d / "export"
        for name, content in members.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(content)
        target.mkdir(exist_ok=True)
    read_recording(target, fmt=FORMATS[(flags >> 1) % len(FORMATS)])


_STORE: list[Store] = []


def _store() -> Store:
    """One destination store per process, never closed: the atheris worker fuzzes until it is killed."""
    if not _STORE:
        store_dir = Path(tempfile.mkdtemp(prefix="hipsense-fuzz-store-", dir=_TMPFS))
        _STORE.append(Store(store_dir / "sessions.db", durability="normal"))
    return _STORE[0]


def import_archive(data: bytes) -> None:
    """A HipSense archive (a one-session SQLite store file) copied into a store: ``import_file(fmt=archive)``."""
    path = scratch_dir() / "session.hipsense"
    path.write_bytes(data)
    import_into(_store(), path, fmt="hipsense-archive")


def config_toml(data: bytes) -> None:
    """The config file: :func:`sensor.config.load_config`."""
    path = scratch_dir() / "config.toml"
    path.write_bytes(data)
    load_config(path)


def scenario_file(data: bytes) -> None:
    """A simulator scenario file (``hipsense simulate FILE``): byte 0 picks ``.yaml`` or ``.json``."""
    suffix = ".json" if data[:1] and data[0] & 1 else ".yaml"
    path = scratch_dir() / f"scenario{suffix}"
    path.write_bytes(data[1:])
    Scenario.from_file(path)


def mounting_file(data: bytes) -> None:
    """A mounting file (``--mounting FILE.json`` of analyze and train, written by ``hipsense calibrate``)."""
    path = scratch_dir() / "mounting.json"
    path.write_bytes(data)
    load_mounting(path)


TARGETS: Final[dict[str, Target]] = {
    t.name: t
    for t in (
        Target("v1_packet", v1_packet, (PacketError,), "protocol v1 data/status/info/response, one and batch"),
        Target("v1_stream", v1_stream, (), "HipSenseV1Decoder: frame by frame == decode_batch"),
        Target("link_decoder", link_decoder, (), "LinkDecoder (v1, WitMotion, Polar x2): never raises"),
        Target("witmotion", witmotion_frames, (), "WitMotion frames, commands, decoder"),
        Target("polar", polar_frames, (), "Polar PMD frames, control point, decoders"),
        Target("hipsense_csv", hipsense_csv, (ImportFormatError,), "HipSense CSV read_csv"),
        Target("import_file", import_file, (ImportFormatError,), "one file: detection + reader"),
        Target("import_export", import_export, (ImportFormatError,), "phyphox / Sensor Logger zip or folder"),
        Target("import_archive", import_archive, (ImportFormatError,), "HipSense archive (SQLite) import"),
        Target("config", config_toml, (ConfigError,), "config.toml load_config"),
        Target("scenario", scenario_file, (ScenarioError,), "simulator scenario YAML/JSON"),
        Target("mounting", mounting_file, (ConfigError,), "calibrated mounting JSON (--mounting)"),
    )
}

# every allowed type is a typed HipSense error
assert all(issubclass(e, HipSenseError) for t in TARGETS.values() for e in t.allowed)
