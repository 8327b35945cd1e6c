"""Samples a process tree's CPU time and PSS from outside it (run as a child process).

    python bench/sampler.py ROOT_PID

Reading /proc for every Chromium process takes long enough that doing it inside the
measured process would hold its GIL and show up as event-loop lag; here it costs the
measured process nothing. Samples every 0.2 s until stdin closes, then prints one JSON
line: {"cpu_s": seconds spent by the tree meanwhile, "pss_mb_peak": ...}.
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


def main(root_pid: int) -> None:
    os.nice(10)  # yield to what is being measured
    root = psutil.Process(root_pid)
    me = os.getpid()
    start: dict[int, float] = {}
    last: dict[int, float] = {}
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
                last[proc.pid] = _cpu(proc)
                pss += proc.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        peak = max(peak, pss)
        if done.wait(SAMPLE_S):
            break
    cpu = sum(max(0.0, value - start.get(pid, 0.0)) for pid, value in last.items())
    print(json.dumps({"cpu_s": cpu, "pss_mb_peak": peak / 2**20}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
