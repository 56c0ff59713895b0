"""The engine's built-in pulumi_kubernetes provider against the Kubernetes API emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.kubernetes import DELETE_UNREACHABLE_ENV, KubernetesProvider
from engine.operations import default_registry
from engine.project import Project, StackConfig
from engine.providers import ProviderError
from kubeclient import remembered
from sandbox.kubeapi import ApiError, KubeApiEmulator

PROJECT = Path(__file__).parent / "kubeproject"


class KubeProject:
    def __init__(self, root: Path, cluster):
        self.dir = root / "kubeproject"
        shutil.copytree(PROJECT, self.dir, ignore=shutil.ignore_patterns("__pycache__"))
        self.cluster = cluster

    def declare(self, *objects: dict, namespace: str = "team-a", origin: Path | None = None) -> None:
        lines = [
            "config:",
            f"  kube:kubeconfig: {json.dumps(self.cluster.kubeconfig())}",
            f"  kube:namespace: {namespace}",
            f"  kube:objects: {json.dumps(json.dumps(list(objects)))}",
        ]
        if origin is not None:
            lines.append(f"  kube:origin: {json.dumps(str(origin))}")
        self.dir.joinpath("Pulumi.dev.yaml").write_text("\n".join(lines) + "\n")

    def cli(self, *args: str):
        result = CliRunner().invoke(app, [*args, "-s", "dev", "--cwd", str(self.dir)])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def run_json(self, *args: str) -> tuple[int, dict]:
        result = self.cli(*args, "--json")
        return result.exit_code, json.loads(result.stdout)


@pytest.fixture
def kube(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "test")
    with KubeApiEmulator() as emulator:
        cluster = emulator.add_cluster("target", version="1.29.4")
        cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
        yield KubeProject(tmp_path, cluster)


def step(result: dict, name: str, op_not: str = "delete-replaced") -> dict:
    (found,) = [s for s in result["steps"] if s["urn"].endswith("::" + name) and s["op"] != op_not]
    return found


def test_autonamed_objects_land_in_the_provider_namespace_and_update_in_place(kube):
    kube.declare({"kind": "ConfigMap", "name": "settings", "data": {"mode": "a"}})
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    name = up["outputs"]["names"]["settings"]
    assert name.startswith("settings-") and len(name) == len("settings-") + 8
    live = kube.cluster.objects.get("v1", "ConfigMap", name, "team-a")
    assert live["data"] == {"mode": "a"}
    assert live["metadata"]["annotations"]["pulumi.com/autonamed"] == "true"
    assert {m["manager"] for m in live["metadata"]["managedFields"]} == {"pulumi-kubernetes"}
    assert kube.cli("preview", "--expect-no-changes").exit_code == 0

    kube.declare({"kind": "ConfigMap", "name": "settings", "data": {"mode": "b"}})
    _, preview = kube.run_json("preview")
    assert step(preview, "settings")["op"] == "update"
    assert step(preview, "settings")["diffs"] == [{"path": "data.mode", "kind": "update", "old": "a", "new": "b"}]
    code, up = kube.run_json("up", "--yes")
    assert code == 0 and up["outputs"]["names"]["settings"] == name  # the generated name is kept
    assert kube.cluster.objects.get("v1", "ConfigMap", name, "team-a")["data"] == {"mode": "b"}


def test_a_new_name_replaces_and_removal_deletes(kube):
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": {"name": "first"}, "data": {"k": "v"}})
    kube.cli("up", "--yes")
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": {"name": "second"}, "data": {"k": "v"}})
    code, up = kube.run_json("up", "--yes")
    assert code == 0
    assert step(up, "cm")["op"] == "replace" and "metadata.name (provider)" in step(up, "cm")["replaceReasons"]
    assert step(up, "cm", op_not="replace")["op"] == "delete-replaced"
    with pytest.raises(ApiError):
        kube.cluster.objects.get("v1", "ConfigMap", "first", "team-a")
    assert kube.cluster.objects.get("v1", "ConfigMap", "second", "team-a")["data"] == {"k": "v"}
    kube.declare()
    assert kube.cli("up", "--yes").exit_code == 0
    with pytest.raises(ApiError):
        kube.cluster.objects.get("v1", "ConfigMap", "second", "team-a")


def test_refresh_reads_live_objects(kube):
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": {"name": "drifty"}, "data": {"k": "v"}})
    kube.cli("up", "--yes")
    kube.cluster.objects.patch("v1", "ConfigMap", "drifty", {"data": {"k": "changed by hand"}}, "team-a")
    _, drift = kube.run_json("refresh", "--preview-only")
    changes = {d["path"]: d["new"] for d in step(drift, "cm").get("diffs", [])}
    assert step(drift, "cm")["op"] == "update" and changes["data.k"] == "changed by hand"
    kube.cluster.objects.delete("v1", "ConfigMap", "drifty", "team-a")
    _, gone = kube.run_json("refresh", "--preview-only")
    assert step(gone, "cm")["op"] == "delete"


def test_waits_for_readiness_and_times_out_with_a_reason(kube):
    deployment = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]},
        },
    }
    kube.declare(
        {"kind": "Deployment", "name": "web", "metadata": {"name": "web"}, "spec": deployment},
        {
            "kind": "Service",
            "name": "lb",
            "metadata": {"name": "lb", "annotations": {"pulumi.com/timeoutSeconds": "1"}},
            "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    )
    code, up = kube.run_json("up", "--yes")
    assert code == 1
    assert step(up, "web")["status"] == "done"
    assert kube.cluster.objects.get("apps/v1", "Deployment", "web", "team-a")["status"]["availableReplicas"] == 2
    assert step(up, "lb")["status"] == "failed"
    assert "did not become ready within 1s (no load balancer address assigned)" in step(up, "lb")["error"]


def test_a_wait_shows_what_it_waits_for_while_it_waits(kube):
    """Off a terminal a line per change of what a running step waits for: finalizers named (a delete),
    the readiness it lacks (an apply); the final report shows none of it."""
    held = {"name": "held", "finalizers": ["example.com/hold"], "annotations": {"pulumi.com/timeoutSeconds": "1"}}
    lb = {"name": "lb", "annotations": {"pulumi.com/timeoutSeconds": "1"}}
    service = {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}]}
    kube.declare(
        {"kind": "ConfigMap", "name": "held", "metadata": held},
        {"kind": "Service", "name": "lb", "metadata": lb, "spec": service},
    )
    up = kube.cli("up", "--yes").output
    assert "lb  … waiting to be ready: no load balancer address assigned (up to 1s)" in up, up
    destroy = kube.cli("destroy", "--yes").output
    assert "held  … waiting for finalizers example.com/hold to be removed (up to 1s)" in destroy, destroy
    assert "still present after delete (finalizers: ['example.com/hold'])" in destroy
    assert destroy.count("waiting for finalizers") == 1  # shown when it changes, not on every poll


def test_a_crd_and_its_custom_resource_in_one_run(kube):
    crd = {
        "group": "example.com",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    }
    kube.declare(
        {"kind": "CustomResourceDefinition", "name": "crd", "metadata": {"name": "widgets.example.com"}, "spec": crd},
        {
            "kind": "Widget",
            "api_version": "example.com/v1",
            "name": "w",
            "metadata": {"name": "w1"},
            "spec": {"size": 3},
            "depends_on": ["crd"],
        },
    )
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    assert kube.cluster.objects.get("example.com/v1", "Widget", "w1", "team-a")["spec"] == {"size": 3}
    assert kube.cli("destroy", "--yes").exit_code == 0
    with pytest.raises((ApiError, LookupError)):
        kube.cluster.objects.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "widgets.example.com")


def test_throttling_is_retried_and_rejections_name_the_object(kube):
    kube.cluster.faults.throttle_next(2)
    kube.declare(
        {"kind": "ConfigMap", "name": "ok", "metadata": {"name": "fine"}, "data": {"a": "b"}},
        {"kind": "ConfigMap", "name": "bad", "metadata": {"name": "Not_A_Valid_Name"}, "data": {"a": "b"}},
    )
    code, up = kube.run_json("up", "--yes")
    assert code == 1
    assert step(up, "ok")["status"] == "done"
    assert "apply ConfigMap Not_A_Valid_Name: HTTP 422" in step(up, "bad")["error"]


def test_a_typo_in_an_object_fails_its_step_with_the_servers_message(kube):
    container = {"name": "app", "image": "nginx", "imagePullPolcy": "Always"}
    spec = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
    }
    kube.declare({"kind": "Deployment", "name": "web", "metadata": {"name": "web"}, "spec": spec})
    code, up = kube.run_json("up", "--yes")
    assert code == 1
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolcy"' in step(up, "web")["error"]
    assert kube.cluster.objects.list("apps/v1", "Deployment", "team-a") == []


def test_secret_data_is_secret_in_state_and_output(kube):
    kube.declare(
        {
            "kind": "Secret",
            "name": "creds",
            "metadata": {"name": "creds"},
            "string_data": {"password": "correct-horse-battery"},
        }
    )
    result = kube.cli("up", "--yes")
    assert result.exit_code == 0
    state = (kube.dir / ".fleetform" / "stacks" / "dev.json").read_bytes()
    assert b"correct-horse-battery" not in state
    assert b"Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5" not in state  # nor its base64 form
    assert "correct-horse-battery" not in result.stdout


def test_owners_with_their_own_field_manager_keep_each_others_fields(kube):
    """Two resources write different labels of one ConfigMap, each as its own field manager
    (pulumi.com/patchFieldManager): neither removes the other's label, and a second up changes nothing."""

    def owner(resource: str, label: str) -> dict:
        return {
            "kind": "ConfigMap",
            "name": resource,
            "metadata": {
                "name": "shared",
                "labels": {label: "yes"},
                "annotations": {"pulumi.com/patchFieldManager": f"fleetform-{resource}"},
            },
        }

    kube.declare(owner("ingress", "ingress-ready"), owner("storage", "storage-ready"))
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    live = kube.cluster.objects.get("v1", "ConfigMap", "shared", "team-a")
    assert live["metadata"]["labels"] == {"ingress-ready": "yes", "storage-ready": "yes"}
    assert {m["manager"] for m in live["metadata"]["managedFields"]} == {"fleetform-ingress", "fleetform-storage"}
    assert "pulumi.com/patchFieldManager" not in (live["metadata"].get("annotations") or {})
    version = live["metadata"]["resourceVersion"]

    code, again = kube.run_json("up", "--yes")
    assert code == 0 and {s["op"] for s in again["steps"]} == {"same"}, again
    assert kube.cluster.objects.get("v1", "ConfigMap", "shared", "team-a")["metadata"]["resourceVersion"] == version


