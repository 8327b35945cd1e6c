"""Cost as runs grow: per-item Python CPU, SQL statements and loop lag at 10, 100, 1,000 items.

    python bench/run.py --scale [--sizes 10,100,1000] [--db sqlite|postgres]
                                [--reporter telegram|none] [--concurrency 4]

For every size: a fresh database (a data dir on SQLite; a database created for the bench,
and dropped after, on PostgreSQL), that many demo accounts, and one warmup run of 0 s per
account, driven to its end through ``automation.engine.runner_engine``. The demo site
(latency 0) runs in its own process, so its CPU is not counted. Measured only while the
run is driven (the browser is already up): the CPU time of this process
(``time.process_time``, every thread of it: the loop, aiosqlite's, to_thread's; Chromium
and Playwright's node driver are other processes), the statements Tortoise sent
(bench/statements.py) and the loop lag of a ticker task. Divided by the items, they should
not grow with the run: the ratio of the largest size to the smallest is held to 1.2.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from automation.accounts import AccountRow, AccountService
from automation.config import AutomationConfig, DemoSiteConfig, SitesConfig
from automation.engine import runner_engine
from automation.runs import Requester, RunService
from bench.measure import percentile, tick
from bench.progress import INCLUDED, ReporterKind, reporting
from bench.statements import counting_statements
from storage.config import StorageConfig
from storage.db import Database
from storage.models import ItemStatus, Trigger

DbKind = Literal["sqlite", "postgres"]
SIZES = (10, 100, 1000)
CONCURRENCY = 4
FLAT_WITHIN = 1.2
PER_ITEM = ("cpu_ms_per_item", "statements_per_item")
PG_URL = "postgres://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def demo_site_process(users: int, data_dir: Path) -> AsyncIterator[str]:
    """``fleetbot demo-site`` with no latency in a child process; yields its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLEETBOT_")}
    env |= {
        "FLEETBOT_CONFIG": str(ROOT / "config.toml"),
        "FLEETBOT_STORAGE__DATA_DIR": str(data_dir),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "cli", "demo-site", "--port", "0", "--users", str(users), "--latency-ms", "0"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            line = (await proc.stdout.readline()).decode()
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found is None:
            raise RuntimeError(f"the demo site did not start: {line!r}")
        yield found.group(0)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


@asynccontextmanager
async def fresh_storage(db: DbKind, data_dir: Path) -> AsyncIterator[StorageConfig]:
    """A storage section over an empty database of this kind, removed afterwards."""
    if db == "sqlite":
        yield StorageConfig(data_dir=data_dir)
        return
    import asyncpg  # noqa: PLC0415 - the postgres extra

    server = os.environ.get("FLEETBOT_TEST_PG_URL") or PG_URL
    name = f"fleetbot_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
            yield StorageConfig(data_dir=data_dir, db_url=url)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def measure_size(
    size: int,
    site_url: str,
    storage: StorageConfig,
    automation: AutomationConfig,
    reporter: ReporterKind,
) -> dict[str, Any]:
    """One warmup run of ``size`` accounts, measured while the runner drives it."""
    users = [f"demo{k}" for k in range(1, size + 1)]
    runs = RunService(storage.data_dir)
    async with Database(storage) as db:
        await AccountService(db.secrets).import_rows(
            [AccountRow(u, "demo", u, f"pw-{u}") for u in users]
        )
        run = await runs.create_warmup("all", duration_s=0.0, requester=Requester(Trigger.CLI))
        lags: list[float] = []
        async with (
            reporting(reporter, runs, run.id) as progress,
            runner_engine(
                config=automation,
                sites=SitesConfig(demo=DemoSiteConfig(base_url=site_url)),
                data_dir=storage.data_dir,
                secrets=db.secrets,
                reporter=progress.reporter,
            ) as runner,
        ):
            stop = asyncio.Event()
            ticker = asyncio.create_task(tick(lags, stop))
            with counting_statements() as statements:
                cpu, wall = time.process_time(), time.monotonic()
                await runner.run_until_settled(run.id)
                cpu, wall = time.process_time() - cpu, time.monotonic() - wall
            stop.set()
            await ticker
            edits = progress.edits
        summary = await runs.summary(run.id)
    return {
        "accounts": size,
        "succeeded": summary.counts[ItemStatus.SUCCEEDED],
        "wall_s": round(wall, 2),
        "items_per_min": round(size / wall * 60, 1),
        "cpu_s": round(cpu, 3),
        "statements": statements.count,
        "cpu_ms_per_item": round(cpu / size * 1000, 2),
        "statements_per_item": round(statements.count / size, 2),
        "loop_lag_p50_ms": round(percentile(lags, 0.5), 1),
        "loop_lag_p99_ms": round(percentile(lags, 0.99), 1),
        "progress_edits": edits,
    }


async def run_scale(
    sizes: list[int],
    *,
    db: DbKind,
    reporter: ReporterKind,
    automation: AutomationConfig,
    tmp: Path,
) -> dict[str, Any]:
    """Every size in turn against one demo site; the JSON document of the scenario."""
    doc: dict[str, Any] = {
        "scenario": "scale",
        "db": db,
        "reporter": INCLUDED[reporter],
        "concurrency": automation.concurrency,
        "executable": automation.executable_path,
        "warmup_duration_s": 0,
        "latency_ms": 0,
        "machine": {"cpus": os.cpu_count(), "load_avg_start": _load()},
        "sizes": [],
    }
    async with demo_site_process(max(sizes), tmp / "site") as site_url:
        for size in sizes:
            print(f"scale: {size} accounts ({db}, reporter {reporter})", file=sys.stderr)
            async with fresh_storage(db, tmp / f"n{size}") as storage:
                row = await measure_size(size, site_url, storage, automation, reporter)
            print(f"  {row}", file=sys.stderr)
            doc["sizes"].append(row)
    doc["machine"]["load_avg_end"] = _load()
    last = doc["sizes"][-1]
    # Against every smaller size: the smallest is the target's, but a fixed cost (the first
    # context, the final summary) weighs most there and can hide growth the middle shows.
    doc["ratios"] = {
        f"{last['accounts']}/{row['accounts']}": {key: _ratio(last, row, key) for key in PER_ITEM}
        for row in doc["sizes"][:-1]
    }
    for key in PER_ITEM:
        doc[f"{key}_ratio"] = _ratio(last, doc["sizes"][0], key)
    return doc


def _ratio(large: dict[str, Any], small: dict[str, Any], key: str) -> float | None:
    return round(large[key] / small[key], 2) if small[key] else None


def scale_table(doc: dict[str, Any]) -> str:
    """The scenario's figures as text; the ratios are of the largest size to the smallest."""
    machine = doc["machine"]
    lines = [
        f"scale on {doc['db']}, concurrency {doc['concurrency']}, 0 s warmups, latency 0, "
        f"browser {doc['executable']}",
        f"reporter: {doc['reporter']}",
        f"load average {machine['load_avg_start']} -> {machine['load_avg_end']} "
        f"on {machine['cpus']} CPUs",
        f"{'items':>6} {'ok':>5} {'wall s':>7} {'items/min':>9} {'CPU ms/item':>11} "
        f"{'stmts/item':>10} {'lag p50':>7} {'lag p99':>7} {'edits':>5}",
    ]
    for r in doc["sizes"]:
        lines.append(
            f"{r['accounts']:>6} {r['succeeded']:>5} {r['wall_s']:>7} {r['items_per_min']:>9} "
            f"{r['cpu_ms_per_item']:>11} {r['statements_per_item']:>10} "
            f"{r['loop_lag_p50_ms']:>7} {r['loop_lag_p99_ms']:>7} "
            f"{r['progress_edits'] if r['progress_edits'] is not None else '-':>5}"
        )
    for span, ratios in doc["ratios"].items():
        figures = ", ".join(f"{key} {value}" for key, value in ratios.items())
        lines.append(f"ratio {span}: {figures}  (target <= {FLAT_WITHIN} against the smallest)")
    return "\n".join(lines)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
