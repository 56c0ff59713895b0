"""`fleetform import TYPE NAME ID`: an existing Kubernetes object recorded as the program will declare it,
so that the program's next preview is a no-op (or shows exactly what it declares differently); and the
refusals, each leaving the state untouched."""

from __future__ import annotations

import json

import pytest
from test_kubernetes import kube, step  # noqa: F401 (kube: a fixture)

from engine.errors import EXIT_INVALID_INPUT, EXIT_LOCKED, EXIT_OK
from engine.import_code import python_code
from engine.kubernetes_import import declared_fields
from engine.secrets import wrap_secret
from engine.state import ResourceState, StateStore

CONFIGMAP = "kubernetes:core/v1:ConfigMap"


@pytest.fixture
def recorded(kube):  # noqa: F811 (the fixture imported above)
    """A stack that records its Kubernetes provider, and a ConfigMap someone made by hand."""
    kube.cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "team-a", "labels": {"team": "a"}},
            "data": {"mode": "fast", "level": "3"},
        }
    )
    kube.declare()
    assert kube.cli("up", "--yes").exit_code == EXIT_OK
    return kube


def _import(project, *args: str) -> tuple[int, dict | str]:
    result = project.cli("import", *args, "--json")
    return result.exit_code, (json.loads(result.stdout) if result.exit_code == EXIT_OK else result.stderr)


def _state(project) -> dict:
    return json.loads((project.dir / ".fleetform" / "stacks" / "dev.json").read_text())


def test_imported_objects_preview_as_no_change_once_the_program_declares_them(recorded):
    code, cm = _import(recorded, CONFIGMAP, "settings", "team-a/settings", "--provider", "cluster")
    assert code == EXIT_OK, cm
    assert cm["id"] == "team-a/settings" and cm["urn"].endswith("::kubernetes:core/v1:ConfigMap::settings")
    assert cm["inputs"] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "team-a", "labels": {"team": "a"}},
        "data": {"mode": "fast", "level": "3"},
    }
    assert cm["provider"].startswith(
        next(r["urn"] for r in _state(recorded)["resources"] if r["type"].startswith("pulumi:providers"))
    )
    assert cm["parent"].endswith("::pulumi:pulumi:Stack::kubetest-dev") and cm["protect"] is True
    assert "settings = k8s.core.v1.ConfigMap(\n    'settings'," in cm["code"]
    assert "opts=pulumi.ResourceOptions(provider=cluster, protect=True)" in cm["code"]
    code, ns = _import(recorded, "kubernetes:core/v1:Namespace", "team", "team-a", "--provider", "cluster")
    assert code == EXIT_OK, ns
    assert ns["id"] == "team-a" and ns["inputs"] == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a"},
    }

    declared = {
        "kind": "ConfigMap",
        "name": "settings",
        "metadata": cm["inputs"]["metadata"],
        "data": cm["inputs"]["data"],
    }
    namespace = {"kind": "Namespace", "name": "team", "metadata": {"name": "team-a"}, "import": "team-a"}
    recorded.declare(declared, namespace)  # the import option is ignored once the resource is recorded, as in Pulumi
    assert recorded.cli("preview", "--expect-no-changes").exit_code == EXIT_OK

    recorded.declare(
        {**declared, "data": {"mode": "slow", "level": "3"}},
        {"kind": "Namespace", "name": "team", "metadata": {"name": "team-a"}},
    )
    _, preview = recorded.run_json("preview")
    assert step(preview, "settings")["op"] == "update"
    assert step(preview, "settings")["diffs"] == [{"path": "data.mode", "kind": "update", "old": "fast", "new": "slow"}]
    assert step(preview, "team")["op"] == "same"
    history = json.loads(recorded.cli("stack", "history", "--json").stdout)
    assert [(e["kind"], e["resourceChanges"]) for e in history[:2]] == [("import", {"import": 1})] * 2