def test_a_field_another_manager_owns_is_taken_over_only_with_patch_force(kube):
    kube.cluster.objects.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "contested", "namespace": "team-a"},
            "data": {"mode": "manual"},
        },
        field_manager="kubectl",
    )
    declared = {"kind": "ConfigMap", "name": "cm", "metadata": {"name": "contested"}, "data": {"mode": "fleetform"}}
    kube.declare(declared)
    code, up = kube.run_json("up", "--yes")
    assert code == 1 and "HTTP 409" in step(up, "cm")["error"] and "kubectl" in step(up, "cm")["error"]
    assert kube.cluster.objects.get("v1", "ConfigMap", "contested", "team-a")["data"] == {"mode": "manual"}

    kube.declare({**declared, "metadata": {"name": "contested", "annotations": {"pulumi.com/patchForce": "true"}}})
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    assert kube.cluster.objects.get("v1", "ConfigMap", "contested", "team-a")["data"] == {"mode": "fleetform"}


def test_a_create_adopts_what_an_interrupted_run_left_without_forcing(kube):
    """The object an interrupted run applied is owned by the same field manager: no conflict."""
    kube.cluster.objects.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "leftover", "namespace": "team-a"},
            "data": {"mode": "old"},
        },
        field_manager="pulumi-kubernetes",
    )
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": {"name": "leftover"}, "data": {"mode": "new"}})
    code, up = kube.run_json("up", "--yes")
    assert code == 0 and step(up, "cm")["op"] == "create", up
    assert kube.cluster.objects.get("v1", "ConfigMap", "leftover", "team-a")["data"] == {"mode": "new"}


