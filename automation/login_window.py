"""``fleetbot accounts login``: a visible browser where the human logs in by hand.

fleetbot never types a password for sites that gate their login behind captchas (TikTok).
Instead it opens a headed Chromium (with the account's proxy) at the site's login page,
waits until the site's session cookie appears, hands back the session and closes. The
caller stores it encrypted. It needs a display; without one it says so and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright

from automation.browser import ProxySettings
from automation.chromium import find_chromium, launch_args
from automation.config import AutomationConfig
from automation.errors import BrowserNotFound, FleetbotError
from automation.sites import LoginPage

POLL_S = 0.5
NO_DISPLAY = (
    "no display: `accounts login` opens a visible browser for you to log in, and neither "
    "DISPLAY nor WAYLAND_DISPLAY is set. Run it on a desktop (or over `ssh -X`), or export "
    "the site's cookies from a logged-in browser and use `fleetbot accounts set-session`"
)


class LoginAbandoned(FleetbotError):
    """The human closed the window or ran out of time before logging in."""


def has_display(env: dict[str, str] | None = None) -> bool:
    """Whether a headed browser has somewhere to show."""
    env = dict(os.environ) if env is None else env
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def headed_chromium(config: AutomationConfig) -> str:
    """A full Chromium (the headless shell cannot show a window)."""
    path = find_chromium(config.model_copy(update={"headless": False}), None)
    if "headless" in os.path.basename(path) or "headless_shell" in path:
        raise BrowserNotFound(
            f"{path} is a headless-only browser; set automation.executable_path to a full "
            "Chromium (e.g. /usr/bin/chromium) for `accounts login`"
        )
    return path


async def log_in_by_hand(
    target: LoginPage,
    config: AutomationConfig,
    proxy: ProxySettings | None,
    *,
    timeout_s: float,
    on_open: Callable[[str], None] = lambda _url: None,
) -> dict[str, Any]:
    """Open target in a visible browser; return the storage state once logged in."""
    if not has_display():
        raise FleetbotError(NO_DISPLAY)
    executable = headed_chromium(config)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=executable, headless=False, args=launch_args(config)
        )
        try:
            context = await browser.new_context(
                proxy=proxy.for_playwright() if proxy else None,  # type: ignore[arg-type]
                no_viewport=True,
            )
            page = await context.new_page()
            await page.goto(target.url, wait_until="domcontentloaded")
            on_open(target.url)
            deadline = time.monotonic() + timeout_s
            while not await _has_cookie(context.cookies, target):
                if page.is_closed():
                    raise LoginAbandoned("the browser window was closed before logging in")
                if time.monotonic() >= deadline:
                    raise LoginAbandoned(f"no login within {timeout_s:.0f}s; nothing was saved")
                await asyncio.sleep(POLL_S)  # the human is typing; no event says when done
            return dict(await context.storage_state())
        finally:
            with contextlib.suppress(PlaywrightError):
                await browser.close()


async def _has_cookie(cookies: Any, target: LoginPage) -> bool:
    try:
        jar = await cookies(target.url)
    except PlaywrightError as exc:  # the human closed the whole browser
        raise LoginAbandoned("the browser was closed before logging in") from exc
    return any(c.get("name") == target.session_cookie and c.get("value") for c in jar)
