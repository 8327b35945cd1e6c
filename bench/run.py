"""fleetbot's benchmark: the old sequential pattern against the real runner.

    python bench/run.py [--quick] [--json] [--accounts N] [--no-bot]

Starts the demo site (150 ms latency), warms N demo accounts (40, or 12 with --quick) for
3 s each: once the old way (bench/baseline.py), then through fleetbot's Runner at several
concurrency settings and "auto", each in a fresh data dir. Prints a table on stderr (and
the JSON document on stdout with --json), and saves docs/bench.png. Then measures how fast
`fleetbot serve` answers /status (through tests/fake_telegram.py) during a warmup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automation.accounts import AccountRow, AccountService  # noqa: E402
from automation.config import AutomationConfig, DemoSiteConfig, SitesConfig  # noqa: E402
from automation.reporting import NoOperator, NullReporter  # noqa: E402
from automation.runs import Requester, RunService  # noqa: E402
from automation.sites.demo.server import DemoSite  # noqa: E402
from automation.sites.demo.state import DemoSiteOptions  # noqa: E402
from bench.baseline import run_baseline  # noqa: E402
from bench.botreply import bot_reply_times  # noqa: E402
from bench.measure import Figures, measured  # noqa: E402
from bot.commands.engine import engine  # noqa: E402
from bot.config import Settings  # noqa: E402
from storage.config import StorageConfig  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ItemStatus, Trigger  # noqa: E402

LATENCY_MS = 150
DURATION_S = 3.0
FULL = (1, 2, 4, 8, 16, "auto")
QUICK = (1, 4, 8, "auto")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run_fleetbot(
    site_url: str, users: list[str], concurrency: int | str, data_dir: Path
) -> dict[str, Any]:
    """One warmup run of every user through the real runner, measured."""
    settings = Settings(
        storage=StorageConfig(data_dir=data_dir),
        automation=AutomationConfig(concurrency=concurrency, max_concurrency=16),  # type: ignore[arg-type]
        sites=SitesConfig(demo=DemoSiteConfig(base_url=site_url)),
    )
    async with Database(settings.storage) as db:
        await AccountService(db.secrets).import_rows(
            [AccountRow(u, "demo", u, f"pw-{u}") for u in users]
        )
        runs = RunService(data_dir)
        run = await runs.create_warmup(
            "all", duration_s=DURATION_S, requester=Requester(Trigger.CLI)
        )
        levels: list[int] = []
        async with (
            measured(len(users)) as figures,
            engine(settings, db, NullReporter(), NoOperator()) as runner,
        ):
            watcher = asyncio.create_task(_watch_level(runner, levels))
            await runner.run_until_settled(run.id)
            watcher.cancel()
        summary = await runs.summary(run.id)
    result = {"concurrency": concurrency, **_figures(figures)}
    result["succeeded"] = summary.counts[ItemStatus.SUCCEEDED]
    if concurrency == "auto":
        result["auto_levels"] = sorted(set(levels))
    return result


async def _watch_level(runner: Any, levels: list[int]) -> None:
    while True:
        levels.append(runner.concurrency)
        await asyncio.sleep(0.5)


def _figures(figures: Figures) -> dict[str, Any]:
    return dict(figures.summary())


def conclusions(baseline: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline ratios."""
    fixed = [r for r in runs if r["concurrency"] != "auto"]
    auto = next((r for r in runs if r["concurrency"] == "auto"), None)
    best = max(fixed, key=lambda r: r["accounts_per_min"])
    top = max(runs, key=lambda r: r["accounts_per_min"])
    slope = 0.0
    if len(fixed) >= 2:
        slope, _ = statistics.linear_regression(
            [float(r["concurrency"]) for r in fixed], [r["pss_mb_peak"] for r in fixed]
        )
    return {
        "speedup_vs_baseline": round(top["accounts_per_min"] / baseline["accounts_per_min"], 2),
        "best_fixed_concurrency": best["concurrency"],
        "auto_vs_best_fixed": (
            round(auto["accounts_per_min"] / best["accounts_per_min"], 2) if auto else None
        ),
        "mb_per_extra_account": round(slope, 1),
    }


