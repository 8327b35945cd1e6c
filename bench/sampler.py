"""Samples a process tree's CPU time and PSS from outside it (run as a child process).

    python bench/sampler.py ROOT_PID

Reading /proc for every Chromium process takes long enough that doing it inside the
measured process would hold its GIL and show up as event-loop lag; here it costs the
measured process nothing. Samples every 0.2 s until stdin closes, then prints one JSON
line: {"cpu_s": seconds spent by the tree meanwhile, "pss_mb_peak": ..., "cpu_s_by_kind":
the same seconds split by process type (see ``kind``)}.
"""

from __future__ import annotations

import json
import os
import sys
import threading

import psutil

SAMPLE_S = float(os.environ.get("BENCH_SAMPLE_S", "0.2"))


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def kind(proc: psutil.Process, root_pid: int) -> str:
    """What a process of the tree is: python, driver, browser, renderer, gpu, utility, other."""
    if proc.pid == root_pid:
        return "python"  # the runner, the ORM, Playwright's client, the in-process demo site
    name = proc.name().lower()
    if name.startswith("node"):
        return "driver"  # Playwright's driver
    if "chrom" not in name and "headless_shell" not in name:
        return "other"
    for arg in proc.cmdline():
        if arg.startswith("--type="):
            role = arg.removeprefix("--type=")
            return {"renderer": "renderer", "gpu-process": "gpu"}.get(role, "utility")
    return "browser"  # the browser process itself; zygotes and utilities carry --type=


def main(root_pid: int) -> None:
    os.nice(10)  # yield to what is being measured
    root = psutil.Process(root_pid)
    me = os.getpid()
    start: dict[int, float] = {}
    last: dict[int, float] = {}
    kinds: dict[int, str] = {}
    peak = 0

    def tree() -> list[psutil.Process]:
        return [root, *(p for p in root.children(recursive=True) if p.pid != me)]

    for proc in tree():
        start[proc.pid] = _cpu(proc)
    done = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        done.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    while True:
        pss = 0
        for proc in tree():
            try:
                if proc.pid not in kinds:
                    kinds[proc.pid] = kind(proc, root_pid)
                last[proc.pid] = _cpu(proc)
                pss += proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        peak = max(peak, pss)
        if done.wait(SAMPLE_S):
            break
    spent = {pid: max(0.0, value - start.get(pid, 0.0)) for pid, value in last.items()}
    by_kind: dict[str, float] = {}
    for pid, seconds in spent.items():
        role = kinds.get(pid, "other")
        by_kind[role] = by_kind.get(role, 0.0) + seconds
    doc = {
        "cpu_s": sum(spent.values()),
        "pss_mb_peak": peak / 2**20,
        "cpu_s_by_kind": {k: round(v, 2) for k, v in sorted(by_kind.items())},
    }
    print(json.dumps(doc), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
