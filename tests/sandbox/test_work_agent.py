"""The emulated OCM work agent: ManifestWorks on the hub are applied into agent-joined members.

The controllers are driven pass by pass from the test (``SandboxControllers.reconcile``), so that
"nothing happened" is a statement about completed passes rather than about elapsed time. The
member's own control plane still acts asynchronously (namespace cleanup, foreground deletion), so
every expectation is polled with a bounded wait.
"""

from __future__ import annotations

import base64
import time

import pytest

from sandbox.controllers import SandboxControllers
from sandbox.kubeapi import ApiError, KubeApiEmulator

HUB = "hub"
WORK_API = "work.open-cluster-management.io/v1"
OCM_API = "cluster.open-cluster-management.io/v1"
FINALIZER = "cluster.open-cluster-management.io/manifest-work-cleanup"
_counter = iter(range(1, 10_000))


def open_crd(group: str, kind: str, plural: str, scope: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def emulator():
    with KubeApiEmulator(seed=11) as server:
        hub = server.add_cluster(HUB)
        hub.objects.create(
            open_crd("cluster.open-cluster-management.io", "ManagedCluster", "managedclusters", "Cluster")
        )
        hub.objects.create(open_crd("work.open-cluster-management.io", "ManifestWork", "manifestworks", "Namespaced"))
        yield server


@pytest.fixture
def hub(emulator):
    return emulator.cluster(HUB)


@pytest.fixture
def controllers(emulator):
    return SandboxControllers(emulator, HUB)


def settle(controllers: SandboxControllers, predicate, timeout: float = 10.0):
    """Run controller passes until ``predicate()`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        controllers.reconcile()
        if value := predicate():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)


def add_member(emulator, hub, *, klusterlet: bool):
    """A member with a cluster namespace and an accepted ManagedCluster on the hub; with
    ``klusterlet`` also the agent Deployment and its bootstrap kubeconfig (the hub's admin)."""
    name = f"m{next(_counter)}"
    member = emulator.add_cluster(name)
    hub.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    hub.objects.create(
        {
            "apiVersion": OCM_API,
            "kind": "ManagedCluster",
            "metadata": {"name": name},
            "spec": {"hubAcceptsClient": True},
        }
    )
    if klusterlet:
        agent_ns = "open-cluster-management-agent"
        member.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": agent_ns}})
        member.objects.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "bootstrap-hub-kubeconfig", "namespace": agent_ns},
                "data": {"kubeconfig": base64.b64encode(hub.kubeconfig().encode()).decode()},
            }
        )
        labels = {"app": "klusterlet-agent"}
        member.objects.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "klusterlet-agent", "namespace": agent_ns},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "agent",
                                    "image": "klusterlet:test",
                                    "args": ["agent", f"--cluster-name={name}"],
                                }
                            ]
                        },
                    },
                },
            }
        )
    return member


@pytest.fixture
def member(emulator, hub, controllers):
    m = add_member(emulator, hub, klusterlet=True)
    settle(controllers, lambda: condition(hub.objects.get(OCM_API, "ManagedCluster", m.name), "ManagedClusterJoined"))
    yield m
    emulator.remove_cluster(m.name)


def condition(obj: dict, kind: str) -> dict | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), None)


def manifest_work(name: str, namespace: str, manifests: list[dict], delete_option: dict | None = None) -> dict:
    spec = {"workload": {"manifests": manifests}}
    if delete_option:
        spec["deleteOption"] = delete_option
    return {
        "apiVersion": WORK_API,
        "kind": "ManifestWork",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def config_map(name: str, ns: str, **data) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data}


def get(cluster, api_version: str, kind: str, name: str, ns: str = "") -> dict | None:
    try:
        return cluster.objects.get(api_version, kind, name, ns)
    except ApiError as err:
        assert err.code == 404
        return None


def observed(hub, work: str, ns: str, kind: str = "Applied") -> dict | None:
    """The work's ``kind`` condition once it reports the work's current generation."""
    found = get(hub, WORK_API, "ManifestWork", work, ns)
    c = condition(found, kind) if found else None
    return c if c and c.get("observedGeneration") == found["metadata"]["generation"] else None


def set_manifests(hub, work: str, ns: str, manifests: list[dict]) -> None:
    hub.objects.patch(WORK_API, "ManifestWork", work, {"spec": {"workload": {"manifests": manifests}}}, ns)


# --- applying and reporting -----------------------------------------------------------------------


