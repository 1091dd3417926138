"""The web dashboard in a real headless Chromium during a short live run (virtual sensor, embedded broker).

The page subscribes over MQTT-over-websockets; the test subscribes over TCP to the same broker and checks that
the page's values update and equal what was published."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.config import BrokerConfig, SensorEntry
from sensor.gateway import GatewayOptions, run_gateway
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.sim import Running, Scenario, SensorModel, Standing, simulate
from tests.browser import CHROMIUM_ARGS

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run does it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fmt(v: float | None, digits: int = 1) -> str:
    # the page's fmt(): JavaScript toFixed, i.e. round half away from zero on the binary value
    # (Python's format rounds half to even: 6.25 -> "6.2" where the page shows "6.3")
    if v is None:
        return "–"
    return str(Decimal(v).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


async def test_dashboard_values_update_and_match_what_was_published(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    prefix = "hs-web-test"
    block = simulate(
        Scenario(
            name="web-test",
            segments=[Standing(duration_s=4.0), Running(duration_s=56.0)],
            sensor=SensorModel(sampling_rate_hz=104.0),
            seed=9,
        )
    ).block
    published: dict[str, list[dict[str, Any]]] = {"step": [], "state": [], "tilt": []}
    web_port = _free_port()
    async with EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,)) as broker, async_playwright() as pw:
        assert broker.ws_url is not None
        browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        subscribed = asyncio.Event()
        seen_counts: list[int] = []

        async def listen() -> None:
            async with aiomqtt.Client("127.0.0.1", broker.tcp_port) as client:
                await client.subscribe(f"{prefix}/#")
                subscribed.set()
                async for msg in client.messages:
                    kind = str(msg.topic).rsplit("/", 1)[-1]
                    if kind in published and isinstance(msg.payload, bytes):
                        published[kind].append(json.loads(msg.payload))

        async def watch_page() -> None:
            for _ in range(400):
                try:
                    await page.goto(f"http://127.0.0.1:{web_port}/")
                    break
                except Exception:  # the gateway's web server is not up yet
                    await asyncio.sleep(0.05)
            await page.wait_for_function(
                "document.getElementById('broker-status').textContent.includes('connected')", timeout=15000
            )
            while True:
                seen_counts.append(int(await page.text_content("#step-count") or "0"))
                await asyncio.sleep(0.5)

        cfg = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=104.0)
        async with VirtualWorld([cfg], speed=6.0, source=SampleSource(block=block)) as world:
            opts = GatewayOptions(
                sensors=[SensorEntry(alias="hip", address=cfg.address)],
                backend_for=lambda _e: BleBackend(world.central),
                clock=world.clock,
                duration_s=55.0,
                store_path=tmp_path / "s.db",
                broker=BrokerConfig(topic_prefix=prefix),
                broker_url=broker.tcp_url,
                web_port=web_port,
                web_ws_url=broker.ws_url,
                announce=lambda _t: None,
            )
            async with asyncio.TaskGroup() as tg:
                listener = tg.create_task(listen(), name="listener")
                await subscribed.wait()
                watcher = tg.create_task(watch_page(), name="page")
                await run_gateway(opts)
                # the page and the listener get the last messages (two subscribers of one broker: on a loaded
                # machine one may lag the other); wait until both have settled, up to 15 s, then compare exactly
                for _ in range(30):
                    await asyncio.sleep(0.5)
                    rolling_now = [s["rolling"] for s in published["state"] if s.get("rolling")]
                    if rolling_now and await page.text_content("#drop-left") == _fmt(
                        rolling_now[-1]["median_drop_left_deg"]
                    ):
                        break
                watcher.cancel()
                listener.cancel()
        shot = tmp_path / "dashboard.png"
        await page.screenshot(path=str(shot), full_page=True)
        dom = {
            k: await page.text_content(f"#{k}")
            for k in ("step-count", "drop-left", "drop-right", "cadence", "tilt-now")
        }
        await browser.close()

    steps = published["step"]
    assert len(steps) > 30
    # values updated while the run went on, and the page ends with exactly what was published
    assert any(0 < c < len(steps) for c in seen_counts)
    assert dom["step-count"] == str(len(steps))
    rolling = [s["rolling"] for s in published["state"] if s.get("rolling")]
    assert rolling, "the gateway published rolling metrics"
    last = rolling[-1]
    assert dom["drop-left"] == _fmt(last["median_drop_left_deg"])
    assert dom["drop-right"] == _fmt(last["median_drop_right_deg"])
    assert dom["cadence"] == _fmt(last["cadence_spm"], 0)
    tilt = [v for m in published["tilt"] for v in m["obliquity_deg"] if v is not None]
    assert dom["tilt-now"] == _fmt(tilt[-1])
    assert shot.stat().st_size > 20_000


async def test_with_a_password_protected_broker_the_page_asks_for_it_and_config_json_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The embedded broker bound off loopback requires a login: the gateway tells the page so (user name only),
    the page prompts for the password and then connects over websockets with it."""
    from urllib.request import urlopen

    from playwright.async_api import Dialog, async_playwright

    password = "Dash-s3cret-4d1e"
    monkeypatch.setenv("HS_TEST_DASH_PW", password)
    broker_cfg = BrokerConfig(
        topic_prefix="hs-web-auth", embedded_bind="0.0.0.0", username="hs", password_env="HS_TEST_DASH_PW"
    )
    web_port = _free_port()
    prompts: list[str] = []

    async def answer(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        await dialog.accept(password)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = await browser.new_page()
        page.on("dialog", answer)
        page_config: dict[str, Any] = {}

        async def watch_page() -> None:
            for _ in range(400):
                try:
                    await page.goto(f"http://127.0.0.1:{web_port}/")
                    break
                except Exception:  # the gateway's web server is not up yet
                    await asyncio.sleep(0.05)
            raw = await asyncio.to_thread(lambda: urlopen(f"http://127.0.0.1:{web_port}/config.json").read())
            page_config.update(json.loads(raw))
            await page.wait_for_function(
                "document.getElementById('broker-status').textContent === 'broker: connected'", timeout=15000
            )

        cfg = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=104.0)
        async with VirtualWorld([cfg], speed=2.0) as world:
            opts = GatewayOptions(
                sensors=[SensorEntry(alias="hip", address=cfg.address)],
                backend_for=lambda _e: BleBackend(world.central),
                clock=world.clock,
                store_path=tmp_path / "s.db",
                broker=broker_cfg,
                web_port=web_port,
                announce=lambda _t: None,
                stop=asyncio.Event(),
            )
            async with asyncio.TaskGroup() as tg:
                gateway = tg.create_task(run_gateway(opts), name="gateway")
                await watch_page()
                status = await page.text_content("#broker-status")
                assert opts.stop is not None
                opts.stop.set()
                await gateway
        await browser.close()

    assert status == "broker: connected"
    assert prompts == ["MQTT password for hs"]
    assert page_config["auth_required"] is True
    assert page_config["username"] == "hs"
    assert password not in json.dumps(page_config)
