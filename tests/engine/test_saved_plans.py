"""Saved plans: `preview --save-plan` then `up --plan` applies exactly the reviewed steps; a plan
that went stale (the state written since, the program or an input changed, another stack) is
refused with exit 3 naming the first difference, before anything is applied."""

from __future__ import annotations

import json

import pytest

from engine.errors import EXIT_CHANGES_PRESENT, EXIT_INVALID_INPUT, EXIT_OK
from engine.plan_file import PlannedStep, SavedPlan
from engine.secrets import UNKNOWN
from engine.steps import Op, Step

A = {"name": "a", "content": "one", "secret": "hush-hush-value"}
B = {"name": "b", "content": "two"}


@pytest.fixture
def applied(files_project):
    files_project.declare(A, B)
    assert files_project.cli("up", "--yes").code == EXIT_OK
    return files_project


def _save(project, tmp_path, name: str = "plan.json"):
    path = tmp_path / name
    run = project.cli("preview", "--save-plan", str(path))
    assert run.code == EXIT_OK, run.out + run.err
    return path


def _up_with(project, path):
    return project.cli("up", "--yes", "--plan", str(path))


def test_a_saved_plan_applies_exactly_its_steps(applied, tmp_path):
    project = applied
    project.declare({**A, "content": "one-changed", "secret": "new-secret-value"}, {"name": "c", "content": "3"})
    path = _save(project, tmp_path)
    text = path.read_text()
    assert "new-secret-value" not in text and "hush-hush-value" not in text  # encrypted, as in state
    steps = {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in json.loads(text)["plan"]["steps"]}
    assert steps == {"a": "update", "b": "delete", "c": "create"}
    before = project.events()

    run = _up_with(project, path)

    assert run.code == EXIT_OK, run.out + run.err
    assert sorted(project.events()[len(before) :]) == ["create c.txt", "delete b.txt", "update a.txt"]
    assert project.urns() == {"a", "c"}
    assert project.content("a.txt") == "one-changed"
    assert project.cli("preview", "--expect-no-changes").code == EXIT_OK


def test_a_plan_is_refused_once_the_state_was_written_since(applied, tmp_path):
    project = applied
    project.declare({**A, "content": "reviewed"}, B)
    path = _save(project, tmp_path)
    project.declare({**A, "content": "sneaked-in"}, B)
    assert project.cli("up", "--yes").code == EXIT_OK  # another run changes the state
    project.declare({**A, "content": "reviewed"}, B)
    before = project.events()

    run = _up_with(project, path)

    assert run.code == EXIT_CHANGES_PRESENT
    assert "the state changed since the plan was computed" in run.err and "serial" in run.err
    assert project.events() == before  # nothing applied
    assert project.content("a.txt") == "sneaked-in"


def test_a_plan_is_refused_when_the_program_plans_another_operation(applied, tmp_path):
    project = applied
    path = _save(project, tmp_path)  # nothing to do
    project.declare({**A, "content": "edited-after-review"}, B)
    before = project.events()

    run = _up_with(project, path)

    assert run.code == EXIT_CHANGES_PRESENT
    assert "File::a: the operation is update now (input content changed), the plan has same" in run.err
    assert project.events() == before


def test_a_plan_is_refused_when_an_input_changed(applied, tmp_path):
    project = applied
    project.declare({**A, "content": "reviewed"}, B)
    path = _save(project, tmp_path)
    project.declare({**A, "content": "not-reviewed"}, B)
    before = project.events()

    run = _up_with(project, path)

    assert run.code == EXIT_CHANGES_PRESENT
    assert 'File::a: input content is "not-reviewed" now, the plan has "reviewed"' in run.err
    assert project.events() == before


def test_a_changed_secret_is_named_but_not_shown(applied, tmp_path):
    project = applied
    project.declare({**A, "secret": "reviewed-secret"}, B)
    path = _save(project, tmp_path)
    project.declare({**A, "secret": "other-secret"}, B)

    run = _up_with(project, path)

    assert run.code == EXIT_CHANGES_PRESENT
    assert 'input secret is "[secret]" now, the plan has "[secret]"' in run.err
    assert "other-secret" not in run.err and "reviewed-secret" not in run.err


def test_a_plan_is_refused_when_the_set_of_resources_changed(applied, tmp_path):
    project = applied
    path = _save(project, tmp_path)
    project.declare(A, B, {"name": "extra", "content": "x"})

    run = _up_with(project, path)

    assert run.code == EXIT_CHANGES_PRESENT
    assert "File::extra is planned now (create) but not in the plan" in run.err
    assert "extra" not in project.urns()


def test_a_plan_of_another_stack_is_refused(applied, tmp_path):
    project = applied
    path = _save(project, tmp_path)
    project.stack = "other"
    project.declare(A, B)

    run = _up_with(project, path)

    assert run.code == EXIT_CHANGES_PRESENT
    assert "is a plan of stack 'dev', not 'other'" in run.err


def test_an_edited_plan_is_refused_as_invalid_input(applied, tmp_path):
    project = applied
    project.declare({**A, "content": "reviewed"}, B)
    path = _save(project, tmp_path)
    path.write_text(path.read_text().replace('"reviewed"', '"tampered"'))

    run = _up_with(project, path)

    assert run.code == EXIT_INVALID_INPUT
    assert "does not match its integrity seal" in run.err
    assert project.content("a.txt") == "one"


