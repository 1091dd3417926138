"""Serves the web dashboard (``dashboards/web/``) and its ``config.json`` on 127.0.0.1.

A deliberately small static HTTP/1.1 server on asyncio streams (GET and HEAD only, no directory listing, no path
escapes): the page itself talks to the MQTT broker over websockets, so the gateway serves only files. Run it
inside the gateway's TaskGroup with :meth:`WebDashboardServer.serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import sensor

log = logging.getLogger(__name__)

_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".json": "application/json"}


def dashboard_dir() -> Path:
    """Where the web dashboard's files are: the source tree's ``dashboards/web`` or the wheel's copy."""
    pkg = Path(sensor.__file__).resolve().parent
    for candidate in (pkg.parent / "dashboards" / "web", pkg / "_dashboards" / "web"):
        if (candidate / "index.html").is_file():
            return candidate
    raise FileNotFoundError("the web dashboard files (dashboards/web/index.html) are not installed")


@dataclass
class WebDashboardServer:
    """Static server for the dashboard plus a generated ``config.json`` (broker websocket URL, topics)."""

    config: dict[str, Any]
    host: str = "127.0.0.1"
    port: int = 0
    root: Path | None = None

    def __post_init__(self) -> None:
        self._root = (self.root or dashboard_dir()).resolve()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("web dashboard on %s", self.url)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def serve(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        finally:
            await self.close()

    def _resolve(self, raw_path: str) -> tuple[int, bytes, str]:
        path = unquote(urlsplit(raw_path).path)
        if path in ("", "/"):
            path = "/index.html"
        if path == "/config.json":
            return 200, json.dumps(self.config).encode(), "application/json"
        target = (self._root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self._root) or not target.is_file():
            return 404, b"not found\n", "text/plain"
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return 200, target.read_bytes(), ctype

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), timeout=10)
            while (await asyncio.wait_for(reader.readline(), timeout=10)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed for static files
            parts = request.decode("latin-1").split()
            if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                status, body, ctype = 405, b"method not allowed\n", "text/plain"
            else:
                status, body, ctype = self._resolve(parts[1])
            reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + (body if parts[:1] != ["HEAD"] else b""))
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
