"""What /status shows, gathered from the database and the live objects of this process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from automation.browser import BrowserPool
from automation.presence import live_runners
from automation.runner import Runner
from automation.schedules import format_fire
from bot import __version__
from bot.i18n import Texts
from storage.models import ItemStatus, Notification, NotificationStatus, Run, RunItem, RunStatus

# A runner whose heartbeat is older than this many leases is not listed as live.
STALE_LEASES = 3
NextFires = Callable[[], Awaitable[list[tuple[str, datetime]]]]


@dataclass(frozen=True)
class Status:
    """One snapshot for /status."""

    version: str
    running_runs: list[int]
    in_flight: int
    concurrency: str
    pending_items: int
    browser: dict[str, object]
    outbox_unsent: int
    next_fires: list[tuple[str, datetime]] = field(default_factory=list)
    runners: list[str] = field(default_factory=list)


class StatusSource:
    """Collects a Status; the scheduler's next fires come from a callable when there is one."""

    def __init__(self, runner: Runner, pool: BrowserPool, next_fires: NextFires | None) -> None:
        self._runner = runner
        self._pool = pool
        self._next_fires = next_fires

    async def collect(self) -> Status:
        """A fresh snapshot."""
        running = (
            await Run.filter(status=RunStatus.RUNNING).order_by("id").values_list("id", flat=True)
        )
        return Status(
            version=__version__,
            running_runs=[int(str(run_id)) for run_id in running],
            in_flight=self._runner.in_flight,
            concurrency=(
                f"{self._runner.concurrency} (auto)"
                if self._runner.autoscaler is not None
                else str(self._runner.concurrency)
            ),
            pending_items=await RunItem.filter(status=ItemStatus.PENDING).count(),
            browser=self._pool.stats,
            outbox_unsent=await Notification.filter(status=NotificationStatus.PENDING).count(),
            next_fires=await self._next_fires() if self._next_fires else [],
            runners=[
                runner.describe()
                for runner in await live_runners(STALE_LEASES * self._runner.lease_s)
            ],
        )


def status_text(t: Texts, status: Status) -> str:
    """The /status reply."""
    browser = status.browser
    lines = [
        t(
            "status",
            version=status.version,
            running=", ".join(f"#{run_id}" for run_id in status.running_runs) or "0",
            in_flight=status.in_flight,
            concurrency=status.concurrency,
            pending=status.pending_items,
            browser=(
                f"{'up' if browser.get('browser_alive') else 'idle'}, "
                f"generation {browser.get('generation')}, "
                f"{browser.get('active_contexts')} open contexts, "
                f"{browser.get('contexts_opened')} opened, "
                f"{browser.get('executable')}"
            ),
            outbox=status.outbox_unsent,
        )
    ]
    lines += [f"  {runner}" for runner in status.runners]  # every process's runners
    if status.next_fires:
        fires = "; ".join(f"{name} {format_fire(when)}" for name, when in status.next_fires)
        lines.append(t("status-next", fires=fires))
    else:
        lines.append(t("status-no-schedules"))
    return "\n".join(lines)