def table(doc: dict[str, Any]) -> str:
    """The human-readable report."""
    rows = [("baseline", doc["baseline"])] + [(str(r["concurrency"]), r) for r in doc["runs"]]
    lines = [
        f"{'setting':>9} {'acc/min':>8} {'cpu s/acc':>9} {'PSS MB':>8} {'lag p99':>8} {'ok':>4}",
    ]
    for name, r in rows:
        lines.append(
            f"{name:>9} {r['accounts_per_min']:>8} {r['cpu_s_per_account']:>9} "
            f"{r['pss_mb_peak']:>8} {r['loop_lag_p99_ms']:>8} {r.get('succeeded', '-'):>4}"
        )
    for key in (
        "speedup_vs_baseline",
        "auto_vs_best_fixed",
        "mb_per_extra_account",
        "bot_reply_p95_ms",
    ):
        lines.append(f"{key}: {doc.get(key)}")
    return "\n".join(lines)


def plot(doc: dict[str, Any], path: Path) -> None:
    """Throughput and memory against concurrency."""
    import matplotlib  # noqa: PLC0415 - only the plot needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fixed = [r for r in doc["runs"] if r["concurrency"] != "auto"]
    xs = [r["concurrency"] for r in fixed]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(xs, [r["accounts_per_min"] for r in fixed], "o-", label="fleetbot")
    left.axhline(doc["baseline"]["accounts_per_min"], color="grey", ls="--", label="baseline")
    for r in doc["runs"]:
        if r["concurrency"] == "auto":
            left.axhline(r["accounts_per_min"], color="green", ls=":", label="auto")
    left.set(xlabel="concurrency", ylabel="accounts / minute", title="Throughput")
    left.legend()
    right.plot(xs, [r["pss_mb_peak"] for r in fixed], "o-", color="tab:red")
    right.set(xlabel="concurrency", ylabel="peak PSS (MB)", title="Memory")
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks(xs, [str(x) for x in xs])
    fig.suptitle(f"{doc['accounts']} accounts, {DURATION_S:.0f} s warmup, {LATENCY_MS} ms latency")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    count = args.accounts or (12 if args.quick else 40)
    settings = QUICK if args.quick else FULL
    users = [f"demo{k}" for k in range(1, count + 1)]
    options = DemoSiteOptions(users=count, latency_ms=LATENCY_MS, seed=1, processing_s=0.5)
    doc: dict[str, Any] = {"accounts": count, "settings": list(settings)}
    with tempfile.TemporaryDirectory(prefix="fleetbot-bench-") as tmp:
        async with DemoSite(options) as site:
            log(f"baseline: {count} accounts one by one, a browser each")
            async with measured(count) as figures:
                outcomes = await run_baseline(site.url, users, DURATION_S, Path(tmp) / "base")
            doc["baseline"] = _figures(figures) | {"succeeded": outcomes.count("succeeded")}
            doc["runs"] = []
            for setting in settings:
                log(f"fleetbot: concurrency {setting}")
                doc["runs"].append(
                    await run_fleetbot(site.url, users, setting, Path(tmp) / f"c{setting}")
                )
            if not args.no_bot:
                log("bot: /status replies during a warmup")
                times = await bot_reply_times(site.url, users, Path(tmp) / "bot")
                doc["bot_reply_ms"] = [round(t, 1) for t in times]
                doc["bot_reply_p95_ms"] = (
                    round(sorted(times)[int(len(times) * 0.95) - 1], 1) if times else None
                )
            else:
                doc["bot_reply_p95_ms"] = None
    doc |= conclusions(doc["baseline"], doc["runs"])
    return doc


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
