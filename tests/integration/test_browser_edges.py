"""The browser's edges: proxies really used, and a remote Playwright browser server."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from automation.accounts import AccountRow, AccountService, parse_proxy
from automation.browser import BrowserPool
from automation.chromium import find_chromium
from automation.config import AutomationConfig
from automation.runs import Requester
from storage.models import RunStatus, Trigger
from tests.helpers import RecordingReporter
from tests.integration.conftest import Engine

CLI = Requester(Trigger.CLI)


class RecordingProxy:
    """A small forward HTTP proxy on 127.0.0.1 that demands Basic auth and logs requests."""

    def __init__(self, username: str, password: str) -> None:
        self._expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.seen: list[str] = []
        self.refused = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> RecordingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._one_request(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        method, target, _version = (await reader.readline()).decode().split()
        headers: list[tuple[str, str]] = []
        while (line := (await reader.readline()).decode().rstrip("\r\n")) != "":
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        lowered = {name.lower(): value for name, value in headers}
        body = await reader.readexactly(int(lowered.get("content-length", "0")))
        if lowered.get("proxy-authorization") != self._expected:
            self.refused += 1
            writer.write(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n'
                b"Connection: close\r\n\r\n"
            )
            await writer.drain()
            return
        self.seen.append(f"{method} {target}")
        url = urlsplit(target)
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port or 80)
        path = url.path + (f"?{url.query}" if url.query else "")
        forwarded = [
            f"{name}: {value}"
            for name, value in headers
            if not name.lower().startswith("proxy-") and name.lower() != "connection"
        ]
        head = "\r\n".join([f"{method} {path or '/'} HTTP/1.1", *forwarded, "Connection: close"])
        up_writer.write(head.encode() + b"\r\n\r\n" + body)
        await up_writer.drain()
        writer.write(await up_reader.read())
        await writer.drain()
        up_writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[RecordingProxy]:
    async with RecordingProxy("proxyuser", "proxy-pass") as server:
        yield server


async def test_account_proxy_carries_its_traffic(engine: Engine, proxy: RecordingProxy) -> None:
    service = AccountService(engine.db.secrets)
    spec = parse_proxy(f"http://proxyuser:proxy-pass@127.0.0.1:{proxy.port}")
    await service.import_rows(
        [
            AccountRow("viaproxy", "demo", "demo1", "pw-demo1", spec),
            AccountRow("direct", "demo", "demo2", "pw-demo2"),
        ]
    )
    run = await engine.runs.create_warmup("viaproxy", duration_s=0, requester=CLI)
    await engine.drive(run.id)
    assert (await engine.runs.summary(run.id)).status == RunStatus.SUCCEEDED
    site = engine.site_url
    assert f"GET {site}/login" in proxy.seen
    assert f"POST {site}/login" in proxy.seen
    through_proxy = len(proxy.seen)

    direct = await engine.runs.create_warmup("direct", duration_s=0, requester=CLI)
    await engine.drive(direct.id)
    assert (await engine.runs.summary(direct.id)).status == RunStatus.SUCCEEDED
    assert len(proxy.seen) == through_proxy  # the other account did not use it


async def test_remote_browser_server(engine: Engine, tmp_path: Path) -> None:
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "playwright"),
        "run-server",
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        "--unsafe",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # the CLI wraps a node process: stop the whole group
    )
    try:
        assert server.stdout is not None
        async with asyncio.timeout(30):
            line = (await server.stdout.readline()).decode()
        match = re.search(r"ws://127\.0\.0\.1:\d+/", line)
        assert match, line
        await engine.add_demo_accounts(2)
        run = await engine.runs.create_warmup("all", duration_s=0, requester=CLI)
        pool = await engine.drive(
            run.id, connect_url=match.group(0), executable_path="/usr/bin/chromium"
        )
        assert (await engine.runs.summary(run.id)).status == RunStatus.SUCCEEDED
        assert pool.executable is None  # nothing was launched locally
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        await server.wait()


async def start_browser_server(port: int) -> asyncio.subprocess.Process:
    """`playwright run-server` on a given loopback port, answering once it listens."""
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "playwright"),
        "run-server",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--unsafe",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # the CLI wraps a node process: stop the whole group
    )
    assert server.stdout is not None
    async with asyncio.timeout(30):
        line = (await server.stdout.readline()).decode()
    assert f"127.0.0.1:{port}" in line, line
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("outage_s", [5, 45])
async def test_items_outlast_a_browser_server_outage(engine: Engine, outage_s: float) -> None:
    """The server dies mid-run and comes back: items wait for it, uncounted, and succeed."""
    port = free_port()
    server = await start_browser_server(port)
    await engine.add_demo_accounts(4)
    run = await engine.runs.create_warmup("all", duration_s=2, requester=CLI)
    reporter = RecordingReporter()

    async def outage(_pool: BrowserPool) -> None:
        nonlocal server
        async with asyncio.timeout(60):
            await reporter.running.wait()
        os.killpg(server.pid, signal.SIGKILL)
        await server.wait()
        await asyncio.sleep(outage_s)  # the outage itself: nothing to wait for
        server = await start_browser_server(port)

    try:
        await engine.drive(
            run.id,
            reporter=reporter,
            on_pool=outage,
            connect_url=f"ws://127.0.0.1:{port}/",
            executable_path=find_chromium(AutomationConfig(), None),  # on the server's side
            concurrency=2,
            max_attempts=2,
        )
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        await server.wait()
    summary = await engine.runs.summary(run.id)
    assert [i.status for i in summary.items] == ["succeeded"] * 4, summary.items
    # Only attempts that reached a browser count: at most the one the kill cut short.
    assert all(i.attempts <= 2 for i in summary.items)
