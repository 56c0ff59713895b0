"""The live view on a terminal of fixed size (a pyte screen): work in progress and failures always on screen, the
view never taller than the screen nor wrapped, correct counts, unchanged resources hidden unless --show-sames, a
spinner and the phase while the program loads; off a terminal a line per step; the stack header."""

from __future__ import annotations

import io
import re
import sys

from rich.console import Console

from engine.live_view import LiveView
from engine.render import Reporter
from engine.steps import Op, Status, Step
from tests.engine.terminal import HEADER, TTY_ENV, Terminal, run_in_pty, view
from tests.engine.terminal import views as terminal_views

FILE = "pulumi-python:dynamic/files:File"


def step(name: str, op: Op = Op.CREATE, status: Status = Status.PLANNED, type_: str = FILE) -> Step:
    return Step(op, f"urn:pulumi:dev::p::{type_}::{name}", type_, status=status)


def shown(terminal: Terminal, reporter: Reporter) -> list[str]:
    """The view on the screen after a redraw; the checks that hold on every screen."""
    reporter.live.refresh()
    lines = view(terminal.lines())
    assert lines, "\n".join(terminal.lines())
    assert "..." not in [line.strip() for line in lines]  # rich's mark of a view cut at the bottom
    assert len(lines) < terminal.height
    return lines


def test_300_steps_on_a_100x24_screen_keep_every_running_and_failed_row_visible():
    terminal = Terminal(100, 24)
    reporter = Reporter("up", console=terminal.console())
    steps = [step(f"res-{i:03d}") for i in range(300)]
    with reporter:
        for s in steps:
            reporter.on_step(s)
        lines = shown(terminal, reporter)
        assert lines[0].endswith("0/300 done")
        for batch in range(0, 300, 30):
            for s in steps[batch : batch + 30]:
                s.status = Status.DONE
                reporter.on_step(s)
            running = steps[batch + 30 : batch + 34]
            for s in running:
                s.status = Status.RUNNING
                reporter.on_step(s)
            if batch % 90 == 0:  # a failure now and then, which stays on screen from then on
                failed = steps[batch + 29]
                failed.status, failed.error = Status.FAILED, "create failed: quota exceeded\ntraceback..."
                reporter.on_step(failed)
            lines = shown(terminal, reporter)
            text = "\n".join(lines)
            for s in running + [s for s in steps if s.status == Status.FAILED]:
                assert f" {s.name} " in text, text
            done = sum(1 for s in steps if s.status == Status.DONE)
            assert f"{done}/300 done" in lines[0]
            assert f"✓ {done - sum(f' {s.name} ' in text for s in steps if s.status == Status.DONE)} done" in lines[-1]
        failures = [line for line in lines if " failed " in line]
        assert len(failures) == 4 and all("quota exceeded" in line and "traceback" not in line for line in failures)
    final = view(terminal.lines())
    assert final[0].startswith("✗ up · ") and "4 failed" in final[0]  # the last frame says how it ended


def test_more_work_in_flight_than_lines_fills_the_screen_failures_first_and_counts_the_rest():
    view_ = LiveView("up")
    for i in range(30):
        view_.update(str(i), step(f"r{i}", status=Status.RUNNING))
    view_.update("bad", step("bad", status=Status.FAILED))

    lines = [line.plain for line in view_.lines(10)]

    assert len(lines) == 10
    assert any(" bad " in line for line in lines)  # a failure is kept before calls in flight
    assert lines[-1].strip() == "23 more running"  # 31 rows, 8 shown


def test_a_narrow_screen_cuts_each_row_at_its_width_and_never_wraps():
    terminal = Terminal(40, 10)
    reporter = Reporter("up", console=terminal.console())
    long_type = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
    with reporter:
        for i in range(12):
            reporter.on_step(step(f"binding-{i}", status=Status.RUNNING, type_=long_type))
        lines = shown(terminal, reporter)
    assert len(lines) == 9  # the header, 7 rows and the line counting the rows left out
    assert lines[-1].strip() == "5 more running"
    rows = lines[1:-1]
    assert all(line.endswith("…") and len(line) == 40 for line in rows)
    assert all("creating…" in line and "binding-" in line for line in rows)  # each line one row, no wrapped tail


