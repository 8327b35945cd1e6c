"""Pure functions that turn rows into message text and keyboards (tests call them directly).

Everything here is plain text: the bot sends without a parse mode, so names and error
messages from sites can never break the markup.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from automation.accounts import AccountView
from automation.summary import ItemSummary, RunProgress, RunSummary
from bot.i18n import Texts
from storage.models import ItemStatus, RunStatus

BAR_WIDTH = 12
ACCOUNTS_PAGE = 10
TELEGRAM_TEXT_LIMIT = 4096

ITEM_ICONS = {
    ItemStatus.SUCCEEDED: "✅",
    ItemStatus.FAILED: "❌",
    ItemStatus.SKIPPED: "⏭",
    ItemStatus.CANCELLED: "🚫",
    ItemStatus.RUNNING: "⏳",
    ItemStatus.PENDING: "·",
}
RUN_ICONS = {
    RunStatus.SUCCEEDED: "✅",
    RunStatus.PARTIAL: "⚠️",
    RunStatus.FAILED: "❌",
    RunStatus.CANCELLED: "🚫",
}
HEALTH_ICONS = {"ok": "🟢", "needs_login": "🔑", "needs_attention": "🟠", "disabled": "⚫"}


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """Cut a text to what one Telegram message holds."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration(seconds: float) -> str:
    """90 -> '1m 30s'."""
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """A text progress bar."""
    filled = round(width * done / total) if total else width
    return "▓" * filled + "░" * (width - filled)


def progress_text(t: Texts, progress: RunProgress) -> str:
    """The one progress message of a run, edited as items settle (drawn from counts alone)."""
    counts = progress.counts
    return t(
        "progress",
        run_id=progress.run_id,
        kind=progress.kind,
        status=progress.status,
        bar=bar(progress.settled, progress.total),
        settled=progress.settled,
        total=progress.total,
        succeeded=counts[ItemStatus.SUCCEEDED],
        failed=counts[ItemStatus.FAILED],
        elapsed=duration(progress.duration_s),
    )


def failure_reason(item: ItemSummary) -> str:
    """How failures are grouped: by error class, falling back to the message."""
    return item.error_class or (item.error or "error").split(":")[0][:60]


def summary_text(t: Texts, summary: RunSummary) -> str:
    """The final summary: counts, failures grouped by reason with labels, post links."""
    counts = summary.counts
    lines = [
        t(
            "summary-head",
            icon=RUN_ICONS.get(RunStatus(summary.status), "ℹ️"),  # noqa: RUF001
            run_id=summary.run_id,
            kind=summary.kind,
            status=summary.status,
            succeeded=counts[ItemStatus.SUCCEEDED],
            total=summary.total,
            failed=counts[ItemStatus.FAILED],
            duration=duration(summary.duration_s),
        )
    ]
    failures: dict[str, list[str]] = defaultdict(list)
    for item in summary.items:
        if item.status == ItemStatus.FAILED:
            failures[failure_reason(item)].append(item.account)
    for reason, accounts in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        lines.append(
            t(
                "summary-failures",
                reason=reason,
                count=len(accounts),
                accounts=", ".join(dict.fromkeys(accounts)),
            )
        )
    if counts[ItemStatus.SKIPPED]:
        lines.append(t("summary-skipped", count=counts[ItemStatus.SKIPPED]))
    posts = [
        f"{item.account}: {item.result['post_url']}"
        for item in summary.items
        if item.result and item.result.get("post_url")
    ]
    if posts:
        lines += ["", t("summary-posts"), *posts]
    return fit("\n".join(lines))


def summary_keyboard(t: Texts, summary: RunSummary) -> InlineKeyboardMarkup:
    """'Retry failed' (when there is something to retry) and 'Details'."""
    row = []
    if summary.counts[ItemStatus.FAILED]:
        row.append(
            InlineKeyboardButton(text=t("btn-retry"), callback_data=f"run:retry:{summary.run_id}")
        )
    row.append(
        InlineKeyboardButton(text=t("btn-details"), callback_data=f"run:show:{summary.run_id}")
    )
    return InlineKeyboardMarkup(inline_keyboard=[row])


def run_detail_text(t: Texts, summary: RunSummary) -> str:
    """/run ID: every item with its outcome, error or post link."""
    lines = [progress_text(t, summary.progress), ""]
    for item in summary.items:
        detail = ""
        if item.status == ItemStatus.FAILED and item.error:
            detail = f" — {item.error}"
        elif item.result and item.result.get("post_url"):
            detail = f" — {item.result['post_url']}"
        if item.attempts > 1:
            detail += f" ({item.attempts}×)"  # noqa: RUF001
        lines.append(
            t(
                "run-item",
                icon=ITEM_ICONS.get(ItemStatus(item.status), "·"),
                account=item.account,
                video=f" [{item.video}]" if item.video else "",
                status=item.status,
                detail=detail,
            )
        )
    return fit("\n".join(lines))


def runs_text(t: Texts, summaries: list[RunSummary]) -> str:
    """/runs: one line per recent run."""
    if not summaries:
        return t("runs-empty")
    lines = [t("runs-head")]
    for summary in summaries:
        lines.append(
            t(
                "run-line",
                run_id=summary.run_id,
                kind=summary.kind,
                status=summary.status,
                succeeded=summary.counts[ItemStatus.SUCCEEDED],
                total=summary.total,
                created=stamp(summary.created_at),
            )
        )
    return fit("\n".join(lines))


def stamp(moment: datetime) -> str:
    """A compact UTC timestamp for lists."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def accounts_page(
    t: Texts, accounts: list[AccountView], page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """/accounts: one page of accounts with health at a glance, and paging buttons."""
    if not accounts:
        return t("accounts-empty"), None
    pages = (len(accounts) + ACCOUNTS_PAGE - 1) // ACCOUNTS_PAGE
    page = min(max(page, 0), pages - 1)
    first = page * ACCOUNTS_PAGE
    shown = accounts[first : first + ACCOUNTS_PAGE]
    lines = [t("accounts-head", first=first + 1, last=first + len(shown), total=len(accounts))]
    for account in shown:
        lines.append(
            t(
                "account-line",
                icon=HEALTH_ICONS.get(account.health, "·"),
                label=account.label,
                site=account.site,
                username=account.username,
                health=account.health,
                tags=(" " + " ".join(f"#{tag}" for tag in account.tags)) if account.tags else "",
            )
        )
        if account.cooldown_until is not None:
            lines.append(t("account-resting", until=f"{account.cooldown_until:%Y-%m-%d %H:%M}"))
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton(text=t("btn-prev"), callback_data=f"acc:{page - 1}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton(text=t("btn-next"), callback_data=f"acc:{page + 1}"))
    markup = InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None
    return fit("\n".join(lines)), markup
