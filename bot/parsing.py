"""Parse command arguments; every failure is a UsageError the handler turns into a reply."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?$", re.IGNORECASE)
_UNITS = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
MAX_DURATION_S = 6 * 3600
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# At most nine digits: ids are 32-bit integer columns (Postgres refuses larger ones).
_ID = re.compile(r"#?[0-9]{1,9}")


class UsageError(ValueError):
    """Arguments that do not fit the command; ``key`` names the message to reply with."""

    def __init__(self, key: str, **args: object) -> None:
        super().__init__(key)
        self.key = key
        self.args_ = args


@dataclass(frozen=True)
class Usage:
    """A command's synopsis and an example, shown on bad input."""

    synopsis: str
    example: str


USAGE = {
    "warmup": Usage("/warmup [SELECTOR] [DURATION]", "/warmup #morning 5m"),
    "upload": Usage("/upload [SELECTOR] (caption of a video, or a reply to one)", "/upload all"),
    "run": Usage("/run ID", "/run 12"),
    "cancel": Usage("/cancel ID", "/cancel 12"),
    "retry": Usage("/retry ID", "/retry 12"),
    "schedule": Usage(
        "/schedule KIND WHEN [SELECTOR] [tz=ZONE] [per_run=N]",
        '/schedule upload "daily 18:00" #evening tz=Europe/Moscow per_run=1',
    ),
    "unschedule": Usage("/unschedule ID", "/unschedule 3"),
    "pause": Usage("/pause ID", "/pause 3"),
    "resume": Usage("/resume ID", "/resume 3"),
    "session": Usage("/session LABEL (caption of a cookies file)", "/session demo1"),
    "check": Usage("/check LABEL", "/check tt1"),
}


def split_args(text: str | None) -> list[str]:
    """The words after the command, honouring quotes; a stray quote is a usage error."""
    if not text:
        return []
    try:
        words = shlex.split(text)
    except ValueError:
        raise UsageError("unbalanced-quotes") from None
    return words[1:]


def parse_duration(text: str) -> float:
    """'90s', '5m', '1h' or plain seconds; at most six hours."""
    match = _DURATION.match(text.strip())
    if not match:
        raise UsageError("bad-duration", value=text[:40])
    seconds = float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]
    if seconds > MAX_DURATION_S:
        raise UsageError("bad-duration", value=text[:40])
    return seconds


def looks_like_duration(text: str) -> bool:
    """Whether a word is meant as a duration rather than a selector."""
    return bool(_DURATION.match(text.strip()))


def parse_run_id(args: list[str], command: str) -> int:
    """Exactly one positive run number."""
    return _one_id(args, command, "bad-run-id")


def parse_schedule_id(args: list[str], command: str) -> int:
    """Exactly one positive schedule number."""
    return _one_id(args, command, "bad-schedule-id")


def _one_id(args: list[str], command: str, bad_key: str) -> int:
    if len(args) != 1:
        raise UsageError("usage", command=command)
    if not is_id(args[0]):
        raise UsageError(bad_key, value=args[0][:40])
    return int(args[0].lstrip("#"))


def is_id(text: str) -> bool:
    """A row id, '12' or '#12', that int() reads and a 32-bit column holds.

    ASCII digits only: str.isdigit() is also true for '²', which int() refuses.
    """
    return bool(_ID.fullmatch(text))


def parse_warmup(args: list[str], default_duration_s: float) -> tuple[str, float]:
    """/warmup [SELECTOR] [DURATION] -> (selector, seconds)."""
    if len(args) > 2:
        raise UsageError("usage", command="warmup")
    selector, duration = "all", default_duration_s
    for word in args:
        if looks_like_duration(word):
            duration = parse_duration(word)
        elif selector == "all" and word:
            selector = word
        else:
            raise UsageError("usage", command="warmup")
    return selector, duration


def parse_selector(args: list[str], command: str) -> str:
    """An optional single selector (labels may be comma separated)."""
    if len(args) > 1:
        raise UsageError("usage", command=command)
    return args[0] if args else "all"


def safe_file_name(name: str | None, default: str = "file") -> str:
    """A file name that cannot leave its directory: no separators, NUL, dots-only or length."""
    cleaned = _SAFE_NAME.sub("_", (name or "").replace("\x00", ""))[-100:].strip("._")
    return cleaned or default
