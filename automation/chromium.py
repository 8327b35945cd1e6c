"""Which Chromium to launch, with which flags, and how to tell its processes apart.

Headless work prefers a headless shell (Playwright's own, else Debian's): it costs about a
third of the CPU of the full browser per page. Headed work (a visible login window) needs
the full Chromium. ``automation.executable_path`` always wins.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import psutil
from playwright.async_api import async_playwright

from automation.config import AutomationConfig
from automation.errors import BrowserNotFound

# Flags that keep Chromium quiet on machines without internet and in containers, and
# keep WebRTC from sending UDP (STUN) straight out past the account's proxy, which shows
# every site the machine's real address behind every account. Full Chromium reads the
# first WebRTC flag, chromium-headless-shell only the second (measured: 6 STUN packets
# to 0 with the flag it reads, 6 with the other one alone).
WEBRTC_ARGS = (
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
BASE_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    *WEBRTC_ARGS,
)
SECRET_ENV_PREFIX = "FLEETBOT_"
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
HEADLESS_SHELL = "chromium-headless-shell"
# Debian's /usr/bin/chromium-headless-shell is a shell script that runs this binary without
# exec, leaving a shell between Playwright and the browser: launch the binary itself.
DEBIAN_HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"
INSTALL_HELP = (
    "no Chromium found: set automation.executable_path, or install one with "
    "`playwright install chromium` (or, on Debian/Ubuntu, "
    "`apt-get install chromium chromium-headless-shell`)"
)


def launch_args(config: AutomationConfig) -> list[str]:
    """Chromium's command-line flags for this config."""
    args = [*BASE_ARGS, *config.browser_args]
    if is_root() and "--no-sandbox" not in args:
        args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return args


def is_root() -> bool:
    """Whether this process runs as root (then Chromium cannot use its sandbox)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def sandbox_warning(config: AutomationConfig, *, root: bool) -> str | None:
    """What to tell the operator when Chromium must run without its sandbox, else None."""
    if not root or config.connect_url:
        return None
    return (
        "fleetbot runs as root, so Chromium runs without its sandbox (--no-sandbox): a page "
        "that exploits the browser gets root on this machine. Run fleetbot as an "
        "unprivileged user (e.g. `useradd --system fleetbot` and a systemd User=fleetbot)"
    )


def child_environment() -> dict[str, str | float | bool]:
    """This process's environment without fleetbot's own variables (the key, the token).

    Chromium and its renderers run pages from the internet; nothing they could read about
    their own process should hold a secret.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith(SECRET_ENV_PREFIX)}


def find_chromium(config: AutomationConfig, playwright_path: str | None) -> str:
    """The browser to launch: config, else the lightest Chromium that can do the job.

    Headless launches prefer a headless shell (Playwright's own, else the system's): it
    costs about a third of the CPU of the full browser per page. Headed work (a visible
    login window) needs the full Chromium: Playwright's own, else one on PATH.
    """
    if config.executable_path:
        if not Path(config.executable_path).is_file():
            raise BrowserNotFound(
                f"automation.executable_path = {config.executable_path!r} does not exist"
            )
        return config.executable_path
    candidates: list[str | None] = []
    if config.headless:
        candidates += playwright_headless_shells(playwright_path)
        candidates += [DEBIAN_HEADLESS_SHELL, shutil.which(HEADLESS_SHELL)]
    candidates.append(playwright_path)
    candidates += [shutil.which(name) for name in SYSTEM_BROWSERS]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise BrowserNotFound(INSTALL_HELP)


def playwright_headless_shells(playwright_path: str | None) -> list[str]:
    """Playwright's downloaded headless shells next to its Chromium, newest first."""
    if not playwright_path:
        return []
    # <browsers>/chromium-REV/chrome-linux64/chrome -> <browsers>
    browsers = Path(playwright_path).parent.parent.parent
    found = [
        *browsers.glob("chromium_headless_shell-*/chrome-headless-shell-*/chrome-headless-shell"),
        *browsers.glob("chromium_headless_shell-*/chrome-linux/headless_shell"),
    ]
    return [str(path) for path in sorted(found, reverse=True)]


def is_browser_process(name: str) -> bool:
    """Whether a process name is a Chromium, Chrome or headless-shell process."""
    lowered = name.lower()
    return "chrom" in lowered or "headless_shell" in lowered


def lower_browser_priority(niceness: int, *, idle: bool) -> int:
    """Lower the CPU priority of this process's Chromium and Playwright driver processes.

    On a small machine busy pages would otherwise starve the event loop that runs the bot,
    the scheduler and the runner. Chromium's processes get ``niceness`` and, with ``idle``
    on Linux, the SCHED_IDLE class: they run on CPU time no ordinary process wants, so a
    waking event loop never queues behind a renderer (Chromium raises its GPU process to
    nice -8 on its own, which niceness alone cannot undo). Linux keeps both per thread, so
    every thread is changed; threads and renderers started later inherit them. Playwright's
    driver only gets ``niceness``: it relays every call and must keep up. Returns how many
    processes were changed.
    """
    changed = 0
    for _ in range(3):  # again while a pass changed something: a thread may have spawned more
        before = changed
        for proc in psutil.Process().children(recursive=True):
            try:
                if is_browser_process(proc.name()):
                    changed += _lower(proc, niceness, idle=idle)
                elif "run-driver" in proc.cmdline():
                    changed += _lower(proc, niceness, idle=False)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        if changed == before:
            break
    return changed


def _lower(proc: psutil.Process, niceness: int, *, idle: bool) -> bool:
    """Lower every thread of proc (Linux keeps priority and class per thread)."""
    changed = False
    threads = [t.id for t in proc.threads()] if sys.platform == "linux" else [proc.pid]
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
                changed = True
            if idle and sys.platform == "linux" and os.sched_getscheduler(tid) != os.SCHED_IDLE:
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
                changed = True
        except ProcessLookupError:
            continue  # the thread ended meanwhile
    return changed


async def locate_chromium(config: AutomationConfig) -> str:
    """Find the browser a launch would use, without launching it."""
    async with async_playwright() as playwright:
        return await asyncio.to_thread(find_chromium, config, playwright.chromium.executable_path)
