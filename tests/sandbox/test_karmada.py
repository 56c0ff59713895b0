"""The emulated Karmada: the operator on the hub, member clusters, scheduling, overrides, failover.

Controllers are driven pass by pass (``SandboxControllers.reconcile``); every expectation is polled
with a bounded wait, and "nothing happened" is stated about completed passes.
"""

from __future__ import annotations

import base64
import time

import kubernetes
import pytest
import yaml

from sandbox.controllers import SandboxControllers
from sandbox.controllers.karmada_overrides import overridden
from sandbox.controllers.karmada_scheduler import webster
from sandbox.kubeapi import ApiError, KubeApiEmulator

HUB = "hub"
OPERATOR_API = "operator.karmada.io/v1alpha1"
CLUSTER_API = "cluster.karmada.io/v1alpha1"
POLICY_API = "policy.karmada.io/v1alpha1"
BINDING_API = "work.karmada.io/v1alpha2"
_counter = iter(range(1, 10_000))

KARMADA_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "karmadas.operator.karmada.io"},
    "spec": {
        "group": "operator.karmada.io",
        "scope": "Namespaced",
        "names": {"kind": "Karmada", "plural": "karmadas", "singular": "karmada"},
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def settle(controllers: SandboxControllers, predicate, timeout: float = 15.0):
    """Run controller passes until ``predicate()`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        controllers.reconcile()
        if value := predicate():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)


def get(cluster, api_version: str, kind: str, name: str, namespace: str = "") -> dict | None:
    try:
        return cluster.objects.get(api_version, kind, name, namespace)
    except ApiError as err:
        if err.code == 404:
            return None
        raise


def condition(obj: dict | None, kind: str) -> dict | None:
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c["type"] == kind), None)


def is_true(obj: dict | None, kind: str) -> bool:
    return (condition(obj, kind) or {}).get("status") == "True"


def namespace(cluster, name: str) -> None:
    cluster.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def deployment(name: str, ns: str, replicas: int, image: str = "nginx:1.25", args: list[str] | None = None) -> dict:
    labels = {"app": name}
    container = {"name": "main", "image": image}
    if args:
        container["args"] = args
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def install_operator(hub) -> None:
    if get(hub, "v1", "Namespace", "karmada-system") is None:
        namespace(hub, "karmada-system")
    hub.objects.create(deployment("karmada-operator", "karmada-system", 1, "karmada-operator:test"))


def karmada_cr(ns: str, name: str) -> dict:
    return {"apiVersion": OPERATOR_API, "kind": "Karmada", "metadata": {"name": name, "namespace": ns}, "spec": {}}


def control_plane_of(emulator, hub, ns: str, name: str):
    """The control plane a Ready Karmada's admin kubeconfig opens."""
    karmada = hub.objects.get(OPERATOR_API, "Karmada", name, ns)
    ref = karmada["status"]["secretRef"]
    secret = hub.objects.get("v1", "Secret", ref["name"], ref["namespace"])
    config = yaml.safe_load(base64.b64decode(secret["data"]["karmada.config"]))
    server = config["clusters"][0]["cluster"]["server"]
    return next(c for c in emulator.clusters.values() if c.url == server), config


@pytest.fixture(scope="module")
def emulator():
    with KubeApiEmulator(seed=12) as server:
        hub = server.add_cluster(HUB)
        hub.objects.create(KARMADA_CRD)
        install_operator(hub)
        yield server


@pytest.fixture
def hub(emulator):
    return emulator.cluster(HUB)


@pytest.fixture
def controllers(emulator):
    return SandboxControllers(emulator, HUB)


@pytest.fixture(scope="module")
def plane(emulator):
    """One Karmada control plane shared by the member, scheduling and failover tests."""
    hub = emulator.cluster(HUB)
    namespace(hub, "federation")
    hub.objects.create(karmada_cr("federation", "fleet"))
    settle(
        SandboxControllers(emulator, HUB),
        lambda: is_true(get(hub, OPERATOR_API, "Karmada", "fleet", "federation"), "Ready"),
    )
    return control_plane_of(emulator, hub, "federation", "fleet")[0]


def join_push(emulator, plane, labels: dict | None = None):
    """A new member joined in Push mode with its admin token and CA."""
    member = emulator.add_cluster(unique("m"))
    if get(plane, "v1", "Namespace", "karmada-cluster") is None:  # as `karmadactl join` makes it
        namespace(plane, "karmada-cluster")
    plane.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": member.name, "namespace": "karmada-cluster"},
            "data": {
                "token": base64.b64encode(member.token().encode()).decode(),
                "caBundle": base64.b64encode(member.ca_pem.encode()).decode(),
            },
        }
    )
    plane.objects.create(
        {
            "apiVersion": CLUSTER_API,
            "kind": "Cluster",
            "metadata": {"name": member.name, "labels": labels or {}},
            "spec": {
                "syncMode": "Push",
                "apiEndpoint": member.url,
                "secretRef": {"namespace": "karmada-cluster", "name": member.name},
            },
        }
    )
    return member


