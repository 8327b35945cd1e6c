"""``fleetbot sites check tiktok``: which of the adapter's selectors the live site still has.

Read-only: it opens the upload page, the content page and the feed with the account's
session. With a sample video it also chooses that file so the upload form appears, then
leaves the page; it never clicks Post.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from playwright.async_api import Frame, Locator
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from automation.errors import SiteChanged, TransientSiteError
from automation.sites.base import ItemContext
from automation.sites.checks import Check, Found, SiteCheck
from automation.sites.tiktok.adapter import CONTENT_PATH, FEED_PATH, TikTokAdapter
from automation.sites.tiktok.selectors import Selectors, Texts
from automation.sites.tiktok.studio import (
    ACT_MS,
    Studio,
    accept_dialogs,
    login_fix,
    override_hint,
    site_errors,
    visible,
)

FORM_FIELDS = ("caption_editor", "caption_contents", "post_button", "visibility_dropdown")
NO_VIDEO = "pass --video FILE to choose a file and check the upload form (it never posts)"


def _check(name: str, kind: str, value: str, found: Found, note: str = "") -> Check:
    page = (Selectors if kind == "selector" else Texts).page_of(name)
    return Check(name, kind, value, page, override_hint(kind, name), found, note)


async def _present(locator: Locator) -> Found:
    return Found.FOUND if await locator.count() else Found.MISSING


async def probe(adapter: TikTokAdapter, ctx: ItemContext, video: Path | None) -> SiteCheck:
    """Probe the live site with ctx's session; see the module docstring."""
    sel, txt = adapter.sel, adapter.txt
    report = SiteCheck("tiktok", ctx.account_label, logged_in=False)
    accept_dialogs(ctx.page)
    with site_errors("checking the site"):
        try:
            studio = await adapter.open_upload(ctx)
        except SiteChanged:  # logged in (no /login redirect), but no file input to be seen
            studio = Studio(ctx, sel, txt, 0)
            report.logged_in = not studio.on_login_page()
            if report.logged_in:
                report.checks.append(
                    _check("file_input", "selector", sel.file_input, Found.MISSING)
                )
            return report
        if studio is None:
            report.notes.append("log in first: " + login_fix(ctx.account_label))
            return report
        report.logged_in = True
        form = studio.form()
        report.checks.append(_check("file_input", "selector", sel.file_input, Found.FOUND))
        select = form.get_by_role("button", name=txt.select_video)
        report.checks.append(
            _check("select_video", "text", txt.select_video, await _present(select))
        )
        if form is not ctx.page.main_frame:
            report.notes.append("the upload form is in the old iframe layout (upload_iframe)")
        report.checks += await _form_checks(adapter, studio, form, video)
        await adapter.goto(ctx.page, CONTENT_PATH)
        await studio.clear()
        rows = ctx.page.locator(sel.content_row)
        if await rows.count():
            report.checks.append(_check("content_row", "selector", sel.content_row, Found.FOUND))
            links = rows.locator(sel.content_link)
            report.checks.append(
                _check("content_link", "selector", sel.content_link, await _present(links))
            )
        else:
            note = "no posts listed to check against"
            for name in ("content_row", "content_link"):
                report.checks.append(
                    _check(name, "selector", getattr(sel, name), Found.NOT_CHECKED, note)
                )
        await adapter.goto(ctx.page, FEED_PATH)
        item = ctx.page.locator(sel.feed_item)
        with contextlib.suppress(PlaywrightTimeoutError):  # missing is the finding
            await item.first.wait_for(state="attached", timeout=ACT_MS)
        report.checks.append(_check("feed_item", "selector", sel.feed_item, await _present(item)))
    return report


async def _form_checks(
    adapter: TikTokAdapter, studio: Studio, form: Frame, video: Path | None
) -> list[Check]:
    sel = adapter.sel
    if video is None:
        return [
            _check(n, "selector", getattr(sel, n), Found.NOT_CHECKED, NO_VIDEO)
            for n in FORM_FIELDS
        ]
    await form.locator(sel.file_input).first.set_input_files(video, timeout=ACT_MS)
    editor = form.locator(sel.caption_editor)
    # The editor's selector may be the broken one: then the checks below say so.
    with contextlib.suppress(TransientSiteError):
        await studio.wait_for("for the upload form", lambda: visible(editor), ACT_MS * 3 / 1000)
    checks = []
    for name in FORM_FIELDS:
        value = getattr(sel, name)
        checks.append(_check(name, "selector", value, await _present(form.locator(value))))
    return checks