def test_a_resource_given_its_own_manager_takes_over_what_it_wrote_as_the_default_one(kube):
    """An upgrade: the resource was applied as pulumi-kubernetes and now names its own manager.
    Its old fields are taken over; a field a third manager owns still conflicts."""
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": {"name": "mine"}, "data": {"mode": "a"}})
    assert kube.cli("up", "--yes").exit_code == 0
    owned = {"name": "mine", "annotations": {"pulumi.com/patchFieldManager": "fleetform-owner"}}
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": owned, "data": {"mode": "b"}})
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    live = kube.cluster.objects.get("v1", "ConfigMap", "mine", "team-a")
    assert live["data"] == {"mode": "b"}
    assert "fleetform-owner" in {m["manager"] for m in live["metadata"]["managedFields"]}

    kube.cluster.objects.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "mine", "namespace": "team-a"},
            "data": {"mode": "edited"},
        },
        field_manager="kubectl",
        force=True,
    )
    kube.declare({"kind": "ConfigMap", "name": "cm", "metadata": owned, "data": {"mode": "c"}})
    code, up = kube.run_json("up", "--yes")
    assert code == 1 and "kubectl" in step(up, "cm")["error"]
    assert kube.cluster.objects.get("v1", "ConfigMap", "mine", "team-a")["data"] == {"mode": "edited"}


