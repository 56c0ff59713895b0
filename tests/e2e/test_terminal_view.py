"""The sandbox applied as a person sees it on a 100x24 terminal: the phase while the program loads, every call in
flight on screen, never a view taller than the screen, the counts of the summary (the view is tested in depth,
preview, failures and destroy included, on a synthetic program in tests/engine/test_live_view.py)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.engine.terminal import HEADER, TTY_ENV, Terminal, view


def test_the_sandbox_applied_on_a_100x24_terminal(sandbox_project):
    project = sandbox_project
    project.keep_clusters(lambda cluster: cluster["name"] == "ack-hz-01")
    project.without_fleets()  # one cluster with its ingress, storage and encryption: about 40 resources

    def views(*args: str) -> tuple[str, list[list[str]]]:
        """The output of a run, and the live view on each screen of it, checked as a person would look at it."""
        command = [sys.executable, "-m", "engine.cli", *args, "-s", "sandbox", "--cwd", str(project.dir)]
        run = subprocess.run(command, env={**project.env, **TTY_ENV}, capture_output=True, timeout=300)
        out = run.stdout.decode()  # bytes: a text pipe would turn the redraws' carriage returns into new lines
        assert run.returncode == 0, out[-3000:] + run.stderr.decode()[-3000:]
        found = [view(lines) for lines in Terminal(100, 24).replay(out) if view(lines)]
        for lines in found:
            assert HEADER.match(lines[0]) and len(lines) < 24
            running = re.search(r"· (\d+) running", lines[0])
            assert sum("ing… " in line for line in lines) == (int(running[1]) if running else 0), lines
        return out, found

    out, up = views("up", "--yes")

    assert "Updating stack 'sandbox' of project 'fleetform'" in out and "Backend: file://" in out
    assert up[0][0].endswith("· running the program…")
    assert any(re.search(r"· \d+ running", lines[0]) for lines in up)  # calls in flight were on screen
    done = re.fullmatch(r"✓ up · \d+s · (\d+)/\1 done", up[-1][0])
    assert done and f"+ {done[1]} created" in out  # the view counts what the summary counts
    assert int(done[1]) > 22 and re.fullmatch(r"✓ \d+ done", up[-1][-1].strip())  # more than fit: a count line
