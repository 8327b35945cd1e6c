"""What one production-shaped item costs: a long warmup and a large upload, measured.

    python bench/capacity.py [--accounts 4] [--warmup-s 60] [--video-mb 50] [--json]

Starts the demo site (150 ms latency) and drives, through the real runner (the one runner
factory, ``automation.engine.runner_engine``) at concurrency = accounts:

1. a warmup of every account for ``--warmup-s`` seconds;
2. an upload of one ``--video-mb`` MB video by every account.

For each it reports CPU-seconds per item (this process and every process under it:
Chromium, Playwright's driver), peak PSS of that tree, and wall time. docs/CAPACITY.md
turns these figures into items per worker per day.
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

from automation.accounts import AccountRow, AccountService  # noqa: E402
from automation.chromium import locate_chromium  # noqa: E402
from automation.config import AutomationConfig, DemoSiteConfig, SitesConfig  # noqa: E402
from automation.engine import runner_engine  # noqa: E402
from automation.runs import Requester, RunService  # noqa: E402
from automation.sites.demo.samples import sample_video_bytes  # noqa: E402
from automation.sites.demo.server import DemoSite  # noqa: E402
from automation.sites.demo.state import DemoSiteOptions  # noqa: E402
from bench.measure import measured  # noqa: E402
from storage.config import StorageConfig  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ItemStatus, Trigger  # noqa: E402

LATENCY_MS = 150


async def measure(accounts: int, warmup_s: float, video_mb: float) -> dict[str, Any]:
    """Both scenarios in a fresh data dir; the figures as one JSON-able dict."""
    users = [f"demo{k}" for k in range(1, accounts + 1)]
    options = DemoSiteOptions(users=accounts, latency_ms=LATENCY_MS, seed=1, processing_s=0.5)
    doc: dict[str, Any] = {"accounts": accounts, "load_before": list(os.getloadavg())}
    with tempfile.TemporaryDirectory(prefix="fleetbot-capacity-") as tmp:
        data_dir = Path(tmp) / "data"
        video = Path(tmp) / "video.mp4"
        video.write_bytes(sample_video_bytes(1, int(video_mb * 1_000_000)))
        async with DemoSite(options) as site, Database(StorageConfig(data_dir=data_dir)) as db:
            await AccountService(db.secrets).import_rows(
                [AccountRow(u, "demo", u, f"pw-{u}") for u in users]
            )
            runs = RunService(data_dir)
            config = AutomationConfig(concurrency=accounts, item_timeout_s=3600)
            sites = SitesConfig(demo=DemoSiteConfig(base_url=site.url))
            cli = Requester(Trigger.CLI)
            doc["browser"] = await locate_chromium(config)
            warmup = await runs.create_warmup("all", duration_s=warmup_s, requester=cli)
            stored = await runs.store_video(video, caption="capacity")
            upload = await runs.create_upload("all", [stored], requester=cli)
            for name, run in (("warmup", warmup), ("upload", upload)):
                async with (
                    measured(accounts) as figures,
                    runner_engine(
                        config=config, sites=sites, data_dir=data_dir, secrets=db.secrets
                    ) as runner,
                ):
                    await runner.run_until_settled(run.id)
                summary = await runs.summary(run.id)
                doc[name] = figures.summary() | {
                    "succeeded": summary.counts[ItemStatus.SUCCEEDED],
                    "item_seconds": warmup_s if name == "warmup" else None,
                    "video_mb": video_mb if name == "upload" else None,
                }
    doc["load_after"] = list(os.getloadavg())
    return doc


def main() -> None:
    """Parse, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--warmup-s", type=float, default=60)
    parser.add_argument("--video-mb", type=float, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    doc = asyncio.run(measure(args.accounts, args.warmup_s, args.video_mb))
    if args.json:
        print(json.dumps(doc, indent=2))
        return
    print(f"browser: {doc['browser']}; load {doc['load_before']} -> {doc['load_after']}")
    for name in ("warmup", "upload"):
        row = doc[name]
        print(
            f"{name}: {row['succeeded']}/{doc['accounts']} ok, "
            f"{row['cpu_s_per_account']} CPU-s/item, peak PSS {row['pss_mb_peak']} MB, "
            f"{row['wall_s']} s wall, loop lag p99 {row['loop_lag_p99_ms']} ms"
        )


if __name__ == "__main__":
    main()
