"""The Markdown review of a plan: summary by component, per-resource diffs with replaces and deletes
first, secrets masked, and a hard size cap that cuts whole sections with a note of what was cut."""

from __future__ import annotations

import re

from engine.diff import PropertyChange
from engine.operations import RunResult
from engine.plan_model import build
from engine.plan_render import COMMENT_LIMIT, markdown, marker
from engine.secrets import wrap_secret
from engine.state import ResourceState
from engine.steps import Op, Step

STACK = "prod"


def urn(type_: str, name: str, parent_type: str = "") -> str:
    qualified = f"{parent_type}${type_}" if parent_type else type_
    return f"urn:pulumi:{STACK}::fleetform::{qualified}::{name}"


CLUSTER_T = "fleetform:index:RegisteredCluster"
FLEET_T = "fleetform:index:Fleet"
OBJ_T = "kubernetes:core/v1:ConfigMap"


def component(type_: str, name: str) -> Step:
    return Step(Op.SAME, urn(type_, name), type_, ResourceState(urn(type_, name), type_, False))


def child(op: Op, parent: Step, name: str, changes=(), inputs=None) -> Step:
    old = ResourceState(urn(OBJ_T, name, parent.type), OBJ_T, True, inputs={"data": {"k": "old"}})
    step = Step(op, old.urn, OBJ_T, None if op == Op.CREATE else old, inputs or {}, list(changes), parent=parent.urn)
    if op == Op.REPLACE:
        step.replace_reasons = ["metadata.name (provider)"]
    return step


def sections(text: str) -> list[str]:
    return re.findall(r"<details><summary><b>([a-z ()]+)</b> <code>([^<]+)</code>", text)


def test_summary_groups_by_top_level_component_and_orders_replaces_and_deletes_first():
    east, west = component(FLEET_T, "fleet-east"), component(CLUSTER_T, "idc-sh-01")
    # a grandchild: counted under the top-level cluster, not under its direct parent
    mid = Step(Op.SAME, urn("fleetform:index:ClusterBootstrap", "boot", CLUSTER_T), "fleetform:index:ClusterBootstrap")
    mid.parent = west.urn
    deep = Step(Op.UPDATE, urn(OBJ_T, "deep", f"{CLUSTER_T}$fleetform:index:ClusterBootstrap"), OBJ_T)
    deep.parent, deep.changes = mid.urn, [PropertyChange("data.k", "update", "a", "b")]
    steps = [
        east,
        west,
        mid,
        deep,
        child(Op.CREATE, east, "new-binding", inputs={"data": {"k": "v"}}),
        child(Op.REPLACE, west, "swapped", [PropertyChange("metadata.name", "update", "x", "y")]),
        child(Op.DELETE, east, "gone"),
    ]
    text = markdown(build(RunResult("preview", STACK, steps)))

    assert text.startswith(marker(STACK) + "\n")
    assert "**1 to create, 1 to update, 1 to replace, 1 to delete**; 3 unchanged." in text
    assert "| Fleet `fleet-east` | 1 |  |  | 1 | 1 |" in text
    assert "| RegisteredCluster `idc-sh-01` |  | 1 | 1 |  | 2 |" in text
    assert "| **total** | **1** | **1** | **1** | **1** | **3** |" in text
    assert [op for op, _name in sections(text)] == ["replace", "delete", "update", "create"]
    assert '- data.k: "a"\n+ data.k: "b"' in text
    assert "Replaced because of <code>metadata.name (provider)</code>" in text
    assert "in RegisteredCluster idc-sh-01" in text


def test_secrets_are_masked_everywhere():
    fleet = component(FLEET_T, "f")
    steps = [
        fleet,
        child(Op.CREATE, fleet, "made", inputs={"token": wrap_secret("tok-plain-1"), "kubeconfig": "visible"}),
        child(
            Op.UPDATE,
            fleet,
            "changed",
            [PropertyChange("password", "update", wrap_secret("old-plain-2"), wrap_secret("new-plain-3"))],
        ),
    ]
    text = markdown(build(RunResult("preview", STACK, steps)))
    for plain in ("tok-plain-1", "old-plain-2", "new-plain-3"):
        assert plain not in text
    assert '+ token: "[secret]"' in text and '+ password: "[secret]"' in text


def test_a_huge_plan_is_cut_to_the_comment_limit_with_a_note():
    steps = []
    for index in range(300):
        cluster = component(CLUSTER_T, f"cluster-{index:03}")
        big = [PropertyChange(f"data.key{n}", "update", "o" * 400, "n" * 400) for n in range(6)]
        op = Op.REPLACE if index % 50 == 0 else Op.UPDATE
        steps += [cluster, child(op, cluster, f"object-{index:03}", big)]
    model = build(RunResult("preview", STACK, steps))

    text = markdown(model)

    assert len(text) <= COMMENT_LIMIT
    kept = sections(text)
    note = re.search(r"\*\*(\d+) resource sections were cut\*\* \((.*?)\)", text)
    assert note is not None
    assert len(kept) + int(note.group(1)) == len(model.changes) == 300
    assert [op for op, _ in kept[:6]] == ["replace"] * 6  # the six replaces made it, first
    assert note.group(2) == f"{300 - len(kept)} update"
    assert "| **total** | **0** | **294** | **6** | **0** | **300** |" in text
    first_cut = f"object-{len(kept) - 6 + 1:03}"
    assert f"<code>{first_cut}</code> (update)" in text  # the note names what was cut


def test_a_small_plan_is_not_cut():
    cluster = component(CLUSTER_T, "c")
    text = markdown(build(RunResult("preview", STACK, [cluster, child(Op.DELETE, cluster, "x")])))
    assert "were cut" not in text
    assert len(sections(text)) == 1


def test_the_programs_warnings_are_listed_with_the_notes():
    cluster = component(CLUSTER_T, "c")
    result = RunResult("preview", STACK, [cluster], notes=["a note"])
    diagnostics = [
        {"severity": "warning", "message": "aescbc is weaker than aesgcm", "urn": ""},
        {"severity": "info", "message": "chatter", "urn": ""},
    ]
    text = markdown(build(result, diagnostics))
    assert "<summary>Notes (2)</summary>" in text
    assert "- warning: aescbc is weaker than aesgcm" in text and "chatter" not in text
