"""Test helpers around the replica: sessions as a browser export would carry them, test API."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import aiohttp

from automation.accounts import AccountRow, AccountService
from automation.session_files import parse_session
from automation.sites.base import VideoToUpload
from automation.sites.demo.samples import sample_video_bytes
from storage.crypto import SecretBox


async def api(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """Call the replica's test API (GET without a body, POST with one)."""
    async with aiohttp.ClientSession() as http:
        if body is None:
            async with http.get(base + path) as resp:
                resp.raise_for_status()
                return await resp.json()
        async with http.post(base + path, json=body) as resp:
            resp.raise_for_status()
            return await resp.json()


def cookie_export(sessionid: str) -> bytes:
    """A cookie-editor style JSON export, as a human would save it from a logged-in browser."""
    cookies = [
        {
            "domain": "127.0.0.1",
            "name": "sessionid",
            "value": sessionid,
            "path": "/",
            "httpOnly": True,
            "secure": False,
            "sameSite": "lax",
            "expirationDate": 4102444800,
        },
        {
            "domain": "127.0.0.1",
            "name": "tt_csrf_token",
            "value": "x" * 16,
            "path": "/",
            "httpOnly": False,
            "secure": False,
            "session": True,
        },
    ]
    return json.dumps(cookies).encode()


async def session_state(base: str, handle: str) -> dict[str, Any]:
    """A Playwright storage_state for handle, made the way an imported cookie file is."""
    sid = (await api(base, "/api/sessions", {"handle": handle}))["sessionid"]
    return parse_session(cookie_export(sid))


async def posts_of(base: str, handle: str) -> list[dict[str, Any]]:
    """The replica's posts of one handle, newest first."""
    return list((await api(base, f"/api/posts?handle={handle}"))["posts"])


def video_file(folder: Path, index: int = 1, caption: str = "Beach day #summer") -> VideoToUpload:
    """A sample video written to folder."""
    data = sample_video_bytes(index)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"clip-{index}.mp4"
    path.write_bytes(data)
    return VideoToUpload(path, hashlib.sha256(data).hexdigest(), caption, path.name)


async def add_tiktok_accounts(
    secrets: SecretBox, base: str, count: int, *, sessions: bool = True
) -> list[str]:
    """Accounts tt1..ttN on site "tiktok" (handles brand1..brandN), sessions imported from
    cookie exports; returns the labels."""
    service = AccountService(secrets)
    rows = [AccountRow(f"tt{k}", "tiktok", f"brand{k}") for k in range(1, count + 1)]
    await service.import_rows(rows)
    if sessions:
        for k in range(1, count + 1):
            sid = (await api(base, "/api/sessions", {"handle": f"brand{k}"}))["sessionid"]
            await service.set_session(f"tt{k}", parse_session(cookie_export(sid)))
    return [row.label for row in rows]
