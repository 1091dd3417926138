"""Regenerate docs/img/dashboard.png and docs/img/report.png from a real (virtual-sensor) demo run.

    python docs/make_screenshots.py [--speed 30]

Runs the demo scenario through the whole gateway (virtual sensor on Bumble -> Bleak -> pipeline -> recorder ->
embedded MQTT broker), with the web dashboard open in headless Chromium, screenshots the page at the end, then
writes the session's HTML report and screenshots it too. Needs Debian's chromium.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.cli import main as cli
from sensor.config import BrokerConfig, SensorEntry
from sensor.gateway import GatewayOptions, run_gateway
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.sim import Scenario, simulate

HERE = Path(__file__).resolve().parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main(speed: float) -> None:
    scenario = Scenario.preset("demo")
    block = simulate(scenario).block
    tmp = Path(tempfile.mkdtemp())
    port = _free_port()
    async with EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,)) as broker, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        page = await browser.new_page(viewport={"width": 1280, "height": 1000})
        cfg = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=208.0)
        async with VirtualWorld([cfg], speed=speed, source=SampleSource(block=block)) as world:
            opts = GatewayOptions(
                sensors=[SensorEntry(alias="demo-hip", address=cfg.address)],
                backend_for=lambda _e: BleBackend(world.central),
                clock=world.clock,
                duration_s=float(block.t_s[-1] - block.t_s[0]),
                store_path=tmp / "s.db",
                session_name="demo",
                broker=BrokerConfig(),
                broker_url=broker.tcp_url,
                web_port=port,
                web_ws_url=broker.ws_url,
                announce=print,
            )

            async def open_page() -> None:
                for _ in range(400):
                    try:
                        await page.goto(f"http://127.0.0.1:{port}/")
                        return
                    except Exception:  # not up yet
                        await asyncio.sleep(0.05)

            async def mid_run_shot() -> None:
                # 8 min into the scenario the runner is mid-run: the running panels are live
                await world.clock.sleep(8 * 60.0)
                await page.screenshot(path=str(HERE / "img" / "dashboard.png"), full_page=True)

            async with asyncio.TaskGroup() as tg:
                tg.create_task(open_page(), name="page")
                tg.create_task(mid_run_shot(), name="mid-run-shot")
                result = await run_gateway(opts)
            await asyncio.sleep(1.0)
        await page.screenshot(path=str(HERE / "img" / "dashboard-training.png"), full_page=True)
        report = tmp / "report.html"
        assert result.session_id is not None
        cli(["report", result.session_id, "-o", str(report), "--store", str(tmp / "s.db")])
        page2 = await browser.new_page(viewport={"width": 1000, "height": 1200})
        await page2.goto(report.as_uri())
        await page2.screenshot(path=str(HERE / "img" / "report.png"), full_page=True)
        await browser.close()
    print("wrote dashboard.png, dashboard-training.png and report.png in", HERE / "img")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--speed", type=float, default=30.0)
    asyncio.run(main(ap.parse_args().speed))
