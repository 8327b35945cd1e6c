"""What the browser gives away beyond the page: its real address, this process's secrets."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from automation.browser import BrowserPool
from automation.chromium import BASE_ARGS, WEBRTC_ARGS, find_chromium
from automation.config import AutomationConfig

# Gathers ICE candidates against one STUN server; resolves when gathering ends.
GATHER_JS = """async (port) => {
  const pc = new RTCPeerConnection({iceServers: [{urls: `stun:127.0.0.1:${port}`}]});
  pc.createDataChannel('probe');
  const done = new Promise(resolve => {
    pc.onicegatheringstatechange = () => {
      if (pc.iceGatheringState === 'complete') resolve();
    };
    setTimeout(resolve, 8000);
  });
  await pc.setLocalDescription(await pc.createOffer());
  await done;
  pc.close();
}"""


class StunCounter(asyncio.DatagramProtocol):
    """A UDP socket on 127.0.0.1 that counts what arrives (STUN binding requests)."""

    def __init__(self) -> None:
        self.packets = 0

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.packets += 1


@asynccontextmanager
async def stun_listener() -> AsyncIterator[tuple[StunCounter, int]]:
    loop = asyncio.get_running_loop()
    transport, counter = await loop.create_datagram_endpoint(
        StunCounter, local_addr=("127.0.0.1", 0)
    )
    try:
        yield counter, int(transport.get_extra_info("sockname")[1])
    finally:
        transport.close()


async def stun_packets(page: Page) -> int:
    async with stun_listener() as (counter, port):
        await page.evaluate(GATHER_JS, port)
        return counter.packets


# Full Chromium, and what fleetbot launches headless (a headless shell where there is one):
# they read different WebRTC flags.
BROWSERS = sorted(
    {path for path in (shutil.which("chromium"), find_chromium(AutomationConfig(), None)) if path}
)


@pytest.mark.parametrize("executable", BROWSERS, ids=[Path(b).name for b in BROWSERS])
async def test_webrtc_sends_nothing_around_the_proxy(executable: str) -> None:
    # The probe itself works: a browser without the policy does reach the STUN listener.
    async with async_playwright() as pw:
        bare = await pw.chromium.launch(
            executable_path=executable,
            args=[a for a in BASE_ARGS if a not in WEBRTC_ARGS] + ["--no-sandbox"],
        )
        try:
            assert await stun_packets(await bare.new_page()) > 0
        finally:
            await bare.close()
    config = AutomationConfig(executable_path=executable, browser_nice=0)
    async with BrowserPool(config) as pool, pool.context() as ctx:
        assert await stun_packets(await ctx.new_page()) == 0
