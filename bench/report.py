"""Turning the benchmark's measurements into headline ratios, a table and a plot."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

TARGETS = {
    "speedup_vs_baseline": ">= 6",
    "share_of_cpu_ceiling": ">= 0.85",
    "auto_vs_best_fixed": ">= 0.9",
    "auto_loop_lag_p99_ms": "<= 50",
    "mb_per_extra_account": "<= 40",
    "bot_reply_p95_ms": "<= 300",
}


def p95(values: list[float]) -> float | None:
    """The 95th percentile (nearest rank), or None for no values."""
    if not values:
        return None
    ranked = sorted(values)
    return round(ranked[max(0, math.ceil(len(ranked) * 0.95) - 1)], 1)


def conclusions(baseline: dict[str, Any], runs: list[dict[str, Any]], cpus: int) -> dict[str, Any]:
    """The headline ratios: speedup, share of the CPU ceiling, auto against the best fixed
    setting, MB per account.

    The CPU ceiling is what the machine could do if every core did nothing but this work at
    the best fixed setting's cost: ``cpus x 60 / CPU-s per account``, in accounts per minute.
    """
    fixed = [r for r in runs if r["concurrency"] != "auto"]
    auto = next((r for r in runs if r["concurrency"] == "auto"), None)
    best = max(fixed, key=lambda r: r["accounts_per_min"])
    top = max(runs, key=lambda r: r["accounts_per_min"])
    slope = 0.0
    if len(fixed) >= 2:
        # Accounts actually in flight: a setting above the number of accounts adds nothing.
        in_flight = [float(min(r["concurrency"], r["accounts"])) for r in fixed]
        slope, _ = statistics.linear_regression(in_flight, [r["pss_mb_peak"] for r in fixed])
    ceiling = cpus * 60 / best["cpu_s_per_account"] if best["cpu_s_per_account"] else 0.0
    return {
        "speedup_vs_baseline": round(top["accounts_per_min"] / baseline["accounts_per_min"], 2),
        "cpu_ceiling_accounts_per_min": round(ceiling, 1),
        "share_of_cpu_ceiling": round(best["accounts_per_min"] / ceiling, 2) if ceiling else None,
        "best_concurrency": top["concurrency"],
        "best_fixed_concurrency": best["concurrency"],
        "auto_vs_best_fixed": (
            round(auto["accounts_per_min"] / best["accounts_per_min"], 2) if auto else None
        ),
        "auto_loop_lag_p99_ms": auto["loop_lag_p99_ms"] if auto else None,
        "mb_per_extra_account": round(slope, 1),
    }


def table(doc: dict[str, Any]) -> str:
    """The human-readable report."""
    rows = [("baseline", doc["baseline"])] + [(str(r["concurrency"]), r) for r in doc["runs"]]
    lines = [
        f"{doc['accounts']} accounts, settings {', '.join(map(str, doc['settings']))}"
        f"{' (--quick)' if doc.get('quick') else ''}; load average "
        f"{doc['machine']['load_avg_start']} -> {doc['machine']['load_avg_end']} "
        f"on {doc['machine']['cpus']} CPUs",
        f"browser: {doc.get('executable') or 'as found'}",
        f"{'setting':>9} {'acc/min':>8} {'cpu s/acc':>9} {'PSS MB':>8} {'lag p99':>8} {'ok':>4}"
        "  binary",
    ]
    for name, r in rows:
        binary = Path(r["executable"]).name if r.get("executable") else "-"
        lines.append(
            f"{name:>9} {r['accounts_per_min']:>8} {r['cpu_s_per_account']:>9} "
            f"{r['pss_mb_peak']:>8} {r['loop_lag_p99_ms']:>8} {r.get('succeeded', '-'):>4}"
            f"  {binary}"
        )
    roles = sorted({role for _, r in rows for role in r.get("cpu_s_per_account_by_process", {})})
    if roles:
        lines.append("CPU s per account by process: " + ", ".join(roles))
        for name, r in rows:
            split = r.get("cpu_s_per_account_by_process", {})
            lines.append(f"{name:>9} " + " ".join(f"{split.get(role, 0):>8}" for role in roles))
    auto = next((r for r in doc["runs"] if r["concurrency"] == "auto"), None)
    if auto and "auto_levels" in auto:
        lines.append(f"auto levels: {auto['auto_levels']} (mean {auto['auto_level_mean']})")
    for key in (
        "speedup_vs_baseline",
        "cpu_ceiling_accounts_per_min",
        "share_of_cpu_ceiling",
        "auto_vs_best_fixed",
        "auto_loop_lag_p99_ms",
        "mb_per_extra_account",
        "bot_reply_p95_ms",
    ):
        target = f"  (target {TARGETS[key]})" if key in TARGETS else ""
        lines.append(f"{key}: {doc.get(key)}{target}")
    return "\n".join(lines)


def plot(doc: dict[str, Any], path: Path) -> None:
    """Throughput and peak memory against concurrency, saved as a PNG."""
    import matplotlib  # noqa: PLC0415 - only the plot needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    fixed = [r for r in doc["runs"] if r["concurrency"] != "auto"]
    auto = next((r for r in doc["runs"] if r["concurrency"] == "auto"), None)
    xs = [r["concurrency"] for r in fixed]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(xs, [r["accounts_per_min"] for r in fixed], "o-", label="fleetbot, fixed")
    left.axhline(doc["baseline"]["accounts_per_min"], color="grey", ls="--", label="baseline")
    right.plot(xs, [r["pss_mb_peak"] for r in fixed], "o-", color="tab:red", label="fixed")
    right.axhline(doc["baseline"]["pss_mb_peak"], color="grey", ls="--", label="baseline")
    if auto is not None:
        at = auto.get("auto_level_mean", 1)
        left.plot([at], [auto["accounts_per_min"]], "s", color="green", label="auto (mean level)")
        right.plot([at], [auto["pss_mb_peak"]], "s", color="green", label="auto (mean level)")
    left.set(xlabel="concurrency", ylabel="accounts / minute", title="Throughput")
    right.set(xlabel="concurrency", ylabel="peak PSS of the process tree (MB)", title="Memory")
    for axis in (left, right):
        axis.set_xscale("log", base=2)
        axis.set_xticks(xs, [str(x) for x in xs])
        axis.legend()
    fig.suptitle(
        f"{doc['accounts']} accounts, {doc['duration_s']:g} s warmup, "
        f"{doc['latency_ms']} ms site latency, {doc['machine']['cpus']} CPUs, "
        f"{Path(doc.get('executable') or 'chromium').name}"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
