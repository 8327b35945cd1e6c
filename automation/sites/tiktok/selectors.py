"""Every selector and text the TikTok adapter relies on, each overridable from config.

Gathered from public open-source uploaders (2024-2026); dated ``SELECTORS_AS_OF``.
Historically TikTok broke selectors like these every 2-4 months; ``data-e2e`` attributes,
the file input and the DraftJS editor classes were the stable anchors. Each field's
``page`` metadata says where ``fleetbot sites check`` looks for it:

- ``upload``: the upload page as it loads;
- ``form``: the upload form, which appears only after a file is chosen;
- ``content``: the posts table on ``/tiktokstudio/content``;
- ``feed``: the For You feed;
- ``popup``: shown only now and then; not probed.

An operator fixes a redesign with ``[sites.tiktok.selectors] post_button = "..."``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Self

SELECTORS_AS_OF = "2026-12"


def _at(page: str, value: str) -> Any:
    return field(default=value, metadata={"page": page})


class _Overridable:
    """Shared helpers of the two frozen tables below."""

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names config may override."""
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def page_of(cls, name: str) -> str:
        """Where this entry is found (see the module docstring)."""
        return str(next(f for f in fields(cls) if f.name == name).metadata["page"])  # type: ignore[arg-type]

    def with_overrides(self, overrides: dict[str, str]) -> Self:
        """A copy with config's overrides applied (keys are checked when config loads)."""
        return replace(self, **overrides)  # type: ignore[type-var]


@dataclass(frozen=True)
class Selectors(_Overridable):
    """CSS selectors (Playwright's CSS pierces open shadow roots)."""

    # Until mid-2024 the whole form lived in this iframe; handled when present.
    upload_iframe: str = _at("popup", 'iframe[data-tt="Upload_index_iframe"]')
    file_input: str = _at("upload", 'input[type="file"][accept*="video"]')
    caption_editor: str = _at("form", '.public-DraftEditor-content[contenteditable="true"]')
    caption_contents: str = _at("form", '[data-contents="true"]')
    hashtag_popover: str = _at("popup", ".mention-list-popover")
    post_button: str = _at("form", 'button[data-e2e="post_video_button"]')
    visibility_dropdown: str = _at("form", '[data-e2e="video_visibility"]')
    cookie_banner: str = _at("popup", "tiktok-cookie-banner")
    tutorial_overlay: str = _at("popup", ".react-joyride__overlay")
    dialog: str = _at("popup", '[role="dialog"]')
    captcha: str = _at("popup", '[id*="captcha"], .secsdk-captcha-wrapper')
    content_row: str = _at("content", "table tbody tr")
    content_link: str = _at("content", 'a[href*="/video/"]')
    feed_item: str = _at("feed", '[data-e2e="recommend-list-item-container"]')


@dataclass(frozen=True)
class Texts(_Overridable):
    """Visible texts, matched as substrings (pages are loaded with ``lang`` to keep them)."""

    select_video: str = _at("upload", "Select video")
    select_file: str = _at("popup", "Select file")
    cookie_decline: str = _at("popup", "Decline optional cookies")
    new_features: str = _at("popup", "New editing features added")
    got_it: str = _at("popup", "Got it")
    tutorial_skip: str = _at("popup", "Skip")
    content_checks: str = _at("popup", "Turn on automatic content checks?")
    cancel: str = _at("popup", "Cancel")
    continue_to_post: str = _at("popup", "Continue to post?")
    post_now: str = _at("popup", "Post now")
    uploaded: str = _at("popup", "Your video has been uploaded")
    published: str = _at("popup", "Video published")
    something_went_wrong: str = _at("popup", "Something went wrong")
    rate_limited: str = _at("popup", "Too many uploading attempts")
    visibility_everyone: str = _at("popup", "Everyone")
    visibility_friends: str = _at("popup", "Friends")
    visibility_only_you: str = _at("popup", "Only you")


CAPTION_MAX = 2200  # the cap peers use; TikTok's own counter stops there
SESSION_COOKIE = "sessionid"