def test_a_failed_preview_writes_no_plan(applied, tmp_path):
    project = applied
    project.declare(A, B, {"name": "bad", "content": "x", "depends_on": ["missing"]})
    path = tmp_path / "plan.json"
    path.write_text("an older plan")
    run = project.cli("preview", "--save-plan", str(path))
    assert run.code != EXIT_OK
    assert not path.exists()  # not even the older one, which this preview did not compute


def test_serial_counts_only_writes_that_change_the_state(applied):
    project = applied
    first = project.state()
    assert first["serial"] >= 1 and first["lineage"]
    assert project.cli("up", "--yes").code == EXIT_OK  # nothing to do: last_run changes, not the state
    assert (project.state()["serial"], project.state()["lineage"]) == (first["serial"], first["lineage"])
    project.declare({**A, "content": "changed"}, B)
    assert project.cli("up", "--yes").code == EXIT_OK
    assert project.state()["serial"] > first["serial"]
    assert project.state()["lineage"] == first["lineage"]


def test_a_state_written_before_serials_plans_and_applies(applied, tmp_path):
    """An older state file (no lineage, no serial) is read; its lineage is derived the same way by
    every reader, so a plan made from it applies; the next write records both."""
    project = applied
    document = project.state()
    legacy = {k: v for k, v in document.items() if k not in ("integrity", "lineage", "serial")}
    project.state_file.write_text(json.dumps({**legacy, "version": 1}))
    project.declare({**A, "content": "after-upgrade"}, B)
    path = _save(project, tmp_path)
    assert json.loads(path.read_text())["plan"]["state"]["serial"] == 0

    run = _up_with(project, path)

    assert run.code == EXIT_OK, run.err
    assert project.content("a.txt") == "after-upgrade"
    assert project.state()["serial"] >= 1
    assert project.state()["lineage"] == json.loads(path.read_text())["plan"]["state"]["lineage"]


def test_refresh_reads_drift_before_planning(applied, tmp_path):
    """`--refresh` plans from what exists: preview keeps the read in memory, up records and repairs it."""
    project = applied
    (project.files / "a.txt").write_text(json.dumps({"content": "edited by hand"}))
    serial = project.state()["serial"]
    assert project.cli("preview", "--expect-no-changes").code == EXIT_OK  # the state still says "one"

    run = project.cli("preview", "--refresh", "--json", "--expect-no-changes")

    assert run.code == EXIT_CHANGES_PRESENT
    steps = {s["urn"].rsplit("::", 1)[-1]: s for s in run.json()["steps"]}
    assert steps["a"]["op"] == "update"
    assert any("File::a changed outside fleetform" in note for note in run.json()["notes"])
    assert project.state()["serial"] == serial  # preview wrote nothing

    path = tmp_path / "plan.json"
    assert project.cli("preview", "--refresh", "--save-plan", str(path)).code == EXIT_OK
    assert project.cli("up", "--yes", "--plan", str(path)).code == EXIT_OK  # the plan's refresh is repeated
    assert project.content("a.txt") == "one"


def test_while_applying_a_step_may_do_less_only_where_the_plan_had_unknowns(tmp_path):
    """An input unknown at preview (an output of a resource still to be created) may resolve to
    the recorded value: the planned update then does nothing. A step planned from known values
    must do exactly what was planned, and no step may ever do more."""
    urn = "urn:pulumi:dev::filestest::test:index:Thing::t"
    planned_unknown = PlannedStep(urn, "test:index:Thing", "update", {"x": UNKNOWN, "y": 1})
    planned_known = PlannedStep(urn, "test:index:Thing", "update", {"x": "old", "y": 1})
    planned_same = PlannedStep(urn, "test:index:Thing", "same", {"x": UNKNOWN, "y": 1})
    same_now = Step(Op.SAME, urn, "test:index:Thing", inputs={"x": "old", "y": 1})
    update_now = Step(Op.UPDATE, urn, "test:index:Thing", inputs={"x": "new", "y": 1})

    def plan(step: PlannedStep) -> SavedPlan:
        return SavedPlan(tmp_path / "plan.json", {}, {urn: step})

    assert plan(planned_unknown).enforce(same_now) is None
    assert plan(planned_unknown).difference(same_now) is not None  # the check before applying is exact
    assert "the operation is same now, the plan has update" in plan(planned_known).enforce(same_now)
    assert "the operation is update now, the plan has same" in plan(planned_same).enforce(update_now)
    stricter = plan(planned_unknown)
    assert stricter.enforce(Step(Op.SAME, urn, "test:index:Thing", inputs={"x": "old", "y": 2})) is not None
    assert stricter.violations == ["urn:pulumi:dev::filestest::test:index:Thing::t: input y is 2 now, the plan has 1"]


def test_a_new_stack_applies_its_first_plan(files_project, tmp_path):
    files_project.declare(A, B)
    path = _save(files_project, tmp_path)
    assert json.loads(path.read_text())["plan"]["state"] == {"lineage": "", "serial": 0}
    run = _up_with(files_project, path)
    assert run.code == EXIT_OK, run.err
    assert files_project.urns() == {"a", "b"}