@pytest.fixture
def members(emulator, plane, controllers):
    """Two Ready Push members."""
    joined = [join_push(emulator, plane), join_push(emulator, plane)]
    settle(controllers, lambda: all(is_true(get(plane, CLUSTER_API, "Cluster", m.name), "Ready") for m in joined))
    yield joined
    for member in joined:
        plane.objects.delete(CLUSTER_API, "Cluster", member.name)
        emulator.remove_cluster(member.name)


def propagation_policy(name: str, ns: str, clusters: list[str], scheduling: dict, tolerations=None) -> dict:
    placement = {"clusterAffinity": {"clusterNames": clusters}, "replicaScheduling": scheduling}
    if tolerations is not None:
        placement["clusterTolerations"] = tolerations
    return {
        "apiVersion": POLICY_API,
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
            "placement": placement,
        },
    }


def weighted(clusters: list[str]) -> dict:
    return {
        "replicaSchedulingType": "Divided",
        "replicaDivisionPreference": "Weighted",
        "weightPreference": {
            "staticWeightList": [{"targetCluster": {"clusterNames": [c]}, "weight": 1} for c in clusters]
        },
    }


def scheduled(plane, ns: str, name: str) -> dict[str, int] | None:
    binding = get(plane, BINDING_API, "ResourceBinding", f"{name}-deployment", ns)
    if binding is None:
        return None
    return {c["name"]: c.get("replicas") for c in binding["spec"].get("clusters") or []}


def replicas_in(member, ns: str, name: str) -> int | None:
    found = get(member, "apps/v1", "Deployment", name, ns)
    return None if found is None else found["spec"]["replicas"]


# -- operator --------------------------------------------------------------------------------------


def test_operator_waits_for_its_deployment_then_serves_a_karmada_api(emulator, hub, controllers):
    """No Ready while the operator is not available; then Ready, and the admin kubeconfig opens a
    cluster serving the Karmada APIs."""
    hub.objects.delete("apps/v1", "Deployment", "karmada-operator", "karmada-system")
    ns = unique("fed")
    namespace(hub, ns)
    hub.objects.create(karmada_cr(ns, "demo"))
    clusters_before = set(emulator.clusters)
    for _ in range(5):
        controllers.reconcile()
    assert condition(hub.objects.get(OPERATOR_API, "Karmada", "demo", ns), "Ready") is None
    assert set(emulator.clusters) == clusters_before

    install_operator(hub)
    settle(controllers, lambda: is_true(get(hub, OPERATOR_API, "Karmada", "demo", ns), "Ready"))
    status = hub.objects.get(OPERATOR_API, "Karmada", "demo", ns)["status"]
    assert status["secretRef"] == {"namespace": ns, "name": "demo-karmada-admin-config"}
    assert status["apiServerService"] == {"name": "demo-karmada-apiserver"}
    assert status["kubernetesVersion"].startswith("v1.")
    assert status["karmadaVersion"].startswith("v1.")

    _, config = control_plane_of(emulator, hub, ns, "demo")
    api = kubernetes.client.CustomObjectsApi(kubernetes.config.new_client_from_config_dict(config))
    assert api.list_cluster_custom_object("cluster.karmada.io", "v1alpha1", "clusters")["items"] == []
    assert api.list_cluster_custom_object("policy.karmada.io", "v1alpha1", "propagationpolicies")["items"] == []
    plane, _ = control_plane_of(emulator, hub, ns, "demo")  # upstream's operator makes karmada-system only
    assert {n["metadata"]["name"] for n in plane.objects.list("v1", "Namespace")} >= {"karmada-system"}
    assert get(plane, "v1", "Namespace", "karmada-cluster") is None


