"""Every session the import accepts is one Chromium accepts; the rest are refused clearly.

A stored session that ``new_context`` refuses fails every item of its account, far from
the import that caused it. Each case below is a file a user could send; the import must
either refuse it with a message (that never quotes a cookie value) or store a state a
real browser opens.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.async_api import Browser

from automation.session_files import SessionFileError, parse_session

VALUE = "cookie-SECRET-value"
GOOD = {
    "name": "sid",
    "value": VALUE,
    "domain": "example.com",
    "path": "/",
    "expires": -1,
    "httpOnly": False,
    "secure": False,
    "sameSite": "Lax",
}


def cookie(**changes: Any) -> dict[str, Any]:
    return {"cookies": [{**GOOD, **changes}], "origins": []}


def origin(entry: Any) -> dict[str, Any]:
    return {"cookies": [GOOD], "origins": [entry]}


CASES: dict[str, Any] = {
    "good": cookie(),
    "origin-not-an-object": origin("https://example.com"),
    "origin-without-local-storage": origin({"origin": "https://example.com"}),
    "origin-not-a-url": origin({"origin": "not a url", "localStorage": []}),
    "origin-ftp": origin({"origin": "ftp://example.com", "localStorage": []}),
    "origin-with-path": origin(
        {"origin": "https://example.com/x", "localStorage": [{"name": "a", "value": "b"}]}
    ),
    "local-storage-numbers": origin(
        {"origin": "https://example.com", "localStorage": [{"name": 1, "value": 2}]}
    ),
    "local-storage-no-value": origin(
        {"origin": "https://example.com", "localStorage": [{"name": "a"}]}
    ),
    "indexeddb-junk": origin(
        {"origin": "https://example.com", "localStorage": [], "indexedDB": "junk"}
    ),
    "name-with-semicolon": cookie(name="a;b"),
    "name-with-equals": cookie(name="a=b"),
    "value-with-semicolon": cookie(value=VALUE + ";x"),
    "value-with-tab": cookie(value=VALUE + "\tx"),
    "value-with-control": cookie(value=VALUE + "\x01"),
    "too-long": cookie(value=VALUE + "x" * 4096),
    "relative-path": cookie(path="abc"),
    "domain-only-dots": cookie(domain="."),
    "expires-negative": cookie(expires=-5),
    "expires-after-9999": cookie(expires=1e13),
    "expires-zero": cookie(expires=0),
    "host-prefix-with-domain": cookie(name="__Host-a", domain=".example.com", secure=True),
    "host-prefix-lower-case": cookie(name="__host-a", domain=".example.com", secure=True),
    "secure-prefix-insecure": cookie(name="__Secure-a"),
    "secure-prefix-secure": cookie(name="__Secure-a", secure=True),
    "same-site-none-insecure": cookie(sameSite="None"),
}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", list(CASES))
async def test_an_accepted_session_opens_in_chromium(browser: Browser, case: str) -> None:
    try:
        state = parse_session(json.dumps(CASES[case]).encode())
    except SessionFileError as exc:
        assert "SECRET" not in str(exc)
        assert str(exc).startswith(("cookie 1", "origin 1")), str(exc)
        return
    context = await browser.new_context(storage_state=state)  # type: ignore[arg-type]
    await context.close()


def test_what_the_browser_takes_is_not_refused() -> None:
    for case in ("good", "origin-with-path", "expires-zero", "same-site-none-insecure"):
        parse_session(json.dumps(CASES[case]).encode())
    state = parse_session(json.dumps(CASES["origin-with-path"]).encode())
    assert state["origins"] == [
        {"origin": "https://example.com", "localStorage": [{"name": "a", "value": "b"}]}
    ]


def test_a_cookies_txt_line_chromium_would_refuse_is_named() -> None:
    text = f"example.com\tFALSE\t/\tFALSE\t0\tsid\t{VALUE};x\n"
    with pytest.raises(SessionFileError, match=r"line 1: cookie 1: the value") as info:
        parse_session(text.encode())
    assert VALUE not in str(info.value)
