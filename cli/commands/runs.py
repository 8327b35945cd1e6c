"""``fleetbot run warmup|upload`` and ``fleetbot runs list|show|resume|cancel|trace``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from automation.artifacts import unseal
from automation.presence import levels_for_run, live_runners
from automation.runs import Requester, RunService
from automation.summary import RunSummary, summary_text
from bot.config import Settings
from cli.commands import SubParsers
from cli.engine import drive_run
from cli.output import print_json, print_table, say, warn, when
from storage.db import open_database
from storage.models import RunItem, RunStatus, Trigger

# A runner whose heartbeat is older than this many leases is not listed as live.
STALE_LEASES = 3
SELECTOR_HELP = "all (default), a label, a comma list of labels, or #tag"


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the run and runs commands."""
    run = sub.add_parser(
        "run", help="run a warmup or an upload in the foreground", parents=[common]
    )
    kinds = run.add_subparsers(dest="kind", metavar="KIND", required=True)

    warmup = kinds.add_parser("warmup", help="browse each account's feed", parents=[common])
    warmup.add_argument("selector", nargs="?", default="all", help=SELECTOR_HELP)
    warmup.add_argument(
        "--duration", type=float, metavar="SECONDS", help="default: automation.warmup_duration_s"
    )
    warmup.add_argument("--json", action="store_true", help="print the summary as JSON")
    warmup.set_defaults(func=warmup_command)

    upload = kinds.add_parser("upload", help="post videos from each account", parents=[common])
    upload.add_argument("selector", nargs="?", default="all", help=SELECTOR_HELP)
    upload.add_argument(
        "--video",
        action="append",
        type=Path,
        required=True,
        metavar="PATH",
        help="an MP4 or WebM file; repeat for several (posted in this order)",
    )
    upload.add_argument("--caption", help="caption for every post (default: the video's)")
    upload.add_argument(
        "--spread", action="store_true", help="give each video to one account, round-robin"
    )
    upload.add_argument("--json", action="store_true", help="print the summary as JSON")
    upload.set_defaults(func=upload_command)

    runs = sub.add_parser("runs", help="inspect and steer runs", parents=[common])
    actions = runs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="recent runs", parents=[common])
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_command)
    for name, func, text in (
        ("show", show_command, "one run with every item"),
        ("resume", resume_command, "finish a run that was interrupted"),
        ("cancel", cancel_command, "cancel what has not run yet"),
    ):
        action = actions.add_parser(name, help=text, parents=[common])
        action.add_argument("run_id", type=int, metavar="ID")
        action.add_argument("--json", action="store_true")
        action.set_defaults(func=func)
    trace = actions.add_parser(
        "trace",
        help="decrypt a failed item's Playwright trace",
        parents=[common],
        description='Traces (automation.trace = "on-failure") are stored encrypted because '
        "they hold what the browser typed and sent: passwords, cookies. This writes one "
        "decrypted copy (mode 0600) for `playwright show-trace`; delete it when done.",
    )
    trace.add_argument("run_id", type=int, metavar="ID")
    trace.add_argument("--account", metavar="LABEL", help="whose trace, if several failed")
    trace.add_argument("--out", type=Path, metavar="PATH", help="default: ./trace-ID-LABEL.zip")
    trace.set_defaults(func=trace_command)


def print_summary(summary: RunSummary, as_json: bool) -> None:
    """A run summary as JSON or text."""
    if as_json:
        print_json(summary.to_json())
    else:
        say(summary_text(summary))


async def warmup_command(settings: Settings, args: argparse.Namespace) -> int:
    """Create a warmup run and drive it to the end."""
    duration = settings.automation.warmup_duration_s if args.duration is None else args.duration
    if duration < 0:
        warn("--duration must be 0 or more seconds")
        return 1
    async with open_database(settings.storage, settings.secret_key) as db:
        runs = RunService(settings.storage.data_dir)
        run = await runs.create_warmup(
            args.selector, duration_s=duration, requester=Requester(Trigger.CLI)
        )
        warn(f"run #{run.id}: warmup of {args.selector} for {duration:g}s")
        print_summary(await drive_run(settings, db, run.id), args.json)
    return 0