def test_a_namespace_deleted_on_a_control_plane_stays_deleted_through_operator_passes(emulator, hub, controllers):
    """What a client deletes on the Karmada API (fleetform's karmada-cluster, when a federation goes) is not
    put back by the operator, even when the hub changes and the operator reconciles again."""
    ns = unique("fed")
    namespace(hub, ns)
    hub.objects.create(karmada_cr(ns, "gone"))
    settle(controllers, lambda: is_true(get(hub, OPERATOR_API, "Karmada", "gone", ns), "Ready"))
    plane, _ = control_plane_of(emulator, hub, ns, "gone")
    namespace(plane, "karmada-cluster")
    plane.objects.delete("v1", "Namespace", "karmada-cluster")
    settle(controllers, lambda: get(plane, "v1", "Namespace", "karmada-cluster") is None)
    namespace(hub, unique("hubchange"))  # a hub write: the operator's next pass reconciles every Karmada
    for _ in range(5):
        controllers.reconcile()
    assert get(plane, "v1", "Namespace", "karmada-cluster") is None


def test_operator_names_the_secret_without_a_second_karmada(emulator, hub, controllers):
    ns = unique("fed")
    namespace(hub, ns)
    hub.objects.create(karmada_cr(ns, "karmada-prod"))
    settle(controllers, lambda: is_true(get(hub, OPERATOR_API, "Karmada", "karmada-prod", ns), "Ready"))
    assert get(hub, "v1", "Secret", "karmada-prod-admin-config", ns) is not None


def test_deleting_the_karmada_removes_its_control_plane_and_secret(emulator, hub, controllers):
    ns = unique("fed")
    namespace(hub, ns)
    hub.objects.create(karmada_cr(ns, "gone"))
    settle(controllers, lambda: is_true(get(hub, OPERATOR_API, "Karmada", "gone", ns), "Ready"))
    plane, _ = control_plane_of(emulator, hub, ns, "gone")
    hub.objects.delete(OPERATOR_API, "Karmada", "gone", ns)
    settle(controllers, lambda: get(hub, OPERATOR_API, "Karmada", "gone", ns) is None)
    assert plane.name not in emulator
    assert get(hub, "v1", "Secret", "gone-karmada-admin-config", ns) is None


def test_a_karmada_keeps_its_control_plane_across_a_restart(tmp_path):
    def world():
        server = KubeApiEmulator(tmp_path, seed=13).start()
        return server, server.add_cluster(HUB, exist_ok=True), SandboxControllers(server, HUB)

    server, hub, controllers = world()
    hub.objects.create(KARMADA_CRD)
    install_operator(hub)
    namespace(hub, "fed")
    hub.objects.create(karmada_cr("fed", "keep"))
    settle(controllers, lambda: is_true(get(hub, OPERATOR_API, "Karmada", "keep", "fed"), "Ready"))
    plane, config = control_plane_of(server, hub, "fed", "keep")
    plane.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kept"}})
    clusters = set(server.clusters)
    server.stop()

    server, hub, controllers = world()
    try:
        for _ in range(3):
            controllers.reconcile()
        assert set(server.clusters) == clusters
        plane_again, config_again = control_plane_of(server, hub, "fed", "keep")
        assert config_again == config
        assert get(plane_again, "v1", "Namespace", "kept") is not None
    finally:
        server.stop()


# -- clusters --------------------------------------------------------------------------------------


