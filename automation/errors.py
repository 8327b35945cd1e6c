"""The automation package's exceptions, mapped from Playwright and network errors at the edge.

The runner decides what to do with a failed item from these types alone::

    FleetbotError
    ├── SelectorError              bad account selector (unknown label, empty tag); user input
    ├── VideoError                 a video file that cannot be used (missing, wrong type, too big)
    ├── BrowserNotFound            no Chromium to launch; the message says how to install one
    └── SiteError                  something went wrong while driving a site for one item
        ├── TransientSiteError     worth retrying with backoff: timeouts, network, 5xx
        │   ├── BrowserCrashed     the browser or its connection went away mid-item
        │   └── ItemTimeout        the item ran past automation.item_timeout_s
        └── PermanentSiteError     retrying cannot help; fail the item at once
            ├── LoginRequired          bad credentials or no way to log in  -> needs_login
            ├── VerificationRequired   the site asked a human and none answered -> needs_attention
            ├── AccountBlocked         the site says the account cannot act -> needs_attention
            ├── UploadRejected         the site refused the file or the post
            ├── RateLimited            the site says "too many attempts": cool the account down
            └── SiteChanged            a selector the adapter relies on is gone (a redesign)

Messages never carry secrets: adapters describe what happened, not what was typed.
"""

from __future__ import annotations


class FleetbotError(Exception):
    """Base of every error fleetbot raises on purpose."""


class SelectorError(FleetbotError):
    """An account selector matched nothing or named an unknown account."""


class VideoError(FleetbotError):
    """A video file cannot be used for an upload."""


class BrowserNotFound(FleetbotError):
    """No Chromium could be found or connected to."""


class SiteError(FleetbotError):
    """Driving a site failed for one item."""

    #: The account health this error implies, or None to leave health alone.
    health: str | None = None


class TransientSiteError(SiteError):
    """A failure that may pass: retried with backoff up to automation.max_attempts."""


class BrowserCrashed(TransientSiteError):
    """The browser, its context or the remote browser connection died mid-item."""


class ItemTimeout(TransientSiteError):
    """The item ran past its deadline."""


class PermanentSiteError(SiteError):
    """A failure that retrying cannot fix: the item fails at its first occurrence."""


class LoginRequired(PermanentSiteError):
    """The session is gone and logging in with the stored credentials did not work."""

    health = "needs_login"


class VerificationRequired(PermanentSiteError):
    """The site asked for a human (a code, a confirmation) and no answer came in time."""

    health = "needs_attention"


class AccountBlocked(PermanentSiteError):
    """The site says this account cannot do what was asked."""

    health = "needs_attention"


class UploadRejected(PermanentSiteError):
    """The site refused the uploaded file or the post."""


class RateLimited(PermanentSiteError):
    """The site refuses more attempts for now; the account rests for ``cooldown_s``.

    Retrying soon makes it worse (peers report that waiting hours is what works), so the
    item fails and ``automation.cooldown`` keeps the account out of runs until then.
    """

    def __init__(self, message: str, cooldown_s: float) -> None:
        super().__init__(message)
        self.cooldown_s = cooldown_s


class SiteChanged(PermanentSiteError):
    """An element the adapter needs is missing: the site's markup changed.

    Retrying cannot help; an operator overrides the selector in config (the message names
    the config key) after ``fleetbot sites check`` shows which one broke.
    """


def is_transient(exc: BaseException) -> bool:
    """Tell whether an item that failed with exc should be retried."""
    return isinstance(exc, TransientSiteError)