def test_whole_numbers_reach_the_api_server_as_integers(kube):
    """The SDK sends every number as a float; the object in the cluster has integers."""
    selector = {"matchLabels": {"app": "web"}}
    spec = {
        "replicas": 3,
        "revisionHistoryLimit": 2,
        "selector": selector,
        "template": {
            "metadata": {"labels": selector["matchLabels"]},
            "spec": {"containers": [{"name": "w", "image": "nginx"}]},
        },
    }
    kube.declare({"kind": "Deployment", "name": "web", "metadata": {"name": "web"}, "spec": spec})
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    live = kube.cluster.objects.get("apps/v1", "Deployment", "web", "team-a")["spec"]
    assert (live["replicas"], live["revisionHistoryLimit"]) == (3, 2)
    assert type(live["replicas"]) is int and type(live["revisionHistoryLimit"]) is int


def test_objects_of_a_cluster_that_is_gone_leave_the_state_only_when_asked(monkeypatch, caplog):
    with KubeApiEmulator() as emulator:
        gone = emulator.add_cluster("gone")
        kubeconfig = gone.kubeconfig()
        gone.set_reachable(False)
        outputs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "left", "namespace": "default"}}
        monkeypatch.delenv(DELETE_UNREACHABLE_ENV, raising=False)
        with pytest.raises(ProviderError) as refused:
            KubernetesProvider({"kubeconfig": kubeconfig}).delete("urn", "default/left", outputs)
        assert DELETE_UNREACHABLE_ENV in str(refused.value) and "cannot reach the API server" in str(refused.value)

        KubernetesProvider({"kubeconfig": kubeconfig, "deleteUnreachable": "true"}).delete(
            "urn", "default/left", outputs
        )
        monkeypatch.setenv(DELETE_UNREACHABLE_ENV, "true")
        with caplog.at_level("WARNING", logger="fleetform.kubernetes"):
            KubernetesProvider({"kubeconfig": kubeconfig}).delete("urn", "default/left", outputs)
        assert "ConfigMap left: the cluster is unreachable" in caplog.text

        gone.set_reachable(True)  # a reachable cluster's failures are never swallowed
        with pytest.raises(ProviderError):
            KubernetesProvider({"kubeconfig": kubeconfig}).delete(
                "urn", "x", {"apiVersion": "example.com/v1", "kind": "Nothing", "metadata": {"name": "x"}}
            )


def test_objects_whose_provider_origin_is_gone_leave_the_state_on_destroy_without_the_opt_in(
    kube, tmp_path, monkeypatch
):
    """The cloud says the cluster is NotFound (here: the marker the provider was configured from reads as
    gone) and the cluster cannot be reached: its objects are removed from the state with a notice. While
    the origin still exists, an unreachable cluster keeps failing unless the user opts in; while the
    cluster answers, its failures are never swallowed."""
    monkeypatch.delenv(DELETE_UNREACHABLE_ENV, raising=False)
    marker = tmp_path / "cluster-exists"
    held = {"name": "held", "finalizers": ["example.com/hold"], "annotations": {"pulumi.com/timeoutSeconds": "1"}}
    kube.declare(
        {"kind": "ConfigMap", "name": "settings", "data": {"a": "1"}},
        {"kind": "ConfigMap", "name": "held", "metadata": held},
        origin=marker,
    )
    code, up = kube.run_json("up", "--yes")
    assert code == 0, up

    kube.cluster.set_reachable(False)
    code, refused = kube.run_json("destroy", "--yes")
    assert code == 1 and DELETE_UNREACHABLE_ENV in step(refused, "settings")["error"]

    kube.cluster.set_reachable(True)
    marker.unlink()  # the cluster's origin is gone, but the cluster answers: a failure stays a failure
    code, answered = kube.run_json("destroy", "--yes")
    assert code == 1 and "still present after delete" in step(answered, "held")["error"]
    assert step(answered, "settings")["status"] == "done"

    kube.cluster.set_reachable(False)  # now gone for good: nothing is left to delete the objects from
    result = kube.cli("destroy", "--yes")
    assert result.exit_code == 0, result.output
    assert "removed from the state only" in result.output and "origin" in result.output
    state = json.loads((kube.dir / ".fleetform" / "stacks" / "dev.json").read_text())
    assert not [r["urn"] for r in state["resources"] if r["custom"]]
    assert kube.cli("preview", "--expect-no-changes").exit_code == 3  # the program still declares them: a create


