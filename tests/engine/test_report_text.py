"""The end of a run as text: property diffs grouped by component, failures once each with the skipped dependents counted, outputs in a stable order with
changes marked and secrets masked, the Resources block, Terraform's line on request, and destroy's prompt."""

from __future__ import annotations

from engine.diff import PropertyChange
from engine.operations import RunResult
from engine.report_text import (
    change_lines,
    destroy_lines,
    failure_lines,
    outputs_block,
    resources_block,
    terraform_line,
)
from engine.secrets import wrap_secret
from engine.state import ResourceState
from engine.steps import Op, Status, Step

FILE = "pulumi-python:dynamic/files:File"


def step(name: str, op: Op, status: Status = Status.DONE, error: str = "") -> Step:
    return Step(op=op, urn=f"urn:pulumi:dev::p::{FILE}::{name}", type=FILE, status=status, error=error)


def result(kind: str, *steps: Step, outputs=None, previous=None) -> RunResult:
    run = RunResult(kind, "dev", list(steps), outputs or {})
    run.previous_outputs = previous
    return run


def test_each_failure_is_listed_once_and_skipped_dependents_are_counted():
    failed = step("c", Op.CREATE, Status.FAILED, "create failed: disk full\nsecond line")
    lines = failure_lines(
        result(
            "up",
            step("a", Op.CREATE),
            failed,
            step("d", Op.CREATE, Status.SKIPPED),
            step("e", Op.CREATE, Status.SKIPPED),
        )
    )

    assert lines == [
        "",
        "Failures:",
        f"  {FILE} c",
        "    create failed: disk full",
        "    second line",
        "  2 dependents skipped (they need a failed resource)",
    ]
    assert "skipped: skipped" not in "\n".join(lines)
    assert failure_lines(result("up", step("a", Op.CREATE))) == []


def test_resources_block_and_terraform_line_count_like_pulumi_and_terraform():
    steps = [
        step("a", Op.CREATE),
        step("b", Op.UPDATE),
        step("c", Op.REPLACE),
        step("d", Op.DELETE),
        step("e", Op.SAME),
    ]

    assert resources_block(result("preview", *steps)) == [
        "",
        "Resources:",
        "    + 1 to create",
        "    ~ 1 to update",
        "    +- 1 to replace",
        "    - 1 to delete",
        "    1 unchanged",
    ]
    assert resources_block(result("up", *steps))[2] == "    + 1 created"
    assert terraform_line(result("preview", *steps)) == "Plan: 2 to add, 1 to change, 2 to destroy."
    assert terraform_line(result("up", *steps)) == "Apply complete! Resources: 2 added, 1 changed, 2 destroyed."
    failing = result("up", step("a", Op.CREATE, Status.FAILED, "boom"))
    assert terraform_line(failing) is None  # no "complete" after a failed apply, as Terraform


def test_outputs_are_sorted_blocks_with_changes_marked_numbers_whole_and_secrets_masked():
    previous = {"zeta": 1.0, "alpha": {"b": 2, "a": [1, 2]}, "gone": "x", "token": wrap_secret("old-token")}
    outputs = {"alpha": {"a": [1, 2], "b": 3.0}, "zeta": 1.0, "added": "new", "token": wrap_secret("new-token")}

    lines = outputs_block(result("up", outputs=outputs, previous=previous))

    assert lines == [
        "",
        "Outputs:",
        "  + added: new",
        "  ~ alpha:",
        "      a:",
        "          - 1",
        "          - 2",
        "      b: 3",
        "  - gone: x",
        "  ~ token: [secret]",
        "    zeta: 1",
    ]
    assert "new-token" not in "\n".join(lines) and "old-token" not in "\n".join(lines)
    first_run = outputs_block(result("up", outputs={"b": "2", "a": "1"}))
    assert first_run == ["", "Outputs:", "    a: 1", "    b: 2"]  # nothing to compare with: no marks


def test_destroy_says_what_it_will_delete_per_component():
    def res(name: str, type_: str, parent: str = "") -> ResourceState:
        return ResourceState(urn=f"urn:pulumi:dev::p::{type_}::{name}", type=type_, custom=True, parent=parent)

    cluster = res("c1", "test:index:Cluster")
    lines = destroy_lines(
        [
            res("p-dev", "pulumi:pulumi:Stack"),
            cluster,
            res("c1-token", "kubernetes:core/v1:Secret", cluster.urn),
            res("lone", FILE),
        ],
        "dev",
    )

    assert lines == [
        "destroy will delete 3 resources of stack 'dev':",
        "  - Cluster c1 (2 resources)",
        "  - File lone (1 resource)",
    ]


def test_diffs_are_grouped_under_their_component_with_replaces_and_deletes_first():
    cluster = "urn:pulumi:dev::p::fleetform:index:RegisteredCluster::prod-a"
    fleet = "urn:pulumi:dev::p::fleetform:index:Fleet::blue"

    def under(parent: str, name: str, op: Op, **fields) -> Step:
        stack, parent_type, _name = parent.rsplit("::", 2)
        urn = f"{stack}::{parent_type}$x:y:Z::{name}"
        return Step(op, urn, "x:y:Z", parent=parent, status=Status.PLANNED, **fields)

    steps = [
        Step(Op.SAME, cluster, "fleetform:index:RegisteredCluster", status=Status.PLANNED),
        Step(Op.SAME, fleet, "fleetform:index:Fleet", status=Status.PLANNED),
        under(fleet, "member", Op.CREATE),
        under(cluster, "labels", Op.UPDATE, changes=[PropertyChange("count", "update", 40.0, 41.0)]),
        under(cluster, "secret", Op.REPLACE, replace_reasons=["data (provider)"]),
        under(cluster, "old", Op.DELETE),
        under(cluster, "same", Op.SAME),
        step("loose", Op.UPDATE),
    ]
    steps[-1].changes = [PropertyChange("content", "update", "one", "uno")]

    assert change_lines(result("preview", *steps)) == [
        "",
        "Changes:",
        "  RegisteredCluster prod-a",
        "    +- x:y:Z secret",
        "        replace because of data (provider)",
        "    -  x:y:Z old",
        "    ~  x:y:Z labels",
        "        ~ count: 40 => 41",
        f"  ~  {FILE} loose",
        '      ~ content: "one" => "uno"',
        "  Fleet blue",
        "    +  x:y:Z member",
    ]
    assert change_lines(result("preview", step("a", Op.SAME))) == []
