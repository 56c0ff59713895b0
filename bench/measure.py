"""Measuring one command the way the benchmarks report it: wall time, CPU time (user + system, the command and
every process it waited for) and peak memory (the largest resident set among them).

Each command runs under a small Python parent whose only child is the command, so ``RUSAGE_CHILDREN`` covers
exactly that command's process tree; the parent prints the figures as one JSON line.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_PARENT = (
    "import json, resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "wall = time.perf_counter() - started\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'code': done.returncode, 'wall_s': wall, 'cpu_s': usage.ru_utime + usage.ru_stime,\n"
    "  'user_s': usage.ru_utime, 'system_s': usage.ru_stime, 'peak_rss_mib': usage.ru_maxrss / 1024,\n"
    "  'stderr': done.stderr.decode(errors='replace')[-2000:]}))\n"
)


def measure(command: Sequence[str], env: dict[str, str], cwd: Path, allowed: Sequence[int] = (0,)) -> dict:
    """Run ``command`` once; its figures, or SystemExit naming the command and its error output."""
    parent = subprocess.run(
        [sys.executable, "-c", _PARENT, *command], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if parent.returncode != 0:
        raise SystemExit(f"measuring {' '.join(command)} failed:\n{parent.stderr}")
    figures = json.loads(parent.stdout.strip().splitlines()[-1])
    if figures["code"] not in allowed:
        raise SystemExit(f"{' '.join(command)} exited {figures['code']}:\n{figures['stderr']}")
    figures.pop("stderr")
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def spread(runs: list[dict]) -> dict:
    """The median of each figure over repeated runs, with the smallest and largest."""
    keys = [k for k in runs[0] if isinstance(runs[0][k], float)]
    summary = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    summary["runs"] = len(runs)
    summary["range"] = {k: [round(min(r[k] for r in runs), 3), round(max(r[k] for r in runs), 3)] for k in keys}
    return summary


def machine() -> dict:
    """What the figures were taken on (read the ratios, not the seconds, across machines)."""
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "load_average_1m_at_start": round(load[0], 2), "python": sys.version.split()[0]}