def test_a_dynamic_resource_whose_dependency_is_gone_leaves_the_state_when_it_cannot_be_reached(kube, tmp_path):
    marker = tmp_path / "cluster-exists"
    kube.declare(origin=marker)
    assert kube.cli("up", "--yes").exit_code == 0
    (tmp_path / "cluster-exists.down").write_text("")

    code, refused = kube.run_json("destroy", "--yes")  # unreachable, but what it depends on still exists
    assert code == 1 and "cannot reach the place" in step(refused, "reacher")["error"]

    marker.unlink()
    code, done = kube.run_json("destroy", "--yes")
    assert code == 0, done
    (notice,) = [d for d in done["diagnostics"] if d["urn"].endswith("::reacher")]
    assert "removed from the state only: it was reached through origin" in notice["message"]


def test_a_discovery_refusal_is_reported_as_such_not_as_a_missing_kind(monkeypatch):
    with KubeApiEmulator() as emulator:
        cluster = emulator.add_cluster("locked")
        kubeconfig = cluster.kubeconfig()
        outputs = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}
        config = {"kubeconfig": kubeconfig.replace(_token(kubeconfig), "not-a-token")}
        with pytest.raises(ProviderError) as refused:
            KubernetesProvider(config).delete("urn", "default/x", outputs)
        assert "discover the kinds of v1: HTTP 401" in str(refused.value)
        assert "CustomResourceDefinition" not in str(refused.value)


def _token(kubeconfig: str) -> str:
    import yaml

    return yaml.safe_load(kubeconfig)["users"][0]["user"]["token"]


def _interrupt_create(kube, name: str) -> None:
    """Leave the state an interrupted create leaves: no record of ``name``, a pending create of it."""
    from engine import state_doc
    from engine.state import Checkpointer, PendingOperation, StateStore

    store = StateStore.for_project(kube.dir)
    live, box = store.load("dev", "kubetest")
    (resource,) = [r for r in live.resources() if r.urn.endswith("::" + name)]
    live.remove(resource.urn)
    live.begin(PendingOperation(resource.urn, resource.type, "creating"))
    Checkpointer(store, "dev", live, state_doc.header("kubetest", "dev", box), box).close()


def test_an_interrupted_create_of_an_object_this_provider_applied_is_adopted(kube):
    kube.declare({"kind": "ConfigMap", "name": "settings", "metadata": {"name": "settings"}, "data": {"a": "1"}})
    assert kube.cli("up", "--yes").exit_code == 0
    _interrupt_create(kube, "settings")
    assert kube.cli("preview", "--expect-no-changes").exit_code == 3  # the pending create is still to settle

    code, up = kube.run_json("up", "--yes")
    assert code == 0, up
    assert any("adopted" in d["message"] and d["urn"].endswith("::settings") for d in up["diagnostics"])
    assert kube.cli("preview", "--expect-no-changes").exit_code == 0
    assert kube.cluster.objects.get("v1", "ConfigMap", "settings", "team-a")["data"] == {"a": "1"}


def test_an_interrupted_create_is_not_adopted_over_an_object_someone_else_made(kube):
    kube.declare({"kind": "ConfigMap", "name": "settings", "metadata": {"name": "settings"}, "data": {"a": "1"}})
    assert kube.cli("up", "--yes").exit_code == 0
    _interrupt_create(kube, "settings")
    kube.cluster.objects.delete("v1", "ConfigMap", "settings", "team-a")
    kube.cluster.objects.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "team-a"}}
    )  # made by another hand: not this resource's field manager

    code, up = kube.run_json("up", "--yes")
    assert code == 1 and "state repair" in step(up, "settings")["error"]
    assert kube.cluster.objects.get("v1", "ConfigMap", "settings", "team-a").get("data") in (None, {})
    assert kube.cli("preview", "--expect-no-changes").exit_code == 3
    assert kube.cli("state", "repair", "--yes").exit_code == 0
    assert kube.cli("up", "--yes").exit_code == 0  # once repaired, the create takes the object over


def test_every_run_of_the_engine_starts_without_what_providers_read_in_the_last(tmp_path):
    key = ("test", str(tmp_path))
    assert remembered(key, lambda: "read in the last run") == "read in the last run"
    default_registry(StackConfig(None), Project(tmp_path, "p", tmp_path / "__main__.py", tmp_path))
    assert remembered(key, lambda: "read anew") == "read anew"
