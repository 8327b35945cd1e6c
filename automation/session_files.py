"""Read a saved browser session in any of three formats into a Playwright storage_state.

Accepted: Playwright's own ``storage_state`` JSON, a JSON cookie list as browser
cookie-export extensions write it (Cookie-Editor, EditThisCookie), and a Netscape
``cookies.txt``. Errors name the line or entry at fault but never a cookie's value.

Everything is checked here, cookies and origins alike, against what Chromium accepts
(measured with ``new_context(storage_state=...)``): one stored session it refuses would
otherwise fail every item of that account, far from the import that caused it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

MAX_SESSION_BYTES = 5 * 1024 * 1024
MAX_COOKIE_BYTES = 4096  # name plus value, Chromium's limit
MAX_EXPIRES = 253402300799.0  # 9999-12-31T23:59:59Z; Chromium refuses later expiries
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f;=]")
_BAD_VALUE = re.compile(r"[\x00-\x1f\x7f;]")
_BAD_DOMAIN = re.compile(r"[\x00-\x20\x7f;/]")

StorageState = dict[str, Any]

_SAME_SITE = {
    "strict": "Strict",
    "lax": "Lax",
    "none": "None",
    "no_restriction": "None",
    "unspecified": "Lax",
}


class SessionFileError(ValueError):
    """The session file is in none of the accepted formats or has a bad entry."""


def parse_session(data: bytes) -> StorageState:
    """Turn file contents into ``{"cookies": [...], "origins": [...]}``."""
    if len(data) > MAX_SESSION_BYTES:
        raise SessionFileError(f"session file is larger than {MAX_SESSION_BYTES // 2**20} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SessionFileError("session file is not UTF-8 text") from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SessionFileError(
                f"session file is not valid JSON (line {exc.lineno}: {exc.msg})"
            ) from None
        except (ValueError, RecursionError):  # a 5000-digit number, nesting too deep
            raise SessionFileError("session file is not usable JSON") from None
        if isinstance(doc, dict):
            return _from_storage_state(doc)
        return {"cookies": [_from_extension(i, c) for i, c in enumerate(doc, 1)], "origins": []}
    return {"cookies": _from_netscape(text), "origins": []}


def _from_storage_state(doc: dict[str, Any]) -> StorageState:
    cookies = doc.get("cookies")
    origins = doc.get("origins", [])
    if not isinstance(cookies, list) or not isinstance(origins, list):
        raise SessionFileError(
            "JSON object is not a Playwright storage_state: expected 'cookies' and 'origins' lists"
        )
    return {
        "cookies": [_checked(i, c) for i, c in enumerate(cookies, 1)],
        "origins": [_origin(i, o) for i, o in enumerate(origins, 1)],
    }


def _origin(index: int, entry: Any) -> dict[str, Any]:
    """One origin's localStorage, as Playwright restores it."""
    where = f"origin {index}"
    if not isinstance(entry, dict):
        raise SessionFileError(f"{where}: expected an object")
    origin = entry.get("origin")
    parts = urlsplit(origin) if isinstance(origin, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise SessionFileError(f"{where}: 'origin' must be an http(s) URL such as https://host")
    if entry.get("indexedDB"):
        raise SessionFileError(
            f"{where}: IndexedDB contents are not supported; save the state without them"
        )
    items = entry.get("localStorage", [])
    if not isinstance(items, list):
        raise SessionFileError(f"{where}: 'localStorage' must be a list")
    storage = []
    for k, item in enumerate(items, 1):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("value"), str)
        ):
            raise SessionFileError(f"{where}: localStorage entry {k} needs a 'name' and a 'value'")
        storage.append({"name": item["name"], "value": item["value"]})
    return {"origin": f"{parts.scheme}://{parts.netloc}", "localStorage": storage}


def _checked(index: int, cookie: Any) -> dict[str, Any]:
    if not isinstance(cookie, dict):
        raise SessionFileError(f"cookie {index}: expected an object")
    for key in ("name", "value", "domain"):
        if not isinstance(cookie.get(key), str) or (key != "value" and not cookie[key]):
            raise SessionFileError(f"cookie {index}: missing or invalid '{key}'")
    path = cookie.get("path") or "/"
    out: dict[str, Any] = {
        "name": cookie["name"],
        "value": cookie["value"],
        "domain": cookie["domain"],
        "path": path if isinstance(path, str) else "",
        "expires": _number(index, cookie.get("expires", -1)),
        "httpOnly": bool(cookie.get("httpOnly", False)),
        "secure": bool(cookie.get("secure", False)),
    }
    same_site = _SAME_SITE.get(str(cookie.get("sameSite", "Lax")).lower())
    if same_site is None:
        raise SessionFileError(f"cookie {index}: sameSite must be Strict, Lax or None")
    out["sameSite"] = same_site
    problem = _cookie_problem(out)
    if problem:
        # Not even the name is quoted: in a malformed line any column may hold the value.
        raise SessionFileError(f"cookie {index}: {problem}")
    return out