def test_a_push_member_is_ready_tainted_while_unreachable_and_ready_again(emulator, plane, controllers):
    member = join_push(emulator, plane)
    try:
        settle(controllers, lambda: is_true(get(plane, CLUSTER_API, "Cluster", member.name), "Ready"))
        cluster = plane.objects.get(CLUSTER_API, "Cluster", member.name)
        assert cluster["status"]["kubernetesVersion"].startswith("v1.")
        assert not cluster["spec"].get("taints")
        assert get(plane, "v1", "Namespace", f"karmada-es-{member.name}") is not None

        member.set_reachable(False)
        cluster = settle(
            controllers,
            lambda: (c := get(plane, CLUSTER_API, "Cluster", member.name)) and c["spec"].get("taints") and c,
        )
        ready = condition(cluster, "Ready")
        assert (ready["status"], ready["reason"]) == ("False", "ClusterNotReachable")
        no_execute = [t for t in cluster["spec"]["taints"] if t["effect"] == "NoExecute"]
        assert [t["key"] for t in no_execute] == ["cluster.karmada.io/not-ready"]
        assert no_execute[0]["timeAdded"]

        member.set_reachable(True)
        cluster = settle(
            controllers,
            lambda: (c := get(plane, CLUSTER_API, "Cluster", member.name)) and is_true(c, "Ready") and c,
        )
        assert not cluster["spec"].get("taints")
    finally:
        plane.objects.delete(CLUSTER_API, "Cluster", member.name)
        emulator.remove_cluster(member.name)


def start_agent(member, plane, name: str) -> dict:
    """A karmada-agent in ``member`` for the Pull cluster ``name`` of ``plane`` (the names ``karmadactl
    register`` uses); returns its Deployment as created."""
    namespace(member, "karmada-system")
    member.objects.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "karmada-kubeconfig", "namespace": "karmada-system"},
            "data": {"karmada-kubeconfig": base64.b64encode(plane.kubeconfig().encode()).decode()},
        }
    )
    agent = deployment("karmada-agent", "karmada-system", 1, "karmada-agent:test")
    agent["spec"]["template"]["spec"]["containers"][0]["command"] = [
        "/bin/karmada-agent",
        "--karmada-kubeconfig=/etc/kubeconfig/karmada-kubeconfig",
        f"--cluster-name={name}",
    ]
    member.objects.create(agent)
    return agent


def test_a_pull_agent_registers_its_cluster(emulator, plane, controllers):
    member = emulator.add_cluster(unique("p"))
    name = unique("pulled")
    try:
        agent = start_agent(member, plane, name)
        cluster = settle(
            controllers, lambda: (c := get(plane, CLUSTER_API, "Cluster", name)) and is_true(c, "Ready") and c
        )
        assert cluster["spec"]["syncMode"] == "Pull"
        assert cluster["spec"]["apiEndpoint"] == member.url

        member.objects.delete("apps/v1", "Deployment", "karmada-agent", "karmada-system")
        cluster = settle(
            controllers,
            lambda: (
                (c := get(plane, CLUSTER_API, "Cluster", name))
                and (condition(c, "Ready") or {}).get("status") == "Unknown"
                and c["spec"].get("taints")
                and c
            ),
        )
        assert {t["key"] for t in cluster["spec"]["taints"]} == {"cluster.karmada.io/unreachable"}

        member.objects.create(agent)  # the agent reports again: Ready, and the unreachable taints go
        cluster = settle(
            controllers,
            lambda: (c := get(plane, CLUSTER_API, "Cluster", name)) and is_true(c, "Ready") and c,
        )
        settle(controllers, lambda: not get(plane, CLUSTER_API, "Cluster", name)["spec"].get("taints"))
    finally:
        plane.objects.delete(CLUSTER_API, "Cluster", name)
        emulator.remove_cluster(member.name)


def test_a_cluster_unregistered_while_its_agent_runs_stays_gone_until_the_agent_starts_anew(
    emulator, plane, controllers
):
    """``karmadactl unregister`` deletes the Cluster while the agent still runs; upstream's agent registers
    only when it starts, so neither the Cluster nor its execution namespace comes back."""
    member = emulator.add_cluster(unique("p"))
    name = unique("pulled")
    try:
        start_agent(member, plane, name)
        settle(controllers, lambda: is_true(get(plane, CLUSTER_API, "Cluster", name), "Ready"))

        plane.objects.delete(CLUSTER_API, "Cluster", name)
        execution_space = f"karmada-es-{name}"
        settle(
            controllers,
            lambda: (
                get(plane, CLUSTER_API, "Cluster", name) is None
                and get(plane, "v1", "Namespace", execution_space) is None
            ),
        )
        for _ in range(5):
            controllers.reconcile()
        assert get(plane, CLUSTER_API, "Cluster", name) is None
        assert get(plane, "v1", "Namespace", execution_space) is None

        member.objects.patch(  # a new generation of the Deployment: the agent restarts and registers again
            "apps/v1", "Deployment", "karmada-agent", {"spec": {"replicas": 2}}, "karmada-system"
        )
        settle(controllers, lambda: is_true(get(plane, CLUSTER_API, "Cluster", name), "Ready"))
    finally:
        if get(plane, CLUSTER_API, "Cluster", name) is not None:
            plane.objects.delete(CLUSTER_API, "Cluster", name)
        emulator.remove_cluster(member.name)


