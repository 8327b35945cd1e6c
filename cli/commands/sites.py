"""``fleetbot sites check SITE --account LABEL [--video FILE] [--json]``: a read-only probe."""

from __future__ import annotations

import argparse
from pathlib import Path

from automation.browser import BrowserPool
from automation.errors import FleetbotError, SiteError
from automation.site_check import PROBED_SITES, SiteChecker
from bot.config import Settings
from cli.commands import SubParsers
from cli.output import print_json, say
from storage.db import open_database


def register(sub: SubParsers, common: argparse.ArgumentParser) -> None:
    """Add the sites commands."""
    sites = sub.add_parser("sites", help="probe the sites fleetbot drives", parents=[common])
    actions = sites.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser(
        "check",
        help="read-only probe of a live site's selectors with one account's session",
        parents=[common],
        description="Opens the site with the account's session and proxy, says whether it "
        "is logged in, then lists each selector as found or missing with the config key "
        "that overrides it. Never posts. Run it before the first upload and after a failure.",
    )
    check.add_argument("site", choices=PROBED_SITES)
    check.add_argument("--account", required=True, metavar="LABEL")
    check.add_argument(
        "--video",
        type=Path,
        metavar="FILE",
        help="choose this file on the upload page so the form can be checked (never posted)",
    )
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=check_command)


async def check_command(settings: Settings, args: argparse.Namespace) -> int:
    """Probe one site; exit 0 when the probe ran, whatever it found."""
    if args.video is not None and not args.video.is_file():
        raise FleetbotError(f"{args.video}: no such file")
    async with (
        open_database(settings.storage, settings.secret_key) as db,
        BrowserPool(settings.automation) as pool,
    ):
        checker = SiteChecker(
            pool,
            settings.sites,
            db.secrets,
            navigation_timeout_s=settings.automation.navigation_timeout_s,
        )
        try:
            report = await checker.check(args.site, args.account, args.video)
        except SiteError as exc:
            raise FleetbotError(f"the check could not finish: {exc}") from None
    if args.json:
        print_json(report.to_json())
    else:
        for line in report.lines():
            say(line)
    return 0