def _cookie_problem(cookie: dict[str, Any]) -> str | None:
    """Why Chromium would refuse this cookie, or None. Never quotes the value."""
    name, value, domain, path = cookie["name"], cookie["value"], cookie["domain"], cookie["path"]
    lower, expires = name.lower(), cookie["expires"]
    rules = (
        (_BAD_NAME.search(name), "the name holds a control character, ';' or '='"),
        (_BAD_VALUE.search(value), "the value holds a control character or ';'"),
        (
            len(name.encode()) + len(value.encode()) > MAX_COOKIE_BYTES,
            f"name and value are longer than {MAX_COOKIE_BYTES} bytes",
        ),
        (_BAD_DOMAIN.search(domain) or not domain.strip("."), "'domain' is not a host name"),
        (not path.startswith("/"), "'path' must start with /"),
        (
            expires != -1 and not 0 <= expires <= MAX_EXPIRES,
            "'expires' must be -1 (a session cookie) or a Unix time before the year 10000",
        ),
        (
            lower.startswith(("__secure-", "__host-")) and not cookie["secure"],
            "a __Secure- or __Host- cookie must be secure",
        ),
        (
            lower.startswith("__host-") and (path != "/" or domain.startswith(".")),
            "a __Host- cookie must have path / and a domain without a leading dot",
        ),
    )
    return next((message for broken, message in rules if broken), None)


def _from_extension(index: int, cookie: Any) -> dict[str, Any]:
    if not isinstance(cookie, dict):
        raise SessionFileError(f"cookie {index}: expected an object")
    domain = cookie.get("domain")
    if isinstance(domain, str) and cookie.get("hostOnly") is False and not domain.startswith("."):
        domain = "." + domain
    expires = -1 if cookie.get("session") else cookie.get("expirationDate", -1)
    return _checked(
        index,
        {
            "name": cookie.get("name"),
            "value": cookie.get("value"),
            "domain": domain,
            "path": cookie.get("path"),
            "expires": expires,
            "httpOnly": cookie.get("httpOnly", False),
            "secure": cookie.get("secure", False),
            "sameSite": cookie.get("sameSite") or "unspecified",
        },
    )


def _from_netscape(text: str) -> list[dict[str, Any]]:
    cookies: list[dict[str, Any]] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line.removeprefix("#HttpOnly_")
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise SessionFileError(
                f"line {lineno}: not a cookies.txt line (expected 7 tab-separated fields, "
                f"got {len(parts)}); accepted formats: Playwright storage_state JSON, a JSON "
                "cookie list, or Netscape cookies.txt"
            )
        domain, _subdomains, path, secure, expires, name, value = parts
        if not domain or not name:
            raise SessionFileError(f"line {lineno}: empty domain or cookie name")
        try:
            expiry = float(expires)
        except ValueError:
            raise SessionFileError(f"line {lineno}: expiry is not a number") from None
        if not math.isfinite(expiry):
            raise SessionFileError(f"line {lineno}: expiry is not a finite number")
        cookie = {
            "name": name,
            "value": value,
            "domain": domain,
            "path": path or "/",
            "expires": expiry if expiry > 0 else -1,
            "httpOnly": http_only,
            "secure": secure.upper() == "TRUE",
            "sameSite": "Lax",
        }
        try:
            cookies.append(_checked(len(cookies) + 1, cookie))
        except SessionFileError as exc:
            raise SessionFileError(f"line {lineno}: {exc}") from None
    if not cookies:
        raise SessionFileError("session file holds no cookies")
    return cookies


def _number(index: int, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SessionFileError(f"cookie {index}: 'expires' must be a number")
    try:
        expires = float(value)
    except OverflowError:  # an integer beyond any float
        expires = math.inf
    if not math.isfinite(expires):  # JSON's NaN, Infinity or 1e999
        raise SessionFileError(f"cookie {index}: 'expires' must be a finite number")
    return expires
