"""One Playwright and one Chromium per process, one fresh context per run item.

``BrowserPool`` is an async context manager. Every ``pool.context(...)`` gets a new
``BrowserContext`` with the account's proxy and saved session, and always closes it. The
browser is recycled, together with Playwright itself (whose connection keeps finished
route tasks alive, playwright-python#3121), after ``automation.recycle_after`` contexts,
and relaunched when it crashes or disconnects; items that were on a dead browser fail
with ``BrowserCrashed`` and are retried by the runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Self

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from automation.chromium import (
    child_environment,
    find_chromium,
    is_root,
    launch_args,
    lower_browser_priority,
    sandbox_warning,
)
from automation.config import AutomationConfig
from automation.errors import (
    BrowserCrashed,
    BrowserNotFound,
    BrowserUnavailable,
    SessionRejected,
)
from automation.sites.playwright_errors import first_line, map_playwright_error
from storage.closing import Closing

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 10.0
RELAUNCH_FIRST_S = 1.0
RELAUNCH_MAX_S = 30.0
SHUTDOWN_TIMEOUT_S = 20.0
# How often the priority of launched Chromium is checked again: Chromium starts processes
# and threads of its own (and sets some of their priorities) whenever it likes.
PRIORITY_EVERY_S = 5.0


@dataclass(frozen=True)
class ProxySettings:
    """A context's proxy; the password is decrypted only for the context's lifetime."""

    server: str
    username: str = ""
    password: str | None = field(default=None, repr=False)

    def for_playwright(self) -> dict[str, str]:
        """Playwright's proxy dict. ``<-loopback>`` stops Chromium bypassing it for 127.0.0.1."""
        proxy = {"server": self.server, "bypass": "<-loopback>"}
        if self.username:
            proxy["username"] = self.username
        if self.password:
            proxy["password"] = self.password
        return proxy


@dataclass(eq=False)
class _Generation:
    """One Playwright driver plus one browser; replaced whole on recycle or crash."""

    playwright: Playwright
    browser: Browser
    number: int
    opened: int = 0
    active: int = 0
    retiring: bool = False
    dead: bool = False
    closing: bool = False
    # One per context in use: fired when the browser dies, because Playwright can leave a
    # call on a dead browser (new_page, for one) waiting forever.
    watchdogs: set[asyncio.Timeout] = field(default_factory=set)