async def upload_command(settings: Settings, args: argparse.Namespace) -> int:
    """Store the videos, create an upload run and drive it to the end."""
    async with open_database(settings.storage, settings.secret_key) as db:
        runs = RunService(settings.storage.data_dir)
        videos = [await runs.store_video(path, caption=args.caption or "") for path in args.video]
        run = await runs.create_upload(
            args.selector,
            videos,
            caption=args.caption,
            spread=args.spread,
            requester=Requester(Trigger.CLI),
        )
        warn(f"run #{run.id}: upload of {len(videos)} video(s) to {args.selector}")
        print_summary(await drive_run(settings, db, run.id), args.json)
    return 0


async def list_command(settings: Settings, args: argparse.Namespace) -> int:
    """Recent runs, newest first."""
    async with open_database(settings.storage, settings.secret_key):
        summaries = await RunService(settings.storage.data_dir).recent(args.limit)
    if args.json:
        print_json({"runs": [s.to_json() for s in summaries]})
        return 0
    print_table(
        ["id", "kind", "trigger", "status", "ok", "failed", "total", "created"],
        [
            (
                s.run_id,
                s.kind,
                s.trigger,
                s.status,
                s.counts["succeeded"],
                s.counts["failed"],
                s.total,
                when(s.created_at),
            )
            for s in summaries
        ],
    )
    return 0


async def show_command(settings: Settings, args: argparse.Namespace) -> int:
    """One run and its items."""
    async with open_database(settings.storage, settings.secret_key):
        summary = await RunService(settings.storage.data_dir).summary(args.run_id)
        levels = await levels_for_run(args.run_id)
        runners = await live_runners(stale_after_s=STALE_LEASES * settings.automation.lease_s)
    if args.json:
        print_json(summary.to_json())
        return 0
    say(summary_text(summary).splitlines()[0])
    for level in levels:  # runners driving this run right now, as they published it
        say(level.describe())
    say("live runners: " + ("; ".join(r.describe() for r in runners) or "none"))
    print_table(
        ["account", "video", "status", "attempts", "error / result"],
        [
            (
                i.account,
                i.video,
                i.status,
                i.attempts,
                i.error or (i.result or {}).get("post_url") or "",
            )
            for i in summary.items
        ],
    )
    return 0


async def resume_command(settings: Settings, args: argparse.Namespace) -> int:
    """Continue a run whose foreground process stopped or died."""
    async with open_database(settings.storage, settings.secret_key) as db:
        runs = RunService(settings.storage.data_dir)
        run = await runs.reopen(args.run_id)
        if RunStatus(run.status).is_final:
            warn(f"run #{run.id} already finished ({run.status}); nothing to resume")
            print_summary(await runs.summary(run.id), args.json)
            return 0
        print_summary(await drive_run(settings, db, run.id), args.json)
    return 0


async def cancel_command(settings: Settings, args: argparse.Namespace) -> int:
    """Cancel a run's pending items; running ones stop when their runner notices."""
    async with open_database(settings.storage, settings.secret_key):
        summary = await RunService(settings.storage.data_dir).cancel(args.run_id)
    print_summary(summary, args.json)
    return 0


async def trace_command(settings: Settings, args: argparse.Namespace) -> int:
    """Write a decrypted copy of one failed item's trace."""
    async with open_database(settings.storage, settings.secret_key) as db:
        query = RunItem.filter(run_id=args.run_id, trace_path__isnull=False)
        if args.account:
            query = query.filter(account__label=args.account)
        items = await query.order_by("-id").prefetch_related("account")
        labels = sorted({item.account.label for item in items})
        if not items:
            warn(
                f"run #{args.run_id} has no stored trace"
                + (f" for {args.account}" if args.account else "")
                + " (automation.trace)"
            )
            return 1
        if len(labels) > 1:
            warn(f"run #{args.run_id} has traces of {', '.join(labels)}: pick one with --account")
            return 1
        item = items[0]
        out = args.out or Path(f"trace-{args.run_id}-{item.account.label}.zip")
        sealed = Path(str(item.trace_path))
        try:
            await asyncio.to_thread(unseal, sealed, db.secrets, out)
        except OSError as exc:
            warn(f"cannot read {sealed.name}: {exc.strerror}")
            return 1
    say(
        f"wrote {out}; open it with `playwright show-trace {out}`. It holds what the browser "
        "typed and sent (passwords, cookies): delete it when done."
    )
    return 0