def test_unchanged_resources_are_counted_not_listed_unless_show_sames():
    def preview_lines(show_sames: bool) -> list[str]:
        terminal = Terminal(100, 24)
        reporter = Reporter("preview", console=terminal.console(), show_sames=show_sames)
        with reporter:
            for i in range(10):
                reporter.on_step(step(f"same-{i}", Op.SAME))
            reporter.on_step(step("new", Op.CREATE))
            reporter.on_step(step("changed", Op.UPDATE))
        return view(terminal.lines())

    hidden = preview_lines(show_sames=False)
    assert hidden[0].endswith("12 resources · 1 to update · 1 to create · 10 unchanged")
    assert hidden[0].startswith("✓ preview")
    assert len(hidden) == 3 and "same-" not in "\n".join(hidden)
    listed = preview_lines(show_sames=True)
    assert listed[0] == hidden[0]
    assert len(listed) == 13 and all(any(f" same-{i} " in line for line in listed) for i in range(10))


def test_while_the_program_loads_a_spinner_turns_with_the_phase_and_the_time():
    now = [100.0]
    view_ = LiveView("preview", clock=lambda: now[0])
    first = view_.lines(5)[0].plain
    now[0] += 65.25
    later = view_.lines(5)[0].plain
    assert first == "⠋ preview · 0s · running the program…"
    assert later.endswith(" preview · 1m05s · running the program…") and later[0] != first[0]
    assert HEADER.match(first) and HEADER.match(later)


