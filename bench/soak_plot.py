"""The soak's picture: memory against finished items, recycles and compared windows."""

from __future__ import annotations

from pathlib import Path

from bench.soak import ASSERTED, BASE_AT, RESIDENT, WINDOW, Soak


def plot(soak: Soak, path: Path) -> None:
    """Memory against finished items, with the recycles and the compared windows marked."""
    import matplotlib  # noqa: PLC0415 - only the plot needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fig, axis = plt.subplots(figsize=(10, 4))
    done = [s.items for s in soak.samples]
    axis.plot(done, [s.mb for s in soak.samples], ".-", ms=3, label="serve + Chromium + driver")
    axis.plot(done, [s.resident_mb for s in soak.samples], "-", color="tab:orange", label=RESIDENT)
    axis.plot(done, [s.serve_mb for s in soak.samples], "-", color="tab:purple", label="serve")
    for at in soak.recycled_at:
        axis.axvline(at, color="grey", ls="--")
    for centre, mb, name in (
        (BASE_AT, soak.base_mb(ASSERTED), f"after {BASE_AT}"),
        (soak.end_at, soak.end_mb(ASSERTED), "at the end"),
    ):
        axis.axvspan(centre - WINDOW, centre + WINDOW, color="tab:green", alpha=0.15)
        axis.plot([centre], [mb], "s", color="tab:green", label=f"{name}: {mb} MB (median)")
    limit = f"+15 % of the level after {BASE_AT}"
    axis.axhline(soak.base_mb(ASSERTED) * 1.15, color="tab:red", ls=":", label=limit)
    axis.set(
        xlabel="account-items finished (dashed: browser recycled)",
        ylabel="PSS (MB)",
        title=(
            f"Soak: {soak.items} warmups, {soak.accounts} accounts, concurrency "
            f"{soak.concurrency}, recycle every {soak.recycle_after} "
            f"({soak.change_pct(ASSERTED):+} % less renderers)"
        ),
    )
    axis.set_ylim(bottom=0)
    axis.legend(loc="lower center", ncol=2, fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
