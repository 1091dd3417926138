"""``hipsense mqtt check|broker|forget`` against real brokers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt
import pytest

from sensor.cli import main

from .brokers import collecting, free_port, port_open

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.mosquitto
def test_check_reports_the_protocol(mosquitto_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mqtt", "check", "--broker", mosquitto_url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"url": "mqtt://127.0.0.1:1883", "mqtt": "5", "tls": False, "connected": True}


def test_check_failure_names_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mqtt", "check", "--broker", f"mqtt://u:hunter2@127.0.0.1:{free_port()}"]) == 1
    err = capsys.readouterr().err
    assert "connection refused" in err
    assert "check host and port" in err
    assert "hunter2" not in err


def test_broker_command_runs_until_interrupted() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensor", "mqtt", "broker", "--port", "0", "--ws-port", "0"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 60
        while "embedded MQTT broker" not in line:
            # never block past the deadline on a silent child (a hang guard, not a timing check: 60 s because a
            # cold start of the child under a fully loaded 2-core machine took over 20 s)
            ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, "the broker command printed nothing within 60 s"
            line = proc.stderr.readline()
        m = re.search(r"mqtt://127\.0\.0\.1:(\d+), websockets ws://127\.0\.0\.1:(\d+)/", line)
        assert m is not None, line
        assert port_open(int(m.group(1)))
        assert port_open(int(m.group(2)))
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
        assert not port_open(int(m.group(1)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


@pytest.mark.mosquitto
async def test_forget_clears_discovery_and_retained_state(mosquitto_url: str, prefix: str, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[broker]\nurl = "{mosquitto_url}"\ntopic_prefix = "{prefix}"\ndiscovery_prefix = "{prefix}-ha"\n')
    async with aiomqtt.Client("127.0.0.1", 1883) as c:
        await c.publish(f"{prefix}-ha/device/hipsense_hs9/config", b'{"x":1}', qos=1, retain=True)
        await c.publish(f"{prefix}/hs9/state", b'{"activity":"running"}', qos=1, retain=True)
    assert await asyncio.to_thread(main, ["--config", str(cfg), "mqtt", "forget", "hs9"]) == 0
    async with collecting("127.0.0.1", 1883, f"{prefix}-ha/#") as late:
        async with aiomqtt.Client("127.0.0.1", 1883) as probe:
            await probe.publish(f"{prefix}-ha/probe", b"x", qos=1)
        await late.wait_for(lambda c: any(m.topic.endswith("/probe") for m in c.messages))
        assert [m.topic for m in late.messages] == [f"{prefix}-ha/probe"]