def test_manifests_are_applied_in_the_member_and_reported_on_the_hub(hub, member, controllers):
    ns = member.name
    hub.objects.create(manifest_work("app", ns, [namespace("app"), config_map("settings", "app", colour="blue")]))
    applied = settle(controllers, lambda: observed(hub, "app", ns))
    assert applied["status"] == "True"
    assert observed(hub, "app", ns, "Available")["status"] == "True"

    settings = member.objects.get("v1", "ConfigMap", "settings", "app")
    assert settings["data"] == {"colour": "blue"}
    assert [f["manager"] for f in settings["metadata"]["managedFields"]] == ["work-agent"]

    work = hub.objects.get(WORK_API, "ManifestWork", "app", ns)
    assert FINALIZER in work["metadata"]["finalizers"]
    manifests = work["status"]["resourceStatus"]["manifests"]
    assert [m["resourceMeta"] for m in manifests] == [
        {
            "ordinal": 0,
            "group": "",
            "version": "v1",
            "kind": "Namespace",
            "resource": "namespaces",
            "namespace": "",
            "name": "app",
        },
        {
            "ordinal": 1,
            "group": "",
            "version": "v1",
            "kind": "ConfigMap",
            "resource": "configmaps",
            "namespace": "app",
            "name": "settings",
        },
    ]
    for m in manifests:
        assert {c["type"]: c["status"] for c in m["conditions"]} == {"Applied": "True", "Available": "True"}

    records = member.objects.list(WORK_API, "AppliedManifestWork")
    assert [r["spec"]["manifestWorkName"] for r in records] == ["app"]
    assert {(r["resource"], r["name"], r["uid"]) for r in records[0]["status"]["appliedResources"]} == {
        ("namespaces", "app", member.objects.get("v1", "Namespace", "app")["metadata"]["uid"]),
        ("configmaps", "settings", settings["metadata"]["uid"]),
    }


def test_settled_members_cost_no_work_and_unchanged_conditions_keep_their_transition_time(hub, member, controllers):
    ns = member.name
    hub.objects.create(manifest_work("app", ns, [config_map("settings", "default", colour="blue")]))
    settle(controllers, lambda: observed(hub, "app", ns))
    work = hub.objects.get(WORK_API, "ManifestWork", "app", ns)
    for c in work["status"]["conditions"]:
        c["lastTransitionTime"] = "2020-01-01T00:00:00Z"
    hub.objects.patch(WORK_API, "ManifestWork", "app", {"status": work["status"]}, ns, subresource="status")
    controllers.reconcile()  # sees the status write, finds nothing to do

    applies = []
    original = member.objects.apply
    member.objects.apply = lambda *args, **kwargs: applies.append(args) or original(*args, **kwargs)
    try:
        controllers.reconcile()
        assert applies == []  # nothing changed on the hub or in the member: the member is not looked at
        set_manifests(hub, "app", ns, [config_map("settings", "default", colour="green")])
        applied = settle(controllers, lambda: observed(hub, "app", ns))
    finally:
        del member.objects.apply
    assert len(applies) >= 1
    assert (applied["status"], applied["lastTransitionTime"]) == ("True", "2020-01-01T00:00:00Z")


def test_changed_manifests_are_updated_and_dropped_ones_deleted(hub, member, controllers):
    ns = member.name
    hub.objects.create(manifest_work("app", ns, [namespace("app"), config_map("settings", "app", colour="blue")]))
    settle(controllers, lambda: observed(hub, "app", ns))

    set_manifests(hub, "app", ns, [namespace("app"), config_map("settings", "app", colour="green")])
    settle(controllers, lambda: observed(hub, "app", ns))
    assert member.objects.get("v1", "ConfigMap", "settings", "app")["data"] == {"colour": "green"}

    set_manifests(hub, "app", ns, [namespace("app")])
    settle(controllers, lambda: get(member, "v1", "ConfigMap", "settings", "app") is None)
    assert get(member, "v1", "Namespace", "app") is not None
    assert observed(hub, "app", ns)["status"] == "True"
    record = member.objects.list(WORK_API, "AppliedManifestWork")[0]
    assert [r["name"] for r in record["status"]["appliedResources"]] == ["app"]


