"""fleetbot's benchmark: the old sequential pattern against the real runner.

    python bench/run.py [--quick] [--json] [--accounts N] [--no-bot] [--plot PATH]

Starts the demo site (150 ms latency) and warms N demo accounts (40, or 12 with --quick)
for 3 s each: once the old way (bench/baseline.py), then through fleetbot's Runner at
concurrency 1, 2, 4, 8, 16 and "auto" (--quick: 1, 4, 8 and auto), each in a fresh data
dir. Prints a table on stderr, the JSON document on stdout with --json, and saves a plot
(docs/bench.png). Then, when the bot exists, measures how fast `fleetbot serve` answers
/status during a warmup (bench/botreply.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: make the project importable

from automation.sites.demo.server import DemoSite  # noqa: E402
from automation.sites.demo.state import DemoSiteOptions  # noqa: E402
from bench.baseline import run_baseline  # noqa: E402
from bench.botreply import bot_reply_times, missing_prerequisite  # noqa: E402
from bench.fleet import Concurrency, run_fleetbot  # noqa: E402
from bench.measure import measured  # noqa: E402
from bench.report import conclusions, p95, plot, table  # noqa: E402

LATENCY_MS = 150
DURATION_S = 3.0
FULL: tuple[Concurrency, ...] = (1, 2, 4, 8, 16, "auto")
QUICK: tuple[Concurrency, ...] = (1, 4, 8, "auto")


def log(text: str) -> None:
    """Progress and the table go to stderr, so --json keeps stdout clean."""
    print(text, file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    """Measure the baseline, every setting and the bot; the whole JSON document."""
    count = args.accounts or (12 if args.quick else 40)
    settings = QUICK if args.quick else FULL
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
        "machine": {"cpus": os.cpu_count(), "load_avg_start": _load()},
    }
    with tempfile.TemporaryDirectory(prefix="fleetbot-bench-") as tmp:
        async with DemoSite(options) as site:
            log(f"baseline: {count} accounts one by one, a new browser each")
            async with measured(count) as figures:
                outcomes = await run_baseline(site.url, users, DURATION_S, Path(tmp) / "base")
            doc["baseline"] = figures.summary() | {"succeeded": outcomes.count("succeeded")}
            doc["runs"] = []
            for setting in settings:
                log(f"fleetbot: concurrency {setting}")
                data_dir = Path(tmp) / f"c{setting}"
                doc["runs"].append(
                    await run_fleetbot(site.url, users, setting, DURATION_S, data_dir)
                )
            doc["bot_reply_p95_ms"] = await _bot_reply(args, site.url, users, Path(tmp), doc)
    doc["machine"]["load_avg_end"] = _load()
    doc |= conclusions(doc["baseline"], doc["runs"])
    return doc


async def _bot_reply(
    args: argparse.Namespace, site_url: str, users: list[str], tmp: Path, doc: dict[str, Any]
) -> float | None:
    """bot_reply_p95_ms, or None (with a note) when it cannot be measured here."""
    if args.no_bot:
        log("bot: skipped (--no-bot); bot_reply_p95_ms is null")
        return None
    if missing := missing_prerequisite():
        log(f"bot: skipped, {missing}; bot_reply_p95_ms is null")
        return None
    log("bot: /status replies during a warmup")
    times = await bot_reply_times(site_url, users, tmp / "bot")
    doc["bot_reply_ms"] = [round(t, 1) for t in times]
    return p95(times)


def cli() -> None:
    """Parse the arguments, run, report."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 accounts, fewer settings")
    parser.add_argument("--json", action="store_true", help="print the JSON document on stdout")
    parser.add_argument("--accounts", type=int, help="override the number of accounts")
    parser.add_argument("--no-bot", action="store_true", help="skip the /status measurement")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "bench.png")
    args = parser.parse_args()
    doc = asyncio.run(main(args))
    log(table(doc))
    plot(doc, args.plot)
    log(f"plot: {args.plot}")
    if args.json:
        print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    cli()
