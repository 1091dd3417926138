"""The live gateway: BLE links -> decode -> pipeline -> recorder, MQTT, live terminal view and web dashboard.

``hipsense run``, ``train`` (live) and ``demo`` differ only in the :class:`GatewayOptions` they pass; the loop is
:func:`sensor.app.run_pipeline`, the same one replay uses, so a replay of the recorded session yields the events
the live run produced. Everything runs inside one ``TaskGroup`` of named tasks::

    links (one supervisor per sensor) --frames--> run_pipeline --+--> Recorder (session store; the MQTT outbox)
                                                                 +--> MqttSink per sensor (QoS 1 events, QoS 0 live)
                                                                 +--> LiveView (terminal)
    EmbeddedBroker (when no broker is configured)   WebDashboardServer (dashboards/web + config.json)

When the session store cannot be written any more (disk full, read-only file system), the recording stops: the
:class:`~sensor.errors.StoreError` (naming the path and the fix) is announced and logged once and returned in
:attr:`GatewayResult.store_error`; the links, the analysis, the live view, the web dashboard and the live (QoS 0)
MQTT messages go on, and every commit made before the failure is intact. QoS 1 events that could not be written to
the outbox are not published (they cannot be kept).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sensor.app import EventCollector, PipelineStats, default_analyzer_factory, run_pipeline
from sensor.ble.link import BleBackend, BleGateway, Clock, LinkDecoder, SensorLink, decoder_for
from sensor.config import AppConfig, BrokerConfig, SensorEntry
from sensor.errors import ConfigError, StoreError
from sensor.events import Event, Exercise, RollingSummary
from sensor.interfaces import Sink
from sensor.model import FloatArray, RawFrame
from sensor.protocol import hipsense_v1 as v1
from sensor.protocol import registry
from sensor.publish.embedded_broker import BrokerEndpoint, broker_endpoint, embedded_from_config, exposure_warning
from sensor.publish.ha_discovery import DeviceInfo
from sensor.publish.mqtt_client import PublisherStats, parse_broker_url, plaintext_warning, redact_url
from sensor.publish.mqtt_sink import MqttSink, mqtt_sink
from sensor.publish.terminal import LiveView
from sensor.publish.web import WebDashboardServer
from sensor.sessions.recorder import Recorder
from sensor.sessions.store import SensorMeta, Store

log = logging.getLogger(__name__)


@dataclass
class GatewayOptions:
    """What a live command wires together.

    Attributes:
        sensors: the sensors to stream from (config entries).
        backend_for: the Bleak backend for a sensor entry (platform, Bumble transport, or the virtual world).
        clock: host time source (the virtual world's sped-up clock in the demo).
        duration_s: stop after this much (clock) time; ``None``: until cancelled (Ctrl-C).
        store_path: the session store; ``None`` records nothing.
        session_name: the recorded session's name.
        broker: the broker section of the config; ``broker_url`` (``--broker``) overrides it; with neither, the
            embedded broker is started. ``publish=False`` publishes nothing.
        web: serve the web dashboard on 127.0.0.1 (``web_port``, 0 = a free port); ``web_ws_url`` is the broker's
            websockets URL for the page when the broker is external (the embedded one's is known).
        view: the live terminal view, or ``None``.
        declared_exercise: ``hipsense train --exercise``.
        drop_threshold_deg: the threshold the dashboards draw.
        settings_for: codec/start settings per sensor entry (e.g. ``sampling_rate_hz``).
        announce: where the gateway prints what it started (URLs, ports, the session id).
        keep_events: keep every event in memory for :attr:`GatewayResult.events` (tests, short runs); off, memory
            stays flat over a session of any length (the session store has every event anyway).
    """

    sensors: Sequence[SensorEntry]
    backend_for: Callable[[SensorEntry], BleBackend]
    clock: Clock
    duration_s: float | None = None
    store_path: Any | None = None
    session_name: str | None = None
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    broker_url: str | None = None
    publish: bool = True
    web: bool = True
    view: LiveView | None = None
    declared_exercise: Exercise | None = None
    drop_threshold_deg: float = 8.0
    settings_for: Callable[[SensorEntry], dict[str, Any]] | None = None
    announce: Callable[[str], None] = print
    stop: asyncio.Event | None = None
    extra_sinks: Sequence[Sink] = ()
    web_port: int = 0
    web_ws_url: str | None = None
    keep_events: bool = False


@dataclass
class GatewayResult:
    """What a live run did. ``broker_url`` is redacted (``user:***@``): it is printed by ``--json``."""

    session_id: str | None
    stats: PipelineStats
    decoders: dict[str, LinkDecoder]
    links: list[SensorLink]
    broker_url: str | None
    web_url: str | None
    events: list[tuple[str, Event]] = field(default_factory=list)  # only with GatewayOptions.keep_events
    publishers: dict[str, PublisherStats] = field(default_factory=dict)  # per sensor: MQTT connects, sent, dropped
    store_error: StoreError | None = None  # the recording stopped early (disk full, read-only)


class _StoreGuard:
    """Remembers and announces the first :class:`StoreError` of the sinks that write the session store."""

    def __init__(self, announce: Callable[[str], None]) -> None:
        self.announce = announce
        self.error: StoreError | None = None

    def fail(self, exc: StoreError) -> None:
        if self.error is not None:
            return
        self.error = exc
        log.error("recording stopped: %s", exc)
        self.announce(f"recording stopped: {exc}. Streaming, analysis and live MQTT go on.")


class _Guarded:
    """A sink that writes the session store: its :class:`StoreError` goes to the guard instead of ending the run.
    With ``stop_after_failure`` (the recorder) it is not fed any more; else (an MQTT sink, whose live messages need
    no store) it keeps being fed and its outbox writes are tried again."""

    def __init__(self, sink: Sink, guard: _StoreGuard, *, stop_after_failure: bool) -> None:
        self.sink = sink
        self.guard = guard
        self.stop_after_failure = stop_after_failure
        self.stopped = False

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        if not self.stopped:
            try:
                await self.sink.on_frames(frames)
            except StoreError as exc:
                self._failed(exc)

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        if not self.stopped:
            try:
                await self.sink.on_events(sensor_id, events)
            except StoreError as exc:
                self._failed(exc)

    def _failed(self, exc: StoreError) -> None:
        self.guard.fail(exc)
        self.stopped = self.stop_after_failure


@contextlib.asynccontextmanager
async def _recording(recorder: Recorder, guard: _StoreGuard) -> AsyncIterator[Recorder]:
    """``async with recorder``, except that a StoreError of its last commit at exit goes to the guard."""
    await recorder.__aenter__()
    try:
        yield recorder
    except BaseException as exc:
        await recorder.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    try:
        await recorder.__aexit__(None, None, None)
    except StoreError as exc:
        guard.fail(exc)


class _LinkSource:
    """A :class:`~sensor.interfaces.FrameSource` over the gateway's queue that ends when ``stop`` is set."""

    def __init__(self, gateway: BleGateway, stop: asyncio.Event) -> None:
        self.gateway = gateway
        self.stop = stop

    async def frame_batches(self) -> AsyncIterator[Sequence[RawFrame]]:
        while not self.stop.is_set():
            try:
                first = await asyncio.wait_for(self.gateway.queue.get(), timeout=0.1)
            except TimeoutError:
                continue
            yield [first, *self.gateway.drain()]
        rest = self.gateway.drain()
        if rest:
            yield rest

    async def frames(self) -> AsyncIterator[RawFrame]:
        async for batch in self.frame_batches():
            for frame in batch:
                yield frame


class _SessionSummaries:
    """A sink keeping each sensor's latest whole-session summary (what the MQTT ``session`` end message carries)."""

    def __init__(self) -> None:
        self.latest: dict[str, RollingSummary] = {}

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        return None

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        for e in events:
            if isinstance(e, RollingSummary) and e.window_s is None:
                self.latest[sensor_id] = e


class _Fanout:
    """Sinks for several sensors: every sink gets every frame; per-sensor sinks filter by sensor id."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = list(sinks)

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        for s in self.sinks:
            await s.on_frames(frames)

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        for s in self.sinks:
            await s.on_events(sensor_id, events)


def _link_settings(entry: SensorEntry, opts: GatewayOptions) -> dict[str, Any]:
    base = registry.get(entry.sensor_type).settings_for_name(entry.name)
    if opts.settings_for is not None:
        base = {**base, **opts.settings_for(entry)}
    return dict(base)


def _sensor_meta(entry: SensorEntry, link: SensorLink) -> SensorMeta:
    settings = {} if link.sensor_type == v1.SENSOR_TYPE else dict(link.settings)
    rate = link.settings.get("sampling_rate_hz")
    return SensorMeta(
        sensor_id=entry.alias,
        sensor_type=entry.sensor_type,
        sampling_rate_hz=float(rate) if rate else None,
        mounting=entry.mounting,
        firmware=entry.firmware,
        model=entry.model,
        meta={"address": entry.address, "name": entry.name, "decoder_settings": settings},
    )


async def run_gateway(opts: GatewayOptions) -> GatewayResult:
    """Stream, analyse, record and publish until ``duration_s`` has passed or ``stop`` is set."""
    if opts.publish and opts.broker_url is None and opts.broker.url is None:
        embedded_from_config(opts.broker)  # a network bind without a password fails here, before anything is recorded
    links = [
        SensorLink(
            e.alias,
            e.address,
            sensor_type=e.sensor_type,
            settings=_link_settings(e, opts),
            backend=opts.backend_for(e),
            clock=opts.clock,
        )
        for e in opts.sensors
    ]
    decoders: dict[str, LinkDecoder] = {link.sensor_id: decoder_for(link) for link in links}
    stop = opts.stop or asyncio.Event()
    collector = EventCollector()
    summaries = _SessionSummaries()
    sinks: list[Sink] = [summaries, *opts.extra_sinks]
    if opts.keep_events:
        sinks.insert(0, collector)
    mqtt_sinks: dict[str, MqttSink] = {}
    view = opts.view
    session_id: str | None = None
    endpoint: BrokerEndpoint | None = None
    web: WebDashboardServer | None = None
    guard = _StoreGuard(opts.announce)

    def on_tilt(sensor_id: str, t_s: FloatArray, roll_deg: FloatArray, pitch_deg: FloatArray) -> None:
        sink = mqtt_sinks.get(sensor_id)
        if sink is not None:
            sink.on_tilt(t_s, roll_deg, pitch_deg)
        if view is not None:
            view.on_tilt(sensor_id, roll_deg[:: max(1, len(roll_deg) // 4)].tolist())

    async with contextlib.AsyncExitStack() as stack:
        store: Store | None = None
        if opts.store_path is not None:
            store = stack.enter_context(Store(opts.store_path))
            recorder = await stack.enter_async_context(
                _recording(
                    Recorder(
                        store,
                        name=opts.session_name,
                        source_kind="live",
                        sensors=[_sensor_meta(e, link) for e, link in zip(opts.sensors, links, strict=True)],
                    ),
                    guard,
                )
            )
            session_id = recorder.session_id
            sinks.insert(0, _Guarded(recorder, guard, stop_after_failure=True))
            opts.announce(f"recording session {session_id} into {opts.store_path}")
        if opts.publish:
            endpoint = await stack.enter_async_context(broker_endpoint(opts.broker, opts.broker_url))
            if endpoint.embedded is not None:
                # The client probes MQTT 5 first and amqtt (3.1.1 only) logs each refused probe as a WARNING, which
                # would also tear the live terminal view; real broker errors are logged at ERROR.
                logging.getLogger("amqtt").setLevel(logging.ERROR)
                opts.announce(
                    f"embedded MQTT broker (MQTT 3.1.1): {endpoint.url}"
                    + (f", websockets {endpoint.ws_url}" if endpoint.ws_url else "")
                    + "; to use your own broker instead pass --broker mqtt://HOST:1883 or set [broker] url"
                )
                warning = exposure_warning(endpoint.embedded)
                if warning is not None:
                    log.warning(warning)
                    opts.announce(f"warning: {warning}")
            else:
                opts.announce(f"publishing to {redact_url(endpoint.url)}")
                warning = plaintext_warning(parse_broker_url(endpoint.url))
                if warning is not None:
                    log.warning(warning)
                    opts.announce(f"warning: {warning}")
            if store is None:
                raise ConfigError(
                    "publishing needs the session store as its outbox: give a store path or turn publishing off",
                    key="store_path",
                )
            aliases = [e.alias for e in opts.sensors]
            for k, e in enumerate(opts.sensors):
                sink = await stack.enter_async_context(
                    mqtt_sink(
                        opts.broker,
                        sensor_id=e.alias,
                        # the first sensor's publisher also delivers what sensors no longer in use left undelivered
                        adopt_leftovers_except=[a for a in aliases if a != e.alias] if k == 0 else None,
                        session_id=session_id or "unrecorded",
                        outbox=store,
                        broker_url=endpoint.url,
                        device=DeviceInfo(
                            sensor_id=e.alias, model=e.model or "HipSense hip IMU", sw_version=e.firmware
                        ),
                    )
                )
                try:
                    await sink.start_session()
                except StoreError as exc:
                    guard.fail(exc)
                mqtt_sinks[e.alias] = sink
                sinks.append(_Guarded(sink, guard, stop_after_failure=False))
        if view is not None:
            sinks.append(view)
            for link in links:
                view.set_link(link.sensor_id, "connecting")
        if opts.web:
            page_config: dict[str, Any] = {
                "ws_url": opts.web_ws_url or (endpoint.ws_url if endpoint is not None else None),
                "topic_prefix": opts.broker.topic_prefix,
                "drop_threshold_deg": opts.drop_threshold_deg,
            }
            if endpoint is not None and endpoint.embedded is not None and endpoint.embedded.requires_auth:
                # config.json is served to anyone on this machine: the page asks for the password instead
                page_config |= {"auth_required": True, "username": endpoint.embedded.username}
            web = WebDashboardServer(page_config, port=opts.web_port)
            await web.start()
            stack.push_async_callback(web.close)
            opts.announce(f"web dashboard: {web.url}")
        gateway = await stack.enter_async_context(BleGateway(links))
        analyzer_for = default_analyzer_factory(declared_exercise=opts.declared_exercise, on_tilt=on_tilt)

        async def stopper() -> None:
            if opts.duration_s is None:
                await stop.wait()
                return
            end = opts.clock.now() + opts.duration_s
            while not stop.is_set() and opts.clock.now() < end:
                await opts.clock.sleep(min(0.25, max(end - opts.clock.now(), 0.0)))
            stop.set()

        async def link_status() -> None:
            while not stop.is_set():
                for link in links:
                    state = link.stats.state.value
                    if view is not None:
                        view.set_link(link.sensor_id, "online" if state == "streaming" else state)
                    if link.sensor_id in mqtt_sinks:
                        mqtt_sinks[link.sensor_id].update_device(
                            battery_pct=link.stats.battery_pct, rssi_dbm=link.stats.rssi_dbm
                        )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.5)

        async with asyncio.TaskGroup() as tg:
            side: list[asyncio.Task[None]] = [
                tg.create_task(stopper(), name="stopper"),
                tg.create_task(link_status(), name="link-status"),
            ]
            if web is not None:
                side.append(tg.create_task(web.serve(), name="web-dashboard"))
            if view is not None:
                side.append(tg.create_task(view.run(), name="live-view"))
            t0 = time.perf_counter()
            stats = await run_pipeline(
                _LinkSource(gateway, stop), lambda sid: decoders[sid], analyzer_for, [_Fanout(sinks)]
            )
            stop.set()
            for task in side:
                task.cancel()
            log.info("gateway loop ended after %.1f s wall time", time.perf_counter() - t0)
        for link in links:
            link.stop()
        for sid, sink in mqtt_sinks.items():
            try:
                await sink.end_session(summaries.latest.get(sid))
            except StoreError as exc:
                guard.fail(exc)
    return GatewayResult(
        session_id=session_id,
        stats=stats,
        decoders=decoders,
        links=links,
        broker_url=redact_url(endpoint.url) if endpoint is not None else None,
        web_url=web.url if web is not None else None,
        events=collector.events,
        store_error=guard.error,
        publishers={sid: sink.publisher.stats for sid, sink in mqtt_sinks.items()},
    )


def entries_from_config(cfg: AppConfig, alias: str | None) -> list[SensorEntry]:
    """The paired sensors to use (all, or the one named)."""
    if alias is None:
        return list(cfg.sensors)
    entry = cfg.sensor(alias)
    return [] if entry is None else [entry]