def test_refusals_leave_the_state_untouched(recorded):
    assert _import(recorded, CONFIGMAP, "settings", "team-a/settings", "--provider", "cluster")[0] == EXIT_OK
    state = recorded.dir / ".fleetform" / "stacks" / "dev.json"
    before = state.read_bytes()
    refusals = {
        "already records": (CONFIGMAP, "settings", "team-a/settings", "--provider", "cluster"),
        "does not exist": (CONFIGMAP, "other", "team-a/nosuch", "--provider", "cluster"),
        "does not serve Confmap": ("kubernetes:core/v1:Confmap", "other", "team-a/settings", "--provider", "cluster"),
        "not a resource type": ("ConfigMap", "other", "team-a/settings"),
        "no provider for package 'aws'": ("aws:s3/bucket:Bucket", "other", "b"),
        "dynamic resource": ("pulumi-python:dynamic/fleetform:ClusterLookup", "other", "x"),
        "a provider has no remote object": ("pulumi:providers:kubernetes", "other", "x"),
        "not namespaced": ("kubernetes:core/v1:Namespace", "other", "team-a/team-a", "--provider", "cluster"),
        "records no resource 'nosuch'": (CONFIGMAP, "other", "team-a/settings", "--provider", "nosuch"),
        "records no resource 'nothere'": (CONFIGMAP, "other", "team-a/settings", "--parent", "nothere"),
    }
    for problem, args in refusals.items():
        code, error = _import(recorded, *args)
        assert code == EXIT_INVALID_INPUT and problem in error, (args, error)
        assert state.read_bytes() == before, args
    assert "team-a/nosuch" in _import(recorded, *refusals["does not exist"])[1]

    store = StateStore.for_project(recorded.dir)
    with store.lock("dev", "up"):
        code, error = _import(recorded, CONFIGMAP, "other", "team-a/settings", "--provider", "cluster")
    assert code == EXIT_LOCKED and "'up'" in error
    assert state.read_bytes() == before


def test_the_default_provider_reads_through_kubeconfig(recorded, tmp_path, monkeypatch):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(recorded.cluster.kubeconfig())
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    code, imported = _import(recorded, CONFIGMAP, "settings", "team-a/settings")
    assert code == EXIT_OK, imported
    assert imported["provider"] == "" and imported["inputs"]["data"] == {"mode": "fast", "level": "3"}
    assert "provider=" not in imported["code"]


def test_a_parent_puts_the_resource_under_its_type_chain_and_secret_data_stays_secret(recorded):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": "team-a"}}
    recorded.cluster.objects.create({**secret, "stringData": {"token": "hunter2"}})
    code, imported = _import(
        recorded, "kubernetes:core/v1:Secret", "token", "token", "--provider", "cluster", "--parent", "cluster"
    )
    assert code == EXIT_OK, imported
    assert imported["id"] == "team-a/token"  # a bare name is in the provider's namespace
    assert "::pulumi:providers:kubernetes$kubernetes:core/v1:Secret::token" in imported["urn"]
    assert imported["parent"].endswith("::pulumi:providers:kubernetes::cluster")
    assert "parent=cluster" in imported["code"] and "data=pulumi.Output.secret(...)" in imported["code"]
    assert imported["inputs"]["data"] == "[secret]"
    encoded = recorded.cluster.objects.get("v1", "Secret", "token", "team-a")["data"]["token"]
    state = (recorded.dir / ".fleetform" / "stacks" / "dev.json").read_text()
    assert encoded not in state and "hunter2" not in state and "hunter2" not in imported["code"]


def test_only_what_a_program_declares_is_kept():
    live = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "apps",
            "uid": "1",
            "resourceVersion": "7",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"kubernetes.io/metadata.name": "apps", "tier": "web"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    assert declared_fields(live) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "apps", "labels": {"tier": "web"}},
    }
    assert live["metadata"]["labels"]["kubernetes.io/metadata.name"] == "apps"  # the live object is not changed


def test_the_code_names_the_class_and_never_shows_a_secret():
    parent = ResourceState("urn:pulumi:dev::p::my:index:Web::web", "my:index:Web", False)
    secret = ResourceState(
        "urn:pulumi:dev::p::my:index:Web$kubernetes:core/v1:Secret::token",
        "kubernetes:core/v1:Secret",
        True,
        inputs={
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "token"},
            "stringData": wrap_secret({"t": "hunter2"}),
        },
    )
    code = python_code(secret, None, parent)
    assert "k8s.core.v1.Secret(" in code and "string_data=pulumi.Output.secret(...)" in code
    assert "hunter2" not in code and "parent=web" in code and "protect" not in code
    crd_object = ResourceState(
        "urn:pulumi:dev::p::kubernetes:example.com/v1:Widget::w",
        "kubernetes:example.com/v1:Widget",
        True,
        inputs={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 2}},
    )
    assert (
        "k8s.apiextensions.CustomResource(\n    'w',\n    api_version='example.com/v1',\n    kind='Widget',"
        in python_code(crd_object, None, None)
    )
    rbac = ResourceState(
        "urn:pulumi:dev::p::kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::r",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        True,
        inputs={},
    )
    assert python_code(rbac, None, None).startswith("r = k8s.rbac.v1.ClusterRole(")
