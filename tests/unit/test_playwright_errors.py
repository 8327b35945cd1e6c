"""The one map from Playwright's errors to ours."""

from __future__ import annotations

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from automation.errors import BrowserCrashed, SiteError, TransientSiteError
from automation.sites.playwright_errors import map_playwright_error, playwright_errors


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (
            PlaywrightTimeoutError("Page.goto: Timeout 15000ms exceeded.\nCall log:\n x"),
            TransientSiteError,
            "demo: timed out while opening (Page.goto: Timeout 15000ms exceeded.)",
        ),
        (
            PlaywrightError("Page.click: Target page, context or browser has been closed"),
            BrowserCrashed,
            "demo: the browser went away while opening",
        ),
        (
            PlaywrightError("Page.goto: Target crashed"),
            BrowserCrashed,
            "demo: the browser went away while opening",
        ),
        (
            PlaywrightError("Browser.new_context: Browser has disconnected"),
            BrowserCrashed,
            "demo: the browser went away while opening",
        ),
        (
            PlaywrightError("Page.goto: net::ERR_CONNECTION_REFUSED at http://x/feed"),
            TransientSiteError,
            "demo: network error net::ERR_CONNECTION_REFUSED while opening",
        ),
        (
            PlaywrightError("Locator.fill: Error: strict mode violation\nCall log: pw"),
            TransientSiteError,
            "demo: browser error while opening: Locator.fill: Error: strict mode violation",
        ),
    ],
)
def test_each_case_maps_to_one_error_with_one_message(
    exc: PlaywrightError, kind: type[SiteError], text: str
) -> None:
    mapped = map_playwright_error(exc, "demo", "opening")
    assert type(mapped) is kind
    assert str(mapped) == text


def test_the_call_log_never_reaches_the_message_or_the_chain() -> None:
    typed = "hunter2-typed-password"
    with pytest.raises(TransientSiteError) as caught, playwright_errors("demo", "logging in"):
        raise PlaywrightError(f'Locator.fill: boom\nCall log:\n  - fill("{typed}")')
    assert typed not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), playwright_errors("demo", "x"):
        raise KeyError("not Playwright's")
