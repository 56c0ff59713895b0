"""The sandbox applied, previewed and destroyed as a person sees it on a 100x24 terminal: the phase while the
program loads, every call in flight on screen, never a view taller than the screen, unchanged resources counted
and not listed, the counts of the summary (the view is tested in depth, failures included, on a synthetic program
in tests/engine/test_live_view.py)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.engine.terminal import TTY_ENV, views


def test_the_sandbox_applied_on_a_100x24_terminal(sandbox_project):
    project = sandbox_project
    project.keep_clusters(lambda cluster: cluster["name"] == "ack-hz-01")
    project.without_fleets()  # one cluster with its ingress, storage and encryption: about 40 resources

    def on_terminal(*args: str) -> str:
        command = [sys.executable, "-m", "engine.cli", *args, "-s", "sandbox", "--cwd", str(project.dir)]
        run = subprocess.run(command, env={**project.env, **TTY_ENV}, capture_output=True, timeout=300)
        out = run.stdout.decode()  # from bytes: a text pipe would turn the redraws' carriage returns into new lines
        assert run.returncode == 0, out[-3000:] + run.stderr.decode()[-3000:]
        return out

    out = on_terminal("up", "--yes")
    up = views(out)  # each screen checked: shorter than the screen, every call in flight on it

    assert "Updating stack 'sandbox' of project 'fleetform'" in out and "Backend: file://" in out
    assert up[0][0].endswith("· running the program…")
    assert any(re.search(r"· \d+ running", lines[0]) for lines in up)  # calls in flight were on screen
    done = re.fullmatch(r"✓ up · \d+s · (\d+)/\1 done", up[-1][0])
    assert done and f"+ {done[1]} created" in out  # the view counts what the summary counts
    assert int(done[1]) > 22 and re.fullmatch(r"✓ \d+ done", up[-1][-1].strip())  # more than fit: a count line

    preview = views(on_terminal("preview"))
    assert re.fullmatch(rf"✓ preview · \d+s · {done[1]} resources · {done[1]} unchanged", preview[-1][0])
    assert len(preview[-1]) == 1  # nothing changes: no row, the header counts them

    out = on_terminal("destroy", "--yes")
    destroyed = re.fullmatch(rf"✓ destroy · \d+s · ({done[1]})/\1 done", views(out)[-1][0])
    assert destroyed and f"- {done[1]} deleted" in out
