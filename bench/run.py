"""fleetbot's benchmark: the old sequential pattern against the real runner.

    python bench/run.py [--quick] [--json] [--accounts N] [--no-bot] [--plot PATH]
                        [--browser shell|full|PATH] [--settings 1,8,auto] [--hog N]
    python bench/run.py --scale [--sizes 10,100,1000] [--db sqlite|postgres]
                        [--reporter telegram|none] [--concurrency N] [--browser ...] [--json]

Starts the demo site (150 ms latency) and warms N demo accounts (40, or 12 with --quick)
for 3 s each: once the old way (bench/baseline.py), then through fleetbot's Runner at
concurrency 1, 2, 4, 8, 16, 24, 32 and "auto" (--quick: 1, 8, 16 and auto), each in a
fresh data dir. Prints a table on stderr, the JSON document on stdout with --json, and saves a plot
(docs/bench.png). Then, when the bot exists, measures how fast `fleetbot serve` answers
/status during a warmup (bench/botreply.py). Every row launches the same binary:
``--browser shell`` (the default: the headless shell fleetbot picks), ``full`` (the full
Chromium, Playwright's or the system's) or a path; the JSON and the table name it.

``--settings`` measures only the settings named; ``--hog N`` keeps N other processes
spinning on the CPU for the whole measurement (the machine shared with other work).

``--scale`` runs the cost-as-runs-grow scenario of bench/scale.py instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project importable

from automation.chromium import locate_chromium  # noqa: E402
from automation.config import AutomationConfig  # noqa: E402
from automation.errors import BrowserNotFound  # noqa: E402
from automation.sites.demo.server import DemoSite  # noqa: E402
from automation.sites.demo.state import DemoSiteOptions  # noqa: E402
from bench.baseline import run_baseline  # noqa: E402
from bench.botreply import bot_reply_times, missing_prerequisite  # noqa: E402
from bench.fleet import Concurrency, run_fleetbot  # noqa: E402
from bench.measure import measured  # noqa: E402
from bench.report import conclusions, p95, plot, table  # noqa: E402
from bench.scale import CONCURRENCY, SIZES, run_scale, scale_table  # noqa: E402

LATENCY_MS = 150
DURATION_S = 3.0
FULL: tuple[Concurrency, ...] = (1, 2, 4, 8, 16, 24, 32, "auto")
QUICK: tuple[Concurrency, ...] = (1, 8, 16, "auto")


def log(text: str) -> None:
    """Progress and the table go to stderr, so --json keeps stdout clean."""
    print(text, file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def browser_config(choice: str) -> AutomationConfig:
    """The config every row launches with: ``shell``, ``full`` or a path, resolved to a path."""
    if choice in ("shell", "full"):
        wanted = AutomationConfig(headless=choice == "shell")
    else:
        wanted = AutomationConfig(executable_path=choice)
    try:
        # The recorded figures (docs/PERFORMANCE.md) ran Chromium in the idle class.
        return AutomationConfig(executable_path=await locate_chromium(wanted), browser_idle=True)
    except BrowserNotFound as exc:
        raise SystemExit(f"--browser {choice}: {exc}") from None


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the baseline, every setting and the bot; the whole JSON document."""
    config = await browser_config(args.browser)
    log(f"browser: {config.executable_path}")
    if args.scale:
        with tempfile.TemporaryDirectory(prefix="fleetbot-scale-") as tmp:
            return await run_scale(
                args.sizes,
                db=args.db,
                reporter=args.reporter,
                automation=config.model_copy(update={"concurrency": args.concurrency}),
                tmp=Path(tmp),
            )
    count = args.accounts or (12 if args.quick else 40)
    settings = args.settings or (QUICK if args.quick else FULL)
    if args.quick:
        log(f"--quick: {count} accounts and concurrency {', '.join(map(str, settings))} only")
    users = [f"demo{k}" for k in range(1, count + 1)]
    options = DemoSiteOptions(users=count, latency_ms=LATENCY_MS, seed=1, processing_s=0.5)
    doc: dict[str, Any] = {
        "accounts": count,
        "quick": bool(args.quick),
        "settings": list(settings),
        "duration_s": DURATION_S,
        "latency_ms": LATENCY_MS,
        "executable": config.executable_path,
        "machine": {"cpus": os.cpu_count(), "load_avg_start": _load(), "hogs": args.hog},
    }
    with tempfile.TemporaryDirectory(prefix="fleetbot-bench-") as tmp:
        async with DemoSite(options) as site, cpu_hogs(args.hog):
            log(f"baseline: {count} accounts one by one, a new browser each")
            async with measured(count) as figures:
                outcomes = await run_baseline(
                    site.url, users, DURATION_S, Path(tmp) / "base", config
                )
            doc["baseline"] = figures.summary() | {
                "succeeded": outcomes.count("succeeded"),
                "executable": config.executable_path,
            }
            doc["runs"] = []
            for setting in settings:
                log(f"fleetbot: concurrency {setting}")
                data_dir = Path(tmp) / f"c{setting}"
                doc["runs"].append(
                    await run_fleetbot(
                        site.url, users, setting, DURATION_S, data_dir, config=config
                    )
                )
            doc |= conclusions(doc["baseline"], doc["runs"], os.cpu_count() or 1)
            doc["bot_reply_p95_ms"] = await _bot_reply(
                args, site.url, users, Path(tmp), doc, executable=config.executable_path
            )
    doc["machine"]["load_avg_end"] = _load()
    return doc


