"""``fleetbot demo`` (the whole flow against the bundled site) and ``fleetbot demo-site``."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from automation.accounts import AccountRow, AccountService
from automation.config import DemoSiteConfig, SitesConfig
from automation.runs import Requester, RunService
from automation.sites.demo.samples import write_sample_videos
from automation.sites.demo.server import DemoSite, serve_forever
from automation.sites.demo.state import DemoSiteOptions
from automation.summary import RunSummary, summary_text
from bot.config import Settings
from cli.commands import SubParsers
from cli.engine import foreground
from cli.output import print_json, say, warn
from storage.config import StorageConfig
from storage.db import Database
from storage.models import Trigger


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add demo and demo-site."""
    demo = sub.add_parser(
        "demo",
        help="run a warmup and an upload against the bundled demo site",
        parents=[common],
        description="Starts the demo site on a free loopback port, seeds N accounts and a "
        "sample video in a throwaway data dir, runs a warmup then an upload with live "
        "progress, and prints both summaries. Needs no Telegram token.",
    )
    demo.add_argument("--accounts", type=int, default=3, metavar="N", help="default 3")
    demo.add_argument(
        "--duration", type=float, default=3.0, metavar="SECONDS", help="warmup length (3)"
    )
    demo.add_argument("--json", action="store_true", help='print {"runs": [warmup, upload]}')
    demo.add_argument("--keep", action="store_true", help="keep the throwaway data dir")
    demo.set_defaults(func=demo_command)

    site = sub.add_parser(
        "demo-site",
        help="serve the bundled demo website",
        parents=[common],
        description="Users demo1..demoN, password pw-demoK for demoK. "
        "GET /api/posts?user=demoK and GET /api/last-code?user=demoK serve tests.",
    )
    site.add_argument("--host", default="127.0.0.1")
    site.add_argument("--port", type=int, default=8089)
    site.add_argument("--users", type=int, default=10)
    site.add_argument("--latency-ms", type=int, default=0)
    site.add_argument("--error-rate", type=float, default=0.0, metavar="P")
    site.add_argument("--session-ttl-s", type=float, default=3600)
    site.add_argument("--seed", type=int)
    site.add_argument("--verify-users", default="", metavar="demo3,demo7")
    site.set_defaults(func=demo_site_command)


def _site_options(args: argparse.Namespace) -> DemoSiteOptions:
    if args.users < 1 or not 0 <= args.error_rate <= 1 or args.latency_ms < 0:
        raise ValueError("--users must be >= 1, --error-rate within 0..1, --latency-ms >= 0")
    verify = frozenset(u.strip() for u in args.verify_users.split(",") if u.strip())
    return DemoSiteOptions(
        users=args.users,
        latency_ms=args.latency_ms,
        error_rate=args.error_rate,
        session_ttl_s=args.session_ttl_s,
        seed=args.seed,
        verify_users=verify,
    )


async def demo_site_command(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the demo website until interrupted."""
    try:
        options = _site_options(args)
    except ValueError as exc:
        warn(str(exc))
        return 1

    def ready(url: str) -> None:
        say(f"demo site on {url} (users demo1..demo{options.users}, password pw-demoK)")

    try:
        await serve_forever(options, host=args.host, port=args.port, on_ready=ready)
    except OSError as exc:
        warn(f"cannot listen on {args.host}:{args.port}: {exc.strerror}")
        return 1
    return 0


async def demo_command(settings: Settings, args: argparse.Namespace) -> int:
    """The whole flow on a throwaway data dir, against a demo site of its own."""
    if not 1 <= args.accounts <= 200 or args.duration < 0:
        warn("--accounts must be within 1..200 and --duration 0 or more")
        return 1
    tmp = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="fleetbot-demo-"))
    try:
        async with DemoSite(DemoSiteOptions(users=args.accounts, processing_s=0.5)) as site:
            demo = settings.model_copy(
                update={
                    "storage": StorageConfig(data_dir=tmp / "data"),
                    "sites": SitesConfig(demo=DemoSiteConfig(base_url=site.url)),
                }
            )
            warn(f"demo site on {site.url}, data in {tmp}")
            summaries = await _demo_runs(demo, args.accounts, args.duration, tmp)
    finally:
        if args.keep:
            warn(f"kept the demo data dir {tmp}")
        else:
            await asyncio.to_thread(shutil.rmtree, tmp, True)
    if args.json:
        print_json({"runs": [s.to_json() for s in summaries]})
    else:
        for summary in summaries:
            say(summary_text(summary))
    return 0


async def _demo_runs(
    settings: Settings, accounts: int, duration: float, tmp: Path
) -> list[RunSummary]:
    data_dir = settings.storage.data_dir
    async with Database(settings.storage) as db:
        await AccountService(db.secrets).import_rows(
            [
                AccountRow(f"demo{k}", "demo", f"demo{k}", f"pw-demo{k}", tags=("demo",))
                for k in range(1, accounts + 1)
            ]
        )
        runs = RunService(data_dir)
        [sample] = await asyncio.to_thread(write_sample_videos, tmp / "samples", 1)
        video = await runs.store_video(sample, caption="Posted by the fleetbot demo")
        requester = Requester(Trigger.CLI, requested_by="demo")
        async with foreground(settings, db) as drive:
            warmup = await runs.create_warmup("all", duration_s=duration, requester=requester)
            first = await drive(warmup.id)
            upload = await runs.create_upload("all", [video], requester=requester)
            second = await drive(upload.id)
    return [first, second]