class BrowserPool(Closing):
    """Hands out fresh browser contexts and keeps one healthy browser behind them."""

    def __init__(self, config: AutomationConfig) -> None:
        self._config = config
        self._current: _Generation | None = None
        self._old: set[_Generation] = set()
        self._lock = asyncio.Lock()
        self._started = False
        self._closed = False
        self._generations = 0
        self.contexts_opened = 0
        self.executable: str | None = None
        self._down_until = 0.0  # loop time before which no relaunch is tried
        self._down_for = 0.0
        self._keeper: asyncio.Task[None] | None = None

    @property
    def stats(self) -> dict[str, Any]:
        """Numbers for /status and the benchmarks."""
        current = self._current
        return {
            "generation": self._generations,
            "contexts_opened": self.contexts_opened,
            "active_contexts": sum(g.active for g in self._all()),
            "browser_alive": bool(current and not current.dead),
            "executable": self.executable
            or ("remote" if self._config.connect_url else "not launched"),
        }

    def _all(self) -> list[_Generation]:
        return [*self._old, *([self._current] if self._current else [])]

    async def __aenter__(self) -> Self:
        if self._started:
            raise RuntimeError("browser pool already started")
        self._started = True
        if warning := sandbox_warning(self._config, root=is_root()):
            log.warning("%s", warning)
        try:
            async with self._lock:
                self._current = await self._launch()
        except BaseException:
            await self.close()
            raise
        if self._tunes_priority:
            self._keeper = asyncio.create_task(self._keep_priority(), name="browser-priority")
        return self

    async def close(self) -> None:
        """Close every browser and Playwright driver; safe to call twice."""
        self._closed = True
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        generations, self._current, self._old = self._all(), None, set()
        for gen in generations:
            await _shutdown(gen)

    async def _launch(self) -> _Generation:
        self._generations += 1
        playwright = await async_playwright().start()
        try:
            browser = await self._open_browser(playwright)
        except BaseException:
            await playwright.stop()
            raise
        gen = _Generation(playwright, browser, self._generations)
        browser.on("disconnected", lambda _browser: _mark_dead(gen))
        log.info("browser %d ready (%s)", gen.number, self.executable or "remote")
        return gen

    async def _open_browser(self, playwright: Playwright) -> Browser:
        config = self._config
        if config.connect_url:
            options: dict[str, Any] = {"headless": config.headless, "args": launch_args(config)}
            if config.executable_path:  # a path on the browser server's machine
                options["executablePath"] = config.executable_path
            try:
                return await playwright.chromium.connect(
                    config.connect_url,
                    headers={"x-playwright-launch-options": json.dumps(options)},
                )
            except PlaywrightError as exc:
                raise BrowserNotFound(
                    f"cannot connect to the browser server at {config.connect_url}: "
                    f"{first_line(exc)}"
                ) from None
        self.executable = await asyncio.to_thread(
            find_chromium, config, playwright.chromium.executable_path
        )
        try:
            browser = await playwright.chromium.launch(
                executable_path=self.executable,
                headless=config.headless,
                args=launch_args(config),
                env=child_environment(),
            )
        except PlaywrightError as exc:
            raise BrowserNotFound(f"cannot start {self.executable}: {first_line(exc)}") from None
        await self._lower_priority()
        return browser

    async def _keep_priority(self) -> None:
        while True:
            await asyncio.sleep(PRIORITY_EVERY_S)
            try:
                await self._lower_priority()
            except OSError as exc:  # /proc went odd; the next pass tries again
                log.debug("could not lower the browser's priority: %s", exc)

    @property
    def _tunes_priority(self) -> bool:
        """Whether launched browsers yield the CPU to the event loop (never remote ones)."""
        config = self._config
        return not config.connect_url and bool(config.browser_nice or config.browser_idle)

    async def _lower_priority(self) -> None:
        """See ``lower_browser_priority``."""
        if self._tunes_priority:
            config = self._config
            await asyncio.to_thread(
                lower_browser_priority, config.browser_nice, idle=config.browser_idle
            )

    async def _acquire(self) -> _Generation:
        async with self._lock:
            if self._closed:
                raise BrowserCrashed("browser pool is closed")
            gen = self._current
            if gen is None or gen.dead or gen.retiring:
                if gen is not None:
                    self._retire(gen)
                gen = self._current = await self._relaunch()
            gen.opened += 1
            gen.active += 1
            self.contexts_opened += 1
            if gen.opened >= self._config.recycle_after:
                gen.retiring = True
            return gen

    async def _relaunch(self) -> _Generation:
        """A new browser for items, backing off while none can be had (a browser server
        that is down): meanwhile items fail fast with BrowserUnavailable, uncounted."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._down_until:
            raise BrowserUnavailable(
                f"no browser yet (next try in {self._down_until - loop.time():.0f}s)"
            )
        try:
            gen = await self._launch()
        except BrowserNotFound as exc:
            self._down_for = min(RELAUNCH_MAX_S, self._down_for * 2 or RELAUNCH_FIRST_S)
            self._down_until = loop.time() + self._down_for
            log.warning("%s; trying again in %.0fs", exc, self._down_for)
            raise BrowserUnavailable(str(exc)) from None
        self._down_for = 0.0
        return gen

    def _retire(self, gen: _Generation) -> None:
        self._old.add(gen)
        if self._current is gen:
            self._current = None

    async def _release(self, gen: _Generation) -> None:
        gen.active -= 1
        if gen.active == 0 and (gen.retiring or gen.dead):
            async with self._lock:
                self._retire(gen)
                self._old.discard(gen)
            await _shutdown(gen)

    async def _new_context(
        self,
        gen: _Generation,
        watchdog: asyncio.Timeout,
        proxy: ProxySettings | None,
        storage_state: dict[str, Any] | None,
    ) -> BrowserContext:
        try:
            ctx = await gen.browser.new_context(
                proxy=proxy.for_playwright() if proxy else None,  # type: ignore[arg-type]
                storage_state=storage_state,  # type: ignore[arg-type]
                viewport={"width": 1280, "height": 900},
            )
        except PlaywrightError as exc:
            gen.watchdogs.discard(watchdog)  # the error says it already: no cancel on top
            gone = isinstance(map_playwright_error(exc, "browser", "opening"), BrowserCrashed)
            if gen.browser.is_connected() and not gen.dead and not gone:
                # A live browser refused this context: the account's saved session (or
                # proxy) is malformed. That is the item's problem, not the browser's, and
                # retrying it would fail the same way. Playwright's text names the bad
                # field; it could quote a value, so it goes to the debug log only.
                log.debug("browser %d refused a context: %s", gen.number, first_line(exc))
                raise SessionRejected(
                    "the browser refused this account's saved session or proxy settings; "
                    "import a fresh session for it"
                ) from None
            _mark_dead(gen)
            raise BrowserCrashed(f"browser {gen.number} could not open a context") from None
        ctx.set_default_timeout(self._config.navigation_timeout_s * 1000)
        if gen.opened == 1:
            # Chromium starts its GPU and network processes after the launch returns and
            # sets their priority itself: catch them once they exist.
            await self._lower_priority()
        return ctx

    @contextlib.asynccontextmanager
    async def context(
        self,
        *,
        proxy: ProxySettings | None = None,
        storage_state: dict[str, Any] | None = None,
    ) -> AsyncIterator[BrowserContext]:
        """A new context for one item, closed on exit whatever happened.

        If the browser dies while the item uses it, whatever the item is awaiting is
        interrupted and the item gets ``BrowserCrashed``, instead of waiting on a call that
        Playwright may never answer.
        """
        gen = await self._acquire()
        watchdog = asyncio.timeout(None)
        ctx: BrowserContext | None = None
        try:
            try:
                async with watchdog:
                    gen.watchdogs.add(watchdog)
                    if gen.dead:  # died between acquiring it and now
                        watchdog.reschedule(asyncio.get_running_loop().time())
                    ctx = await self._new_context(gen, watchdog, proxy, storage_state)
                    yield ctx
            except TimeoutError:
                if not watchdog.expired():
                    raise
                raise BrowserCrashed(f"browser {gen.number} went away during the item") from None
            finally:
                gen.watchdogs.discard(watchdog)
                if ctx is not None:
                    await _close_context(ctx)
                # Playwright's own list, not our counter: what the soak test checks for leaks.
                log.debug(
                    "context closed; browser %d has %d open",
                    gen.number,
                    len(gen.browser.contexts),
                )
        finally:
            await self._release(gen)


def _mark_dead(gen: _Generation) -> None:
    if not gen.dead and not gen.closing:
        log.warning("browser %d disconnected", gen.number)
    gen.dead = True
    if gen.closing:
        return
    now = asyncio.get_running_loop().time()
    for watchdog in list(gen.watchdogs):
        with contextlib.suppress(RuntimeError):  # its block has just ended
            watchdog.reschedule(now)


async def _close_context(ctx: BrowserContext) -> None:
    """Close a context; on a dead browser this can hang, so it is bounded."""
    with contextlib.suppress(PlaywrightError, TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ctx.close()


async def _shutdown(gen: _Generation) -> None:
    gen.closing = True
    try:
        async with asyncio.timeout(SHUTDOWN_TIMEOUT_S):
            with contextlib.suppress(PlaywrightError):
                await gen.browser.close()
            with contextlib.suppress(PlaywrightError, OSError):
                await gen.playwright.stop()
    except TimeoutError:
        log.warning("browser %d did not close within %.0fs", gen.number, SHUTDOWN_TIMEOUT_S)
        return
    log.info("browser %d closed after %d contexts", gen.number, gen.opened)