async def _bot_reply(
    args: argparse.Namespace,
    site_url: str,
    users: list[str],
    tmp: Path,
    doc: dict[str, Any],
    *,
    executable: str | None,
) -> float | None:
    """bot_reply_p95_ms, or None (with a note) when it cannot be measured here."""
    if args.no_bot:
        log("bot: skipped (--no-bot); bot_reply_p95_ms is null")
        return None
    if missing := missing_prerequisite():
        log(f"bot: skipped, {missing}; bot_reply_p95_ms is null")
        return None
    best = doc["best_concurrency"]
    log(f"bot: /status replies during a warmup at the best setting ({best})")
    assert executable is not None  # browser_config always resolves a path
    times = await bot_reply_times(site_url, users, tmp / "bot", executable, best)
    doc["bot_concurrency"] = best
    doc["bot_reply_ms"] = [round(t, 1) for t in times]
    return p95(times)


@contextlib.asynccontextmanager
async def cpu_hogs(count: int) -> AsyncIterator[None]:
    """Keep ``count`` processes spinning on the CPU (at the default priority) meanwhile.

    They are started through a shell that exits at once, so they are not under this
    process and their CPU is not counted as fleetbot's.
    """
    if count:
        log(f"--hog: {count} process(es) spinning on the CPU throughout")
    pids = []
    for _ in range(count):
        shell = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            '"$0" -c "while True: pass" >/dev/null 2>&1 & echo $!',
            sys.executable,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await shell.communicate()
        pids.append(int(out))
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _settings(text: str) -> tuple[Concurrency, ...]:
    try:
        return tuple("auto" if part == "auto" else int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("settings are numbers or auto, e.g. 8,16,auto") from None


def _sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes are positive numbers, e.g. 10,100,1000")
    return sizes


def cli() -> None:
    """Parse the arguments, run, report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 accounts, fewer settings")
    parser.add_argument("--json", action="store_true", help="print the JSON document on stdout")
    parser.add_argument("--accounts", type=int, help="override the number of accounts")
    parser.add_argument("--no-bot", action="store_true", help="skip the /status measurement")
    parser.add_argument(
        "--settings", type=_settings, metavar="1,8,auto", help="measure only these settings"
    )
    parser.add_argument(
        "--hog", type=int, default=0, metavar="N", help="N processes spinning on the CPU"
    )
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "bench.png")
    parser.add_argument(
        "--browser",
        default="shell",
        metavar="shell|full|PATH",
        help="the binary every row launches (default: the headless shell)",
    )
    scale = parser.add_argument_group("--scale: cost per item as runs grow")
    scale.add_argument("--scale", action="store_true", help="run the scale scenario instead")
    scale.add_argument(
        "--sizes",
        type=_sizes,
        default=list(SIZES),
        metavar="10,100,1000",
        help="run sizes, smallest first (default: 10,100,1000)",
    )
    scale.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    scale.add_argument("--reporter", choices=("telegram", "none"), default="telegram")
    scale.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    doc = asyncio.run(main(args))
    if args.scale:
        log(scale_table(doc))
    else:
        log(table(doc))
        plot(doc, args.plot)
        log(f"plot: {args.plot}")
    if args.json:
        print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    cli()
