"""fleetbot's exceptions: one tree per package, mapped from libraries where they enter.

The runner decides what to do with a failed item from these types alone. Every error
fleetbot raises on purpose, wherever it is defined::

    FleetbotError                          automation/errors.py unless named
    ├── SelectorError                      an account selector that selects nothing usable
    ├── RunError                           no run with that id, or nothing in it to act on
    ├── VideoError                         a video that cannot be used (missing, wrong type)
    ├── BrowserNotFound                    no Chromium to launch; the message says how to get one
    ├── AccountError                       automation/accounts.py: an account change refused
    │   └── CsvImportError                 an accounts CSV with invalid rows; nothing imported
    ├── ScheduleError                      automation/schedules.py: a schedule that cannot be used
    ├── FileTooBig                         bot/media.py: a Telegram file over the download limit
    ├── StartupError                       bot/app.py: `fleetbot serve` cannot start
    └── SiteError                          driving a site failed for one item
        ├── TransientSiteError             worth retrying with backoff: timeouts, network, 5xx
        │   ├── BrowserCrashed             the browser or its connection went away mid-item
        │   ├── BrowserUnavailable         no browser could be (re)started: not an attempt
        │   └── ItemTimeout                the item ran past automation.item_timeout_s
        └── PermanentSiteError             retrying cannot help; fail the item at once
            ├── LoginRequired              bad credentials or no way to log in -> needs_login
            ├── SessionRejected            the browser refused the saved session -> needs_login
            ├── VerificationRequired       a human was asked and none answered -> needs_attention
            ├── AccountBlocked             the site says the account cannot act -> needs_attention
            ├── UploadRejected             the site refused the file or the post
            ├── RateLimited                "too many attempts": the account rests (cooldown.py)
            └── SiteChanged                a selector the adapter needs is gone (a redesign)

    StorageError                           storage/errors.py: the database cannot be used
    ├── SecretKeyError                     missing, malformed or wrong encryption key
    └── ServeLocked                        another `fleetbot serve` holds this database

    ConfigError                            bot/config.py: config.toml or FLEETBOT_* unusable
    UsageError (ValueError)                bot/parsing.py: a chat command's arguments
    SessionFileError (ValueError)          automation/session_files.py: an unreadable session

Playwright's errors become ``SiteError``s in one place, ``automation/sites/playwright_errors``;
the database driver's errors are caught as ``storage.health.STORAGE_ERRORS`` and retried.

Chaining rule: raise ``from None`` when the cause could carry a secret or only repeats
what our message says (a Playwright call log holds typed values, a driver error can hold a
connection URL with its password, a decryption error concerns a key); raise ``from exc``
only when the cause is our own code's error or a library error known to hold no input, and
the traceback helps whoever debugs it. Messages never carry secrets: they describe what
happened, not what was typed.
"""

from __future__ import annotations


class FleetbotError(Exception):
    """Base of every error fleetbot raises on purpose."""


class SelectorError(FleetbotError):
    """An account selector matched nothing or named an unknown account."""


class RunError(FleetbotError):
    """A run cannot be acted on as asked: no run has that id, or nothing in it fits."""


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


class BrowserUnavailable(TransientSiteError):
    """No browser could be launched or reached for the item (a browser server is down).

    The item never reached the site, so the attempt is not counted: it waits and comes
    back however long the outage lasts.
    """


class ItemTimeout(TransientSiteError):
    """The item ran past its deadline."""

    @classmethod
    def after(cls, seconds: float) -> ItemTimeout:
        """The error for an item stopped by its deadline of ``seconds``."""
        return cls(f"item took longer than {seconds:.0f}s")


class PermanentSiteError(SiteError):
    """A failure that retrying cannot fix: the item fails at its first occurrence."""


class LoginRequired(PermanentSiteError):
    """The session is gone and logging in with the stored credentials did not work."""

    health = "needs_login"


class SessionRejected(PermanentSiteError):
    """The browser refused the account's saved session (malformed storage state)."""

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
