"""``fleetbot videos list|add|remove``: the upload queue that upload schedules post from."""

from __future__ import annotations

import argparse
from pathlib import Path

from automation.runs import RunService
from automation.videoqueue import VideoQueue
from bot.config import Settings
from cli.commands import SubParsers
from cli.output import print_json, print_table, say
from storage.db import open_database


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the videos commands."""
    videos = sub.add_parser("videos", help="the upload queue", parents=[common])
    actions = videos.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="queued videos in posting order", parents=[common])
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=list_videos)
    add = actions.add_parser("add", help="queue video files", parents=[common])
    add.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    add.add_argument("--caption", default="")
    add.set_defaults(func=add_videos)
    remove = actions.add_parser("remove", help="take a video out of the queue", parents=[common])
    remove.add_argument("video_id", type=int, metavar="ID")
    remove.set_defaults(func=remove_video)


async def list_videos(settings: Settings, args: argparse.Namespace) -> int:
    """The upload queue."""
    async with open_database(settings.storage, settings.secret_key):
        videos = await VideoQueue(RunService(settings.storage.data_dir)).queued()
    rows = [
        {
            "id": v.id,
            "position": v.queue_position,
            "name": v.original_name,
            "size": v.size,
            "sha256": v.sha256,
            "caption": v.caption,
        }
        for v in videos
    ]
    if args.json:
        print_json({"videos": rows})
    elif not rows:
        say("the upload queue is empty")
    else:
        print_table(
            ["id", "#", "name", "MB", "caption"],
            [
                (r["id"], r["position"], r["name"], f"{v.size / 2**20:.1f}", v.caption[:40])
                for r, v in zip(rows, videos, strict=True)
            ],
        )
    return 0


async def add_videos(settings: Settings, args: argparse.Namespace) -> int:
    """Store and queue files, in the order given."""
    async with open_database(settings.storage, settings.secret_key):
        queue = VideoQueue(RunService(settings.storage.data_dir))
        for path in args.paths:
            video = await queue.add_file(path, args.caption)
            say(f"queued #{video.id} {video.original_name} at position {video.queue_position}")
    return 0


async def remove_video(settings: Settings, args: argparse.Namespace) -> int:
    """Take a video out of the queue."""
    async with open_database(settings.storage, settings.secret_key):
        video = await VideoQueue(RunService(settings.storage.data_dir)).remove(args.video_id)
    say(f"removed #{video.id} {video.original_name} from the queue")
    return 0