def test_a_manifest_that_cannot_be_applied_fails_the_work_naming_it(hub, member, controllers):
    ns = member.name
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "default"}}
    hub.objects.create(manifest_work("mixed", ns, [config_map("fine", "default", a="1"), widget]))
    applied = settle(controllers, lambda: observed(hub, "mixed", ns))
    assert applied["status"] == "False"
    assert "Widget default/w1" in applied["message"] and "no Widget in example.com/v1" in applied["message"]
    assert get(member, "v1", "ConfigMap", "fine", "default") is not None  # the others still apply

    manifests = hub.objects.get(WORK_API, "ManifestWork", "mixed", ns)["status"]["resourceStatus"]["manifests"]
    failed = {c["type"]: c for c in manifests[1]["conditions"]}["Applied"]
    assert (failed["status"], failed["reason"]) == ("False", "AppliedManifestFailed")
    assert "example.com/v1" in failed["message"]


def test_a_silent_member_leaves_the_status_as_it_was(hub, member, controllers):
    ns = member.name
    hub.objects.create(manifest_work("app", ns, [config_map("settings", "default", colour="blue")]))
    settle(controllers, lambda: observed(hub, "app", ns))
    member.set_reachable(False)
    set_manifests(hub, "app", ns, [config_map("settings", "default", colour="green")])
    controllers.reconcile()
    controllers.reconcile()
    assert observed(hub, "app", ns) is None  # the status still reports the previous generation
    assert member.objects.get("v1", "ConfigMap", "settings", "default")["data"] == {"colour": "blue"}

    member.set_reachable(True)
    settle(controllers, lambda: observed(hub, "app", ns))
    assert member.objects.get("v1", "ConfigMap", "settings", "default")["data"] == {"colour": "green"}


# --- deletion -------------------------------------------------------------------------------------


def test_deleting_a_work_deletes_its_objects_before_releasing_it(hub, member, controllers):
    ns = member.name
    held = config_map("held", "default", a="1")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    hub.objects.create(manifest_work("app", ns, [namespace("app"), config_map("settings", "app"), held]))
    settle(controllers, lambda: observed(hub, "app", ns))

    hub.objects.delete(WORK_API, "ManifestWork", "app", ns)
    settle(controllers, lambda: get(member, "v1", "Namespace", "app") is None)
    assert member.objects.get("v1", "ConfigMap", "held", "default")["metadata"]["deletionTimestamp"]
    controllers.reconcile()
    work = hub.objects.get(WORK_API, "ManifestWork", "app", ns)  # held by its finalizer until all is gone
    assert work["metadata"]["deletionTimestamp"] and FINALIZER in work["metadata"]["finalizers"]

    member.objects.patch("v1", "ConfigMap", "held", {"metadata": {"finalizers": None}}, "default")
    settle(controllers, lambda: get(hub, WORK_API, "ManifestWork", "app", ns) is None)
    assert get(member, "v1", "ConfigMap", "held", "default") is None
    assert member.objects.list(WORK_API, "AppliedManifestWork") == []


def test_an_orphaning_work_leaves_its_objects_behind(hub, member, controllers):
    ns = member.name
    hub.objects.create(
        manifest_work(
            "keep",
            ns,
            [namespace("kept"), config_map("settings", "kept")],
            delete_option={"propagationPolicy": "Orphan"},
        )
    )
    settle(controllers, lambda: observed(hub, "keep", ns))
    hub.objects.delete(WORK_API, "ManifestWork", "keep", ns)
    settle(controllers, lambda: get(hub, WORK_API, "ManifestWork", "keep", ns) is None)
    assert get(member, "v1", "Namespace", "kept") is not None
    assert get(member, "v1", "ConfigMap", "settings", "kept") is not None


# --- no klusterlet --------------------------------------------------------------------------------


def test_a_member_without_a_running_klusterlet_gets_nothing(emulator, hub, controllers):
    lonely = add_member(emulator, hub, klusterlet=False)
    try:
        hub.objects.patch(
            OCM_API,
            "ManagedCluster",
            lonely.name,
            {
                "status": {
                    "conditions": [
                        {
                            "type": "ManagedClusterJoined",
                            "status": "True",
                            "reason": "Joined",
                            "message": "",
                            "lastTransitionTime": "2024-01-01T00:00:00Z",
                        }
                    ]
                }
            },
            subresource="status",
        )
        hub.objects.create(manifest_work("app", lonely.name, [namespace("app")]))
        for _ in range(3):
            controllers.reconcile()
        work = hub.objects.get(WORK_API, "ManifestWork", "app", lonely.name)
        assert "status" not in work or not work["status"]
        assert not work["metadata"].get("finalizers")
        assert get(lonely, "v1", "Namespace", "app") is None
    finally:
        emulator.remove_cluster(lonely.name)