def test_no_color_leaves_out_colours_but_keeps_the_view(monkeypatch):
    def drawn() -> str:
        out = io.StringIO()
        reporter = Reporter("up", out=out)  # its own console, which reads the environment
        with reporter:
            reporter.on_step(step("a", status=Status.RUNNING))
        return out.getvalue()

    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\x1b[32m" in drawn()  # green: a create
    monkeypatch.setenv("NO_COLOR", "1")
    plain = drawn()
    assert not re.search("\x1b\\[(3|4|9)\\d", plain)  # no foreground or background colour
    assert "up · 0s · 0/1 done · 1 running\n + creating…  a  " + FILE in re.sub("\x1b\\[[0-9;?]*[a-zA-Z]", "", plain)


def test_a_running_row_shows_what_its_step_waits_for_and_a_finished_one_does_not():
    terminal = Terminal(120, 24)
    reporter = Reporter("destroy", console=terminal.console())
    ns = step("team-a", Op.DELETE, Status.RUNNING)
    with reporter:
        reporter.on_step(ns)
        ns.waiting_for = "waiting for finalizers kubernetes to be removed (up to 600s)"
        reporter.on_step(ns)
        (row,) = [line for line in shown(terminal, reporter) if " team-a " in line]
        assert row.rstrip().endswith("waiting for finalizers kubernetes to be removed (up to 600s)"), row
        ns.status, ns.waiting_for = Status.DONE, ""
        reporter.on_step(ns)
        (row,) = [line for line in shown(terminal, reporter) if " team-a " in line]
        assert "waiting" not in row, row


def test_off_a_terminal_one_line_per_step_and_sames_only_with_show_sames():
    def lines(show_sames: bool) -> list[str]:
        out = io.StringIO()
        reporter = Reporter("up", out=out, show_sames=show_sames)
        reporter.console = Console(file=out, width=200)
        with reporter:
            created = step("new", status=Status.RUNNING)
            reporter.on_step(created)
            created.status = Status.DONE
            reporter.on_step(created)
            reporter.on_step(step("kept", Op.SAME, Status.DONE))
        return out.getvalue().splitlines()

    assert lines(show_sames=False) == [f" + creating   {FILE}  new  …", f" + create     {FILE}  new  ✓"]
    assert lines(show_sames=True)[-1] == f"   same       {FILE}  kept  ✓"


def test_the_stack_header_names_project_stack_operation_and_backend_without_its_password():
    out = io.StringIO()
    Reporter("up", out=out).begin("fleetform", "prod", "postgres://ops:hunter2@db.example:5432/state")
    assert out.getvalue().splitlines() == [
        "Updating stack 'prod' of project 'fleetform'",
        "Backend: postgres://ops:***@db.example:5432/state",
        "",
    ]
    quiet = io.StringIO()
    Reporter("up", out=quiet, quiet=True).begin("fleetform", "prod", "file:///state")
    assert quiet.getvalue() == ""  # --json and --markdown print one document only


def test_a_program_previewed_applied_with_a_failure_and_destroyed_on_a_100x24_terminal(files_project, monkeypatch):
    for key, value in TTY_ENV.items():
        monkeypatch.setenv(key, value)
    files_project.declare(
        *({"name": f"f{i:02d}", "content": "x", "group": f"g{i % 3}", "sleep": 0.5 * (i % 10 == 0)} for i in range(40)),
        {"name": "bad", "content": "x", "fail": True},
        {"name": "after", "content": "x", "depends_on": ["bad"]},
    )

    def views(*args: str) -> list[list[str]]:
        run = files_project.cli(*args)
        found = terminal_views(run.out)
        assert found, run.out
        return found

    preview = views("preview")
    assert preview[0][0].endswith("· running the program…")
    assert re.fullmatch(r"✓ preview · \d+s · 45 resources · 45 to create", preview[-1][0])  # 40 files, 3 groups
    assert len(preview[-1]) == 23 and preview[-1][-1].strip() == "24 planned"  # 21 rows shown

    up = views("up", "--yes")
    assert any(re.search(r"· \d+ running", lines[0]) for lines in up)  # the slow ones were seen in flight
    assert re.fullmatch(r"✗ up · \d+s · 43/45 done · 1 failed · 1 skipped", up[-1][0])
    after_failure = [lines for lines in up if "1 failed" in lines[0]]
    assert after_failure and all(any(" bad " in row and "failed" in row for row in v) for v in after_failure)
    assert any(" after " in row and "skipped" in row and "depends on failed bad" in row for row in up[-1])
    assert up[-1][-1].strip().startswith("✓ ") and up[-1][-1].strip().endswith(" done")

    again = views("preview")
    assert re.fullmatch(r"✓ preview · \d+s · 45 resources · 2 to create · 43 unchanged", again[-1][0])
    assert [row.split()[2] for row in again[-1][1:]] == ["bad", "after"]  # the unchanged 43 are only counted
    listed = views("preview", "--show-sames")
    assert listed[-1][0].endswith(" · 45 resources · 2 to create · 43 unchanged")
    assert sum(" same " in row for row in listed[-1]) >= 19 and listed[-1][-1].strip() == "24 planned"

    destroy = views("destroy", "--yes")
    assert re.fullmatch(r"✓ destroy · \d+s · 43/43 done", destroy[-1][0])  # what up made: all but bad and after
    assert all(row.split()[:2] == ["-", "deleted"] for row in destroy[-1][1:-1])


def test_up_on_a_terminal_shows_the_plan_grouped_by_component_before_it_asks(files_project):
    files_project.declare({"name": "a", "content": "one"}, {"name": "b", "content": "x", "group": "g"})
    assert files_project.cli("up", "--yes").code == 0
    files_project.declare({"name": "a", "content": "uno"}, {"name": "b", "content": "y", "group": "g"})
    question = "Do you want to perform this up on stack 'dev'?"
    command = [sys.executable, "-m", "engine.cli", "up", "-s", "dev", "--cwd", str(files_project.dir)]

    output = run_in_pty(command, question, "n", lines=40)

    screen = Terminal(100, 40)
    screen.replay(output)
    lines = screen.lines()
    asked = next(i for i, line in enumerate(lines) if line.startswith(question))
    plan = "\n".join(lines[:asked])
    changes = f'Changes:\n  ~  {FILE} a\n      ~ content: "one" => "uno"\n  Group g\n    ~  {FILE} b\n        ~ content: "x" => "y"\n'
    assert changes in plan
    assert "Previewing stack 'dev' of project 'filestest'" in plan and "~ 2 to update" in plan
    assert files_project.content("a.txt") == "one"  # answered no: nothing applied
