"""The one map from Playwright's errors to fleetbot's, used by every adapter and the pool.

Playwright raises two types, ``TimeoutError`` and ``Error``, and says what happened in the
message. ``CASES`` reads them once, in order, the first match wins::

    Playwright type    message contains                  becomes
    TimeoutError       -                                 TransientSiteError "timed out while ..."
    Error              target closed, has been closed,   BrowserCrashed
                       browser has disconnected, crashed
    Error              net::ERR_*                        TransientSiteError "network error ..."
    Error              -                                 TransientSiteError "browser error ..."

Adapters wrap each step in ``playwright_errors(site, action)`` so the message names the step;
the runner wraps the whole item in the same map, so a Playwright error an adapter let through
means the same thing. Messages keep Playwright's first line only (it names the call, never a
typed value); the call log below it is dropped, and the error is raised ``from None`` so no
chained traceback carries it either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from automation.errors import BrowserCrashed, SiteError, TransientSiteError

NET_ERROR = re.compile(r"net::ERR_[A-Z_]+")
_CLOSED = re.compile(
    r"target closed|has been closed|browser closed|browser has disconnected|crashed",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Case:
    """One row of the map: a Playwright type, an optional message pattern, our error."""

    kind: type[PlaywrightError]
    pattern: re.Pattern[str] | None
    error: type[SiteError]
    template: str


CASES = (
    Case(PlaywrightTimeoutError, None, TransientSiteError, "timed out while {action} ({line})"),
    Case(PlaywrightError, _CLOSED, BrowserCrashed, "the browser went away while {action}"),
    Case(PlaywrightError, NET_ERROR, TransientSiteError, "network error {match} while {action}"),
    Case(PlaywrightError, None, TransientSiteError, "browser error while {action}: {line}"),
)


def first_line(exc: PlaywrightError) -> str:
    """Playwright's first message line ("Page.goto: Timeout 15000ms exceeded."), capped."""
    return exc.message.splitlines()[0][:200] if exc.message else type(exc).__name__


def map_playwright_error(exc: PlaywrightError, site: str, action: str) -> SiteError:
    """Our error for a Playwright error raised while ``site`` was doing ``action``."""
    text = str(exc)
    for case in CASES:
        if not isinstance(exc, case.kind):
            continue
        found = case.pattern.search(text) if case.pattern is not None else None
        if case.pattern is not None and found is None:
            continue
        message = case.template.format(
            action=action, line=first_line(exc), match=found.group() if found else ""
        )
        return case.error(f"{site}: {message}")
    raise AssertionError("the last case matches every Playwright error")  # pragma: no cover


@contextmanager
def playwright_errors(site: str, action: str) -> Iterator[None]:
    """Raise our error in place of any Playwright error inside the block."""
    try:
        yield
    except PlaywrightError as exc:
        raise map_playwright_error(exc, site, action) from None
