"""Every command runs with the collector set for a heap that grows with the stack (engine.collector)."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from engine.collector import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]


def test_a_command_collects_less_often_than_cpythons_default():
    probe = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('thresholds', *gc.get_threshold()))\n"
        "from engine.cli import main\n"
        "main(['--help'])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.stdout.splitlines()[-1].split() == [
        "thresholds",
        *map(str, (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)),
    ]
    assert gc.get_threshold()[0] < YOUNG_THRESHOLD  # this test process keeps CPython's default