# -- scheduling and execution ----------------------------------------------------------------------


def test_duplicated_gives_every_member_all_replicas_and_deleting_the_policy_removes_them(plane, members, controllers):
    a, b = members
    ns = unique("dup")
    namespace(plane, ns)
    plane.objects.create(deployment("web", ns, 3))
    plane.objects.create(propagation_policy("web", ns, [a.name, b.name], {"replicaSchedulingType": "Duplicated"}))
    settle(controllers, lambda: scheduled(plane, ns, "web") == {a.name: 3, b.name: 3})
    settle(controllers, lambda: replicas_in(a, ns, "web") == 3 and replicas_in(b, ns, "web") == 3)
    propagated = a.objects.get("apps/v1", "Deployment", "web", ns)
    assert propagated["metadata"]["labels"]["karmada.io/managed"] == "true"
    binding = settle(
        controllers,
        lambda: (
            (rb := get(plane, BINDING_API, "ResourceBinding", "web-deployment", ns))
            and is_true(rb, "FullyApplied")
            and rb
        ),
    )
    assert is_true(binding, "Scheduled")
    assert {s["clusterName"]: s["applied"] for s in binding["status"]["aggregatedStatus"]} == {
        a.name: True,
        b.name: True,
    }

    plane.objects.delete(POLICY_API, "PropagationPolicy", "web", ns)
    settle(controllers, lambda: replicas_in(a, ns, "web") is None and replicas_in(b, ns, "web") is None)
    assert get(plane, BINDING_API, "ResourceBinding", "web-deployment", ns) is None


def test_divided_splits_by_weight_and_overrides_the_registry_per_member(plane, members, controllers):
    a, b = members
    ns = unique("div")
    namespace(plane, ns)
    plane.objects.create(deployment("api", ns, 4, "nginx:1.25"))
    plane.objects.create(propagation_policy("api", ns, [a.name, b.name], weighted([a.name, b.name])))
    plane.objects.create(
        {
            "apiVersion": POLICY_API,
            "kind": "OverridePolicy",
            "metadata": {"name": "registries", "namespace": ns},
            "spec": {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}],
                "overrideRules": [
                    {
                        "targetCluster": {"clusterNames": [m.name]},
                        "overriders": {
                            "imageOverrider": [
                                {"component": "Registry", "operator": "replace", "value": f"registry.{m.name}.example"}
                            ]
                        },
                    }
                    for m in (a, b)
                ],
            },
        }
    )
    settle(controllers, lambda: scheduled(plane, ns, "api") == {a.name: 2, b.name: 2})
    for member in (a, b):
        found = settle(controllers, lambda m=member: get(m, "apps/v1", "Deployment", "api", ns))
        assert found["spec"]["replicas"] == 2
        assert (
            found["spec"]["template"]["spec"]["containers"][0]["image"] == f"registry.{member.name}.example/nginx:1.25"
        )


