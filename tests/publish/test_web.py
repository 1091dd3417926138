from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sensor.publish.web import WebDashboardServer, dashboard_dir


async def _get(port: int, path: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_serves_dashboard_config_and_refuses_escapes(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    server = WebDashboardServer({"ws_url": "ws://127.0.0.1:1/", "topic_prefix": "hipsense"})
    async with asyncio.TaskGroup() as tg:
        await server.start()
        task = tg.create_task(server.serve(), name="web")
        status, body = await _get(server.port, "/")
        assert status == 200
        assert body == (dashboard_dir() / "index.html").read_bytes()
        status, body = await _get(server.port, "/config.json")
        assert status == 200
        assert json.loads(body)["topic_prefix"] == "hipsense"
        status, _ = await _get(server.port, "/../../../../" + str(tmp_path / "secret.txt"))
        assert status == 404
        status, _ = await _get(server.port, "/vendor/mqtt.min.js")
        assert status == 200
        task.cancel()