def test_replicas_move_off_a_member_once_its_toleration_ends(plane, members, controllers):
    a, b = members
    ns = unique("fo")
    namespace(plane, ns)

    def tolerations(seconds: int) -> list[dict]:
        return [
            {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
            for key in ("cluster.karmada.io/not-ready", "cluster.karmada.io/unreachable")
        ]

    for name, seconds in (("quick", 1), ("patient", 3600)):
        plane.objects.create(deployment(name, ns, 4))
        plane.objects.create(
            propagation_policy(name, ns, [a.name, b.name], weighted([a.name, b.name]), tolerations(seconds))
        )
    settle(controllers, lambda: scheduled(plane, ns, "quick") == {a.name: 2, b.name: 2})
    settle(controllers, lambda: scheduled(plane, ns, "patient") == {a.name: 2, b.name: 2})

    b.set_reachable(False)
    settle(controllers, lambda: scheduled(plane, ns, "quick") == {a.name: 4})
    settle(controllers, lambda: replicas_in(a, ns, "quick") == 4)
    assert scheduled(plane, ns, "patient") == {a.name: 2, b.name: 2}
    b.set_reachable(True)


def test_webster_division_follows_the_weights():
    assert webster(9, {"a": 1, "b": 2}, "") == {"a": 3, "b": 6}
    assert webster(4, {"a": 1, "b": 1}, "uid") == {"a": 2, "b": 2}
    assert sum(webster(5, {"a": 1, "b": 1}, "uid").values()) == 5


def test_overriders_rewrite_images_labels_and_fields_for_the_target_cluster_only():
    template = deployment("app", "ns", 2, "docker.io/library/nginx:1.25")
    template["metadata"]["labels"] = {"tier": "web", "old": "x"}
    policy = {
        "spec": {
            "overrideRules": [
                {
                    "targetCluster": {"labelSelector": {"matchLabels": {"region": "east"}}},
                    "overriders": {
                        "imageOverrider": [
                            {"component": "Registry", "operator": "replace", "value": "mirror.east:5000"},
                            {"component": "Repository", "operator": "add", "value": "-hardened"},
                            {"component": "Tag", "operator": "replace", "value": "1.26"},
                        ],
                        "labelsOverrider": [
                            {"operator": "add", "value": {"region": "east"}},
                            {"operator": "remove", "value": {"old": ""}},
                        ],
                        "plaintext": [
                            {"path": "/spec/template/spec/containers/0/args", "operator": "add", "value": ["-v"]}
                        ],
                    },
                }
            ]
        }
    }
    east = {"metadata": {"name": "e", "labels": {"region": "east"}}}
    west = {"metadata": {"name": "w", "labels": {"region": "west"}}}
    result = overridden(template, east, [policy])
    container = result["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mirror.east:5000/library/nginx-hardened:1.26"
    assert container["args"] == ["-v"]
    assert result["metadata"]["labels"] == {"tier": "web", "region": "east"}
    assert overridden(template, west, [policy]) == template
    assert template["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/library/nginx:1.25"


def test_a_cluster_propagation_policy_places_by_cluster_labels(emulator, plane, controllers):
    fleet = unique("fleet")
    inside = join_push(emulator, plane, {"fleetform.io/fleet": fleet})
    outside = join_push(emulator, plane)
    try:
        ns = unique("cpp")
        namespace(plane, ns)
        plane.objects.create(deployment("svc", ns, 1))
        plane.objects.create(
            {
                "apiVersion": POLICY_API,
                "kind": "ClusterPropagationPolicy",
                "metadata": {"name": unique("cpp")},
                "spec": {
                    "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "namespace": ns}],
                    "placement": {"clusterAffinity": {"labelSelector": {"matchLabels": {"fleetform.io/fleet": fleet}}}},
                },
            }
        )
        settle(controllers, lambda: replicas_in(inside, ns, "svc") == 1)
        assert scheduled(plane, ns, "svc") == {inside.name: 1}
        assert replicas_in(outside, ns, "svc") is None
    finally:
        for member in (inside, outside):
            plane.objects.delete(CLUSTER_API, "Cluster", member.name)
            emulator.remove_cluster(member.name)


def test_a_control_plane_keeps_scheduling_while_the_operator_is_down(hub, plane, controllers):
    hub.objects.delete("apps/v1", "Deployment", "karmada-operator", "karmada-system")
    try:
        ns = unique("down")
        namespace(plane, ns)
        plane.objects.create(deployment("lonely", ns, 1))
        plane.objects.create(propagation_policy("lonely", ns, ["nowhere"], {"replicaSchedulingType": "Duplicated"}))
        binding = settle(controllers, lambda: get(plane, BINDING_API, "ResourceBinding", "lonely-deployment", ns))
        assert binding["spec"]["clusters"] == []
        scheduled_condition = settle(
            controllers,
            lambda: condition(get(plane, BINDING_API, "ResourceBinding", "lonely-deployment", ns), "Scheduled"),
        )
        assert (scheduled_condition["status"], scheduled_condition["reason"]) == ("False", "NoClusterFit")
    finally:
        install_operator(hub)
