"""Semantics of the Kubernetes API emulator, driven through the official ``kubernetes`` client.

Every client is built from the kubeconfig the emulator emits, with TLS verification against the
emitted CA. Each test gets its own virtual cluster, so tests are independent and xdist-safe.
"""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
import urllib3
import yaml
from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import exceptions as dyn_errors

from sandbox.kubeapi import ApiError, KubeApiEmulator

_counter = iter(range(1, 10_000))


# --- fixtures and helpers -----------------------------------------------------------------------


def api_client(cluster, user: str = "admin", retries=None, **kubeconfig_args) -> client.ApiClient:
    """An official client from the emitted kubeconfig; ``retries`` replaces urllib3's default."""
    configuration = client.Configuration()
    config.load_kube_config_from_dict(
        yaml.safe_load(cluster.kubeconfig(user, **kubeconfig_args)), client_configuration=configuration
    )
    configuration.retries = retries
    return client.ApiClient(configuration)


@pytest.fixture
def api(cluster):
    c = api_client(cluster)
    yield c
    c.close()


@pytest.fixture
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture
def dyn(api, tmp_path):
    """DynamicClient with a private discovery cache (ports get reused across clusters)."""
    return dynamic.DynamicClient(api, cache_file=str(tmp_path / "discovery.json"))


def raw(api: client.ApiClient, path: str, query=None):
    """GET ``path`` through the client's own transport (TLS, token); JSON decoded, text as is.

    The classic ``ApiClient.call_api`` raises :class:`ApiException` for a non-2xx answer."""
    response = api.call_api(
        path,
        "GET",
        query_params=query or [],
        auth_settings=["BearerToken"],
        _preload_content=False,
        _return_http_data_only=True,
    )
    return decoded(response)


def decoded(response):
    """The body of an undecoded (``_preload_content=False``) response: JSON decoded, text as is."""
    data = response.data.decode()
    try:
        return json.loads(data)
    except ValueError:
        return data


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.02)
    return value


def status_of(exc: ApiException) -> dict:
    return json.loads(exc.body)


def gone(fn) -> bool:
    try:
        fn()
    except ApiException as exc:
        return exc.status == 404
    return False


def cm(name: str, labels: dict | None = None, **data) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


def deployment(name: str, image: str = "nginx:1", replicas: int = 1) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "string", "enum": ["S", "M", "L"]},
                                    "replicas": {"type": "integer", "default": 1},
                                    "tags": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}


def install_widgets(cluster) -> dict:
    return cluster.objects.create(json.loads(json.dumps(WIDGET_CRD)))


def widget(name: str, size: str = "M", **spec) -> dict:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"size": size, **spec},
    }


# --- connection, TLS, version, discovery --------------------------------------------------------


def test_kubeconfig_carries_ca_and_token_and_tls_is_verified(server, cluster, core):
    kc = yaml.safe_load(cluster.kubeconfig())
    assert kc["clusters"][0]["cluster"]["server"] == cluster.url
    assert base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]).decode() == cluster.ca_pem
    assert kc["users"][0]["user"]["token"] == cluster.token("admin")
    assert core.read_namespace("kube-system").metadata.name == "kube-system"

    other = server.add_cluster(f"t{next(_counter)}")
    try:  # other cluster's CA must not validate this cluster's serving certificate
        forged = yaml.safe_load(cluster.kubeconfig())
        forged["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
            other.ca_pem.encode()
        ).decode()
        bad = config.new_client_from_config_dict(forged)
        bad.configuration.retries = 0
        with pytest.raises(urllib3.exceptions.MaxRetryError) as info:
            client.CoreV1Api(bad).list_namespace()
        assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    finally:
        server.remove_cluster(other.name)


def test_version_is_per_cluster_and_kube_system_uid_is_stable(server, cluster, api):
    old = server.add_cluster(f"t{next(_counter)}", version="1.18.20")
    eks = server.add_cluster(f"t{next(_counter)}", version="v1.29.4-eks-1a2b3c")
    try:
        assert client.VersionApi(api).get_code().git_version == "v1.29.4"
        old_info = client.VersionApi(api_client(old)).get_code()
        assert (old_info.major, old_info.minor, old_info.git_version) == ("1", "18", "v1.18.20")
        assert client.VersionApi(api_client(eks)).get_code().minor == "29+"
        uid = client.CoreV1Api(api).read_namespace("kube-system").metadata.uid
        assert uid == cluster.kube_system_uid
        assert client.CoreV1Api(api).read_namespace("kube-system").metadata.uid == uid
        assert old.kube_system_uid != uid
    finally:
        server.remove_cluster(old.name)
        server.remove_cluster(eks.name)


def test_health_endpoints_answer_ok(api):
    for path in ("/healthz", "/readyz", "/livez"):
        assert raw(api, path) == "ok"


def test_discovery_documents(api):
    versions = raw(api, "/api")
    assert versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    core = raw(api, "/api/v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["namespaces"]["namespaced"] is False and by_name["namespaces"]["shortNames"] == ["ns"]
    assert by_name["secrets"]["namespaced"] is True and "watch" in by_name["secrets"]["verbs"]
    assert by_name["configmaps"]["singularName"] == "configmap"
    assert by_name["serviceaccounts/token"]["kind"] == "TokenRequest"
    assert by_name["services/status"]["verbs"] == ["get", "patch", "update"]
    groups = {g["name"]: g for g in raw(api, "/apis")["groups"]}
    assert {
        "apps",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "networking.k8s.io",
        "apiextensions.k8s.io",
        "coordination.k8s.io",
    } <= set(groups)
    for g in groups.values():
        assert g["preferredVersion"] in g["versions"]
    apps = raw(api, "/apis/apps/v1")
    assert {r["name"] for r in apps["resources"]} >= {"deployments", "deployments/status", "daemonsets"}
    assert raw(api, "/apis/apps")["preferredVersion"]["groupVersion"] == "apps/v1"


def test_old_cluster_lacks_newer_apis(server):
    old = server.add_cluster(f"t{next(_counter)}", version="1.18.3")
    try:
        groups = {g["name"] for g in raw(api_client(old), "/apis")["groups"]}
        assert "networking.k8s.io" not in groups and "apps" in groups
    finally:
        server.remove_cluster(old.name)


def test_dynamic_client_finds_builtin_kinds(dyn):
    for api_version, kind in (
        ("v1", "Secret"),
        ("apps/v1", "DaemonSet"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("storage.k8s.io/v1", "CSIDriver"),
        ("networking.k8s.io/v1", "IngressClass"),
        ("coordination.k8s.io/v1", "Lease"),
        ("v1", "Endpoints"),
    ):
        assert dyn.resources.get(api_version=api_version, kind=kind).kind == kind
    nodes = dyn.resources.get(api_version="v1", kind="Node").get()
    assert nodes.items[0].status.nodeInfo.kubeletVersion == "v1.29.4"


# --- CRUD, errors, concurrency -------------------------------------------------------------------


def test_create_get_list_delete(core, api):
    created = core.create_namespaced_config_map("default", cm("one", {"app": "x"}, k="v"))
    assert created.metadata.uid and created.metadata.resource_version and created.metadata.creation_timestamp
    assert created.metadata.generation is None  # ConfigMaps have no spec
    generated = core.create_namespaced_config_map("default", {"metadata": {"generateName": "gen-"}})
    assert generated.metadata.name.startswith("gen-") and len(generated.metadata.name) == 9
    got = core.read_namespaced_config_map("one", "default")
    assert got.data == {"k": "v"} and got.metadata.uid == created.metadata.uid
    dep = client.AppsV1Api(api).create_namespaced_deployment("default", deployment("web"))
    assert dep.metadata.generation == 1

    core.create_namespace({"metadata": {"name": "other"}})
    core.create_namespaced_secret("other", {"metadata": {"name": "s"}, "stringData": {"a": "b"}})
    secret = core.read_namespaced_secret("s", "other")
    assert secret.data == {"a": base64.b64encode(b"b").decode()} and secret.type == "Opaque"
    everywhere = core.list_secret_for_all_namespaces()
    assert ("other", "s") in {(s.metadata.namespace, s.metadata.name) for s in everywhere.items}
    assert int(everywhere.metadata.resource_version) >= int(secret.metadata.resource_version)

    result = core.delete_namespaced_config_map("one", "default")
    assert isinstance(result, client.V1Status)
    assert result.status == "Success" and result.details.name == "one"
    assert result.details.uid == created.metadata.uid
    with pytest.raises(ApiException) as info:
        core.read_namespaced_config_map("one", "default")
    body = status_of(info.value)
    assert info.value.status == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound" and body["status"] == "Failure"
    assert body["details"] == {"name": "one", "group": "", "kind": "configmaps"}
    assert body["message"] == 'configmaps "one" not found'


def test_error_statuses(core, api):
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("missing", cm("x"))
    assert info.value.status == 404 and status_of(info.value)["details"]["kind"] == "namespaces"

    core.create_namespaced_config_map("default", cm("dup"))
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("default", cm("dup"))
    assert info.value.status == 409 and status_of(info.value)["reason"] == "AlreadyExists"

    for bad in ("Bad_Name", "-leading", "x" * 254):
        with pytest.raises(ApiException) as info:
            core.create_namespaced_config_map("default", cm(bad))
        body = status_of(info.value)
        assert info.value.status == 422 and body["reason"] == "Invalid"
        assert body["details"]["causes"][0]["field"] == "metadata.name"
    with pytest.raises(ApiException) as info:  # namespaces are DNS labels: no dots
        core.create_namespace({"metadata": {"name": "a.b"}})
    assert info.value.status == 422
    with pytest.raises(ApiException) as info:
        core.create_namespaced_secret(
            "default", {"metadata": {"name": "t"}, "type": "kubernetes.io/service-account-token"}
        )
    assert info.value.status == 422
    with pytest.raises(ApiException) as info:
        client.AppsV1Api(api).create_namespaced_deployment(
            "default",
            {
                "metadata": {"name": "nosel"},
                "spec": {
                    "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": []}},
                },
            },
        )
    assert info.value.status == 422
    with pytest.raises(ApiException) as info:  # body namespace differs from the URL's
        core.create_namespaced_config_map("default", {"metadata": {"name": "n", "namespace": "kube-system"}})
    assert info.value.status == 400


def test_replace_with_stale_resource_version_conflicts(core):
    first = core.create_namespaced_config_map("default", cm("cfg", a="1"))
    first.data = {"a": "2"}
    second = core.replace_namespaced_config_map("cfg", "default", first)
    assert int(second.metadata.resource_version) > int(first.metadata.resource_version)
    first.data = {"a": "3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as info:
        core.replace_namespaced_config_map("cfg", "default", first)
    body = status_of(info.value)
    assert info.value.status == 409 and body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]
    unconditional = {"metadata": {"name": "cfg"}, "data": {"a": "4"}}
    assert core.replace_namespaced_config_map("cfg", "default", unconditional).data == {"a": "4"}
    same = core.replace_namespaced_config_map("cfg", "default", unconditional)
    assert same.metadata.resource_version == core.read_namespaced_config_map("cfg", "default").metadata.resource_version


def test_generation_tracks_spec_changes_only(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", deployment("web"))
    labelled = apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"x": "y"}}})
    assert labelled.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
    assert scaled.metadata.generation == 2


def test_status_subresource_is_separate(core):
    body = {
        "metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}},
    }
    created = core.create_namespaced_service("default", body)
    assert created.status.load_balancer.ingress is None  # status is not set through the main resource
    assert created.spec.cluster_ip and created.spec.ports[0].node_port >= 30000

    status_write = core.read_namespaced_service("lb", "default")
    status_write.status.load_balancer.ingress = [{"ip": "10.0.0.7"}]
    status_write.spec.ports[0].port = 8080
    after = core.replace_namespaced_service_status("lb", "default", status_write)
    assert after.status.load_balancer.ingress[0].ip == "10.0.0.7" and after.spec.ports[0].port == 80

    main_write = core.read_namespaced_service("lb", "default")
    main_write.status.load_balancer.ingress = []
    main_write.spec.ports[0].port = 8080
    after = core.replace_namespaced_service("lb", "default", main_write)
    assert after.spec.ports[0].port == 8080 and after.status.load_balancer.ingress[0].ip == "10.0.0.7"
    assert after.spec.cluster_ip == created.spec.cluster_ip


def test_label_and_field_selectors(core):
    for name, labels in (
        ("a", {"app": "web", "tier": "front"}),
        ("b", {"app": "web", "tier": "back"}),
        ("c", {"app": "db"}),
        ("d", {}),
    ):
        core.create_namespaced_config_map("default", cm(name, labels))

    def names(**kw):
        return sorted(
            i.metadata.name
            for i in core.list_namespaced_config_map("default", **kw).items
            if i.metadata.name != "kube-root-ca.crt"
        )

    assert names(label_selector="app=web") == ["a", "b"]
    assert names(label_selector="app==web,tier=back") == ["b"]
    assert names(label_selector="app!=web") == ["c", "d"]
    assert names(label_selector="tier in (front,back)") == ["a", "b"]
    assert names(label_selector="app notin (web)") == ["c", "d"]
    assert names(label_selector="tier") == ["a", "b"]
    assert names(label_selector="!tier") == ["c", "d"]
    assert names(field_selector="metadata.name=c") == ["c"]
    assert names(field_selector="metadata.name!=c", label_selector="app") == ["a", "b"]
    every = core.list_config_map_for_all_namespaces(field_selector="metadata.namespace=default")
    assert {i.metadata.namespace for i in every.items} == {"default"}
    with pytest.raises(ApiException) as info:
        core.list_namespaced_config_map("default", field_selector="spec.foo=bar")
    assert info.value.status == 400
    core.delete_collection_namespaced_config_map("default", label_selector="app=web")
    assert names() == ["c", "d"]


def test_list_pagination(core):
    for n in range(5):
        core.create_namespaced_config_map("default", cm(f"p{n}", {"page": "yes"}))
    first = core.list_namespaced_config_map("default", label_selector="page", limit=2)
    assert [i.metadata.name for i in first.items] == ["p0", "p1"] and first.metadata._continue
    rest = core.list_namespaced_config_map(
        "default", label_selector="page", limit=10, _continue=first.metadata._continue
    )
    assert [i.metadata.name for i in rest.items] == ["p2", "p3", "p4"] and not rest.metadata._continue


def test_concurrent_writes_are_serialised(core):
    errors = []

    def worker(n):
        try:
            core.create_namespaced_config_map("default", cm(f"c{n}"))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    items = [i for i in core.list_namespaced_config_map("default").items if i.metadata.name.startswith("c")]
    assert len({i.metadata.resource_version for i in items}) == 16


# --- finalizers, namespaces, garbage collection ---------------------------------------------------


def test_finalizers_hold_deletion(core):
    core.create_namespaced_config_map("default", {"metadata": {"name": "held", "finalizers": ["example.com/x"]}})
    # the typed client would squeeze the answer into a V1Status, so read the body as sent
    response = decoded(core.delete_namespaced_config_map("held", "default", _preload_content=False))
    assert response["kind"] == "ConfigMap" and response["metadata"]["deletionTimestamp"]  # not a Status
    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as info:
        core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": ["example.com/x", "new/one"]}})
    assert info.value.status == 422
    core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": None}})
    assert gone(lambda: core.read_namespaced_config_map("held", "default"))


def test_namespace_deletion_terminates_then_disappears(core, cluster):
    core.create_namespace({"metadata": {"name": "doomed"}})
    wait_for(lambda: not gone(lambda: core.read_namespaced_service_account("default", "doomed")))
    core.create_namespaced_config_map("doomed", cm("plain"))
    core.create_namespaced_config_map("doomed", {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    deleted = decoded(core.delete_namespace("doomed", _preload_content=False))  # the object, not a V1Status
    assert deleted["status"]["phase"] == "Terminating" and deleted["metadata"]["deletionTimestamp"]
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("plain", "doomed")))
    assert core.read_namespace("doomed").status.phase == "Terminating"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_config_map("doomed", cm("late"))
    assert info.value.status == 403
    core.patch_namespaced_config_map("held", "doomed", {"metadata": {"finalizers": None}})
    wait_for(lambda: gone(lambda: core.read_namespace("doomed")))


def test_owner_references_are_garbage_collected(core):
    owner = core.create_namespaced_config_map("default", cm("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("default", {"metadata": {"name": "dependent", "ownerReferences": [ref]}})
    core.create_namespaced_config_map("default", {"metadata": {"name": "orphaned", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("dependent", "default")  # deleting a dependent leaves the owner
    core.create_namespaced_config_map("default", {"metadata": {"name": "dependent", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner", "default", propagation_policy="Orphan")
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("owner", "default")))
    assert not core.read_namespaced_config_map("orphaned", "default").metadata.owner_references

    owner = core.create_namespaced_config_map("default", cm("owner2"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner2", "uid": owner.metadata.uid}
    core.create_namespaced_config_map("default", {"metadata": {"name": "child", "ownerReferences": [ref]}})
    core.delete_namespaced_config_map("owner2", "default")
    wait_for(lambda: gone(lambda: core.read_namespaced_config_map("child", "default")))


# --- custom resources ---------------------------------------------------------------------------


def test_crd_makes_kind_servable_and_deletion_removes_it(cluster, api, dyn):
    custom = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as info:
        custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert info.value.status == 404

    crd = client.ApiextensionsV1Api(api).create_custom_resource_definition(WIDGET_CRD)
    conditions = {c.type: c.status for c in crd.status.conditions}
    assert conditions["Established"] == "True" and conditions["NamesAccepted"] == "True"
    assert crd.status.accepted_names.kind == "Widget"

    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    assert widgets.namespaced and widgets.short_names == ["wg"]
    created = widgets.create(body=widget("w1", tags=["a"], unknown="dropped"), namespace="default")
    assert created.spec.to_dict() == {"size": "M", "tags": ["a"], "replicas": 1}  # pruned, defaulted
    got = custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w1")
    assert got["metadata"]["generation"] == 1 and got["apiVersion"] == "example.com/v1"
    group = next(g for g in raw(api, "/apis")["groups"] if g["name"] == "example.com")
    assert group["preferredVersion"] == {"groupVersion": "example.com/v1", "version": "v1"}

    client.ApiextensionsV1Api(api).delete_custom_resource_definition("widgets.example.com")
    wait_for(
        lambda: gone(lambda: client.ApiextensionsV1Api(api).read_custom_resource_definition("widgets.example.com"))
    )
    with pytest.raises(ApiException) as info:
        custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets")
    assert info.value.status == 404
    assert not cluster.store.objects(("example.com", "widgets"))
    assert "example.com" not in {g["name"] for g in raw(api, "/apis")["groups"]}


def test_crd_validation_and_custom_resource_schema(cluster, api):
    ext = client.ApiextensionsV1Api(api)
    bad = json.loads(json.dumps(WIDGET_CRD))
    bad["metadata"]["name"] = "wrong.example.com"
    with pytest.raises(ApiException) as info:
        ext.create_custom_resource_definition(bad)
    assert info.value.status == 422 and "metadata.name" in status_of(info.value)["message"]

    install_widgets(cluster)
    custom = client.CustomObjectsApi(api)
    for body, field in ((widget("w", size="XL"), "spec.size"), ({**widget("w"), "spec": {}}, "spec.size")):
        with pytest.raises(ApiException) as info:
            custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", body)
        causes = status_of(info.value)["details"]["causes"]
        assert info.value.status == 422 and causes[0]["field"] == field
    custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", widget("w"))
    with pytest.raises(ApiException) as info:  # custom resources need a resourceVersion on PUT
        custom.replace_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", widget("w", "L"))
    assert info.value.status == 422


def test_crd_versions_share_storage(cluster, api, dyn):
    definition = json.loads(json.dumps(WIDGET_CRD))
    beta = json.loads(json.dumps(definition["spec"]["versions"][0]))
    beta.update(name="v1beta1", storage=False)
    definition["spec"]["versions"].append(beta)
    cluster.objects.create(definition)
    group = next(g for g in raw(api, "/apis")["groups"] if g["name"] == "example.com")
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]
    assert group["preferredVersion"]["version"] == "v1"
    old = dyn.resources.get(api_version="example.com/v1beta1", kind="Widget")
    old.create(body={**widget("w"), "apiVersion": "example.com/v1beta1"}, namespace="default")
    new = client.CustomObjectsApi(api).get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")
    assert new["apiVersion"] == "example.com/v1" and new["spec"]["size"] == "M"
    with pytest.raises(ApiException) as info:
        client.CustomObjectsApi(api).get_namespaced_custom_object("example.com", "v2", "default", "widgets", "w")
    assert info.value.status == 404


def test_custom_resource_status_subresource(cluster, api):
    install_widgets(cluster)
    custom = client.CustomObjectsApi(api)
    body = widget("w")
    body["status"] = {"phase": "ignored"}
    created = custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", body)
    assert "status" not in created
    created["status"] = {"phase": "Ready"}
    created["spec"]["size"] = "L"
    after = custom.replace_namespaced_custom_object_status("example.com", "v1", "default", "widgets", "w", created)
    assert after["status"] == {"phase": "Ready"} and after["spec"]["size"] == "M"
    assert after["metadata"]["generation"] == 1
    after["spec"]["size"] = "S"
    after["status"] = {"phase": "Overwritten?"}
    again = custom.replace_namespaced_custom_object("example.com", "v1", "default", "widgets", "w", after)
    assert again["spec"]["size"] == "S" and again["status"] == {"phase": "Ready"}
    assert again["metadata"]["generation"] == 2


# --- patch types ----------------------------------------------------------------------------------


def test_merge_strategic_and_json_patches(cluster, api, dyn):
    apps = client.AppsV1Api(api)
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    body["metadata"]["finalizers"] = ["a/b"]
    apps.create_namespaced_deployment("default", body)

    # strategic merge (the typed client's default for dict bodies): containers merge by name
    merged = apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    )
    containers = {c.name: c.image for c in merged.spec.template.spec.containers}
    assert containers == {"app": "nginx:2", "side": "busybox"}
    merged = apps.patch_namespaced_deployment("web", "default", {"metadata": {"finalizers": ["c/d"]}})
    assert merged.metadata.finalizers == ["a/b", "c/d"]  # a merge-strategy list of strings
    dropped = apps.patch_namespaced_deployment(
        "web", "default", {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}}
    )
    assert [c.name for c in dropped.spec.template.spec.containers] == ["app"]

    # JSON merge patch: lists are replaced, null deletes
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    replaced = deployments.patch(
        name="web",
        namespace="default",
        content_type="application/merge-patch+json",
        body={"metadata": {"finalizers": None, "labels": {"k": "v"}}},
    )
    assert replaced.metadata.finalizers is None and replaced.metadata.labels.to_dict() == {"k": "v"}

    # JSON patch (the typed client sends lists as json-patch+json)
    patched = apps.patch_namespaced_deployment(
        "web",
        "default",
        [
            {"op": "test", "path": "/spec/replicas", "value": 1},
            {"op": "replace", "path": "/spec/replicas", "value": 4},
            {"op": "add", "path": "/metadata/labels/extra", "value": "1"},
            {"op": "remove", "path": "/metadata/labels/k"},
        ],
    )
    assert patched.spec.replicas == 4 and patched.metadata.labels == {"extra": "1"}
    with pytest.raises(ApiException) as info:
        apps.patch_namespaced_deployment("web", "default", [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert info.value.status == 422

    install_widgets(cluster)
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    widgets.create(body=widget("w"), namespace="default")
    with pytest.raises(dyn_errors.DynamicApiError) as info:  # strategic merge is for built-ins only
        widgets.patch(name="w", namespace="default", body={"spec": {"size": "L"}})
    assert info.value.status == 415
    assert (
        widgets.patch(
            name="w", namespace="default", body={"spec": {"size": "L"}}, content_type="application/merge-patch+json"
        ).spec.size
        == "L"
    )


def test_patch_with_stale_resource_version_conflicts(core):
    old = core.create_namespaced_config_map("default", cm("c", a="1"))
    core.patch_namespaced_config_map("c", "default", {"data": {"a": "2"}})
    with pytest.raises(ApiException) as info:
        core.patch_namespaced_config_map(
            "c", "default", {"metadata": {"resourceVersion": old.metadata.resource_version}, "data": {"a": "3"}}
        )
    assert info.value.status == 409


def test_server_side_apply(cluster, dyn):
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    intent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "ssa", "namespace": "default"},
        "data": {"a": "1", "b": "2"},
    }
    created = cms.server_side_apply(body=intent, name="ssa", namespace="default", field_manager="alice")
    assert created.data.to_dict() == {"a": "1", "b": "2"}
    entry = next(m for m in created.metadata.managedFields if m.manager == "alice")
    assert entry.operation == "Apply" and entry.fieldsV1.to_dict() == {"f:data": {"f:a": {}, "f:b": {}}}

    with pytest.raises(dyn_errors.ConflictError) as info:
        cms.server_side_apply(
            body={**intent, "data": {"a": "changed"}}, name="ssa", namespace="default", field_manager="bob"
        )
    body = json.loads(info.value.body)
    assert body["reason"] == "Conflict" and 'conflict with "alice"' in body["message"]
    assert body["details"]["causes"][0] == {
        "reason": "FieldManagerConflict",
        "message": 'conflict with "alice"',
        "field": ".data.a",
    }

    shared = cms.server_side_apply(
        body={**intent, "data": {"a": "1"}}, name="ssa", namespace="default", field_manager="bob"
    )  # same value: no conflict, shared ownership
    assert {m.manager for m in shared.metadata.managedFields} == {"alice", "bob"}
    with pytest.raises(dyn_errors.ConflictError):  # ?force=False (this client's spelling) does not force
        cms.server_side_apply(
            body={**intent, "data": {"a": "bob's"}},
            name="ssa",
            namespace="default",
            field_manager="bob",
            force_conflicts=False,
        )
    forced = cms.server_side_apply(
        body={**intent, "data": {"a": "bob's"}},
        name="ssa",
        namespace="default",
        field_manager="bob",
        force_conflicts=True,
    )  # sent as ?force=True
    assert forced.data.a == "bob's"
    alice = next(m for m in forced.metadata.managedFields if m.manager == "alice")
    assert alice.fieldsV1.to_dict() == {"f:data": {"f:b": {}}}

    pruned = cms.server_side_apply(
        body={**intent, "data": {"c": "3"}}, name="ssa", namespace="default", field_manager="alice"
    )
    assert pruned.data.to_dict() == {"a": "bob's", "c": "3"}  # b dropped by its only owner; a still bob's

    with pytest.raises(dyn_errors.BadRequestError):
        cms.patch(name="ssa", namespace="default", body=intent, content_type="application/apply-patch+yaml")


def test_server_side_apply_conflicts_with_update_managers_and_merges_keyed_lists(api, dyn):
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    intent = {**deployment("web"), "metadata": {"name": "web", "namespace": "default"}}
    intent["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    deployments.server_side_apply(body=intent, name="web", namespace="default", field_manager="ff")
    client.AppsV1Api(api).patch_namespaced_deployment(
        "web", "default", {"spec": {"replicas": 5}}, field_manager="scaler"
    )
    with pytest.raises(dyn_errors.ConflictError) as info:
        deployments.server_side_apply(body=intent, name="web", namespace="default", field_manager="ff")
    assert ".spec.replicas" in json.loads(info.value.body)["message"]

    del intent["spec"]["replicas"]  # give replicas up; drop the sidecar
    intent["spec"]["template"]["spec"]["containers"] = [{"name": "app", "image": "nginx:2"}]
    applied = deployments.server_side_apply(body=intent, name="web", namespace="default", field_manager="ff")
    assert applied.spec.replicas == 5
    assert [(c.name, c.image) for c in applied.spec.template.spec.containers] == [("app", "nginx:2")]


def test_dry_run_does_not_persist(core, dyn):
    core.create_namespaced_config_map("default", cm("dry"), dry_run="All")
    assert gone(lambda: core.read_namespaced_config_map("dry", "default"))
    core.create_namespaced_config_map("default", cm("real", a="1"))
    preview = core.patch_namespaced_config_map("real", "default", {"data": {"a": "2"}}, dry_run="All")
    assert preview.data == {"a": "2"}
    cms = dyn.resources.get(api_version="v1", kind="ConfigMap")
    cms.server_side_apply(
        body={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "real"}, "data": {"a": "3"}},
        name="real",
        namespace="default",
        field_manager="x",
        force_conflicts=True,
        dry_run="All",
    )
    assert core.read_namespaced_config_map("real", "default").data == {"a": "1"}


# --- authentication and authorization -------------------------------------------------------------


def test_missing_or_bad_token_is_unauthorized(cluster):
    for kubeconfig in (cluster.kubeconfig_dict(token="not-a-token"),):
        with pytest.raises(ApiException) as info:
            client.CoreV1Api(config.new_client_from_config_dict(kubeconfig)).list_namespace()
        assert info.value.status == 401 and status_of(info.value)["reason"] == "Unauthorized"
    anonymous = cluster.kubeconfig_dict()
    del anonymous["users"][0]["user"]["token"]
    anon_api = config.new_client_from_config_dict(anonymous)
    with pytest.raises(ApiException) as info:
        client.CoreV1Api(anon_api).list_namespace()
    assert info.value.status == 401
    assert raw(anon_api, "/healthz") == "ok"  # health and version are public
    cluster.add_user("temp", token="temporary-token")
    temp = config.new_client_from_config_dict(cluster.kubeconfig_dict("temp"))
    assert client.VersionApi(temp).get_code().major == "1"
    cluster.revoke_token("temporary-token")
    with pytest.raises(ApiException) as info:
        client.VersionApi(temp).get_code()
    assert info.value.status == 401


def test_service_account_token_secret_and_rbac(cluster, core, api):
    core.create_namespace({"metadata": {"name": "fleetform-system"}})
    core.create_namespaced_service_account("fleetform-system", {"metadata": {"name": "hub"}})
    core.create_namespaced_secret(
        "fleetform-system",
        {
            "metadata": {"name": "hub-token", "annotations": {"kubernetes.io/service-account.name": "hub"}},
            "type": "kubernetes.io/service-account-token",
        },
    )
    secret = wait_for(lambda: (s := core.read_namespaced_secret("hub-token", "fleetform-system")).data and s)
    token = base64.b64decode(secret.data["token"]).decode()
    assert base64.b64decode(secret.data["ca.crt"]).decode() == cluster.ca_pem
    assert base64.b64decode(secret.data["namespace"]).decode() == "fleetform-system"
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert "exp" not in claims and claims["sub"] == "system:serviceaccount:fleetform-system:hub"

    sa_api = config.new_client_from_config_dict(cluster.kubeconfig_dict(token=token))
    sa_core = client.CoreV1Api(sa_api)
    assert client.VersionApi(sa_api).get_code().git_version == "v1.29.4"  # discovery is open
    with pytest.raises(ApiException) as info:
        sa_core.list_namespace()
    body = status_of(info.value)
    assert info.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        'namespaces is forbidden: User "system:serviceaccount:fleetform-system:hub" '
        'cannot list resource "namespaces" in API group "" at the cluster scope'
    )

    client.RbacAuthorizationV1Api(api).create_cluster_role_binding(
        {
            "metadata": {"name": "fleetform-hub"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "hub", "namespace": "fleetform-system"}],
        }
    )
    assert "kube-system" in {n.metadata.name for n in sa_core.list_namespace().items}

    core.delete_namespaced_secret("hub-token", "fleetform-system")  # revokes the token
    with pytest.raises(ApiException) as info:
        sa_core.list_namespace()
    assert info.value.status == 401


def test_roles_are_namespaced_and_honour_resource_names(cluster, core, api):
    rbac = client.RbacAuthorizationV1Api(api)
    token = cluster.add_user("dev", groups=["devs"])
    rbac.create_namespaced_role(
        "default",
        {
            "metadata": {"name": "reader"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["allowed"]},
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
            ],
        },
    )
    rbac.create_namespaced_role_binding(
        "default",
        {
            "metadata": {"name": "devs-read"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "Group", "name": "devs"}],
        },
    )
    core.create_namespaced_config_map("default", cm("allowed"))
    core.create_namespaced_config_map("default", cm("denied"))
    dev = client.CoreV1Api(config.new_client_from_config_dict(cluster.kubeconfig_dict(token=token)))
    assert dev.read_namespaced_config_map("allowed", "default").metadata.name == "allowed"
    dev.list_namespaced_secret("default")
    for call in (
        lambda: dev.read_namespaced_config_map("denied", "default"),
        lambda: dev.list_namespaced_secret("kube-system"),
        lambda: dev.delete_namespaced_config_map("allowed", "default"),
    ):
        with pytest.raises(ApiException) as info:
            call()
        assert info.value.status == 403

    review = client.AuthorizationV1Api(
        config.new_client_from_config_dict(cluster.kubeconfig_dict(token=token))
    ).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "secrets"}}}
    )
    assert review.status.allowed is True
    with pytest.raises(ApiException) as info:  # roleRef is immutable
        rbac.patch_namespaced_role_binding(
            "devs-read",
            "default",
            {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}},
        )
    assert info.value.status == 422


def test_token_request_issues_expiring_tokens(cluster, core, api):
    core.create_namespaced_service_account("default", {"metadata": {"name": "bot"}})
    client.RbacAuthorizationV1Api(api).create_cluster_role_binding(
        {
            "metadata": {"name": "bot-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}],
        }
    )
    response = core.create_namespaced_service_account_token("bot", "default", {"spec": {"expirationSeconds": 900}})
    token = response.status.token
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == 900 and response.status.expiration_timestamp
    bot = client.CoreV1Api(config.new_client_from_config_dict(cluster.kubeconfig_dict(token=token)))
    assert bot.read_namespace("default").metadata.name == "default"
    with pytest.raises(ApiException) as info:
        core.create_namespaced_service_account_token("bot", "default", {"spec": {"expirationSeconds": 60}})
    assert info.value.status == 422
    core.delete_namespaced_service_account("bot", "default")
    with pytest.raises(ApiException) as info:
        bot.read_namespace("default")
    assert info.value.status == 401


def test_client_certificate_authentication(cluster):
    cert = cluster.client_certificate("carol", groups=["system:masters"])
    api = config.new_client_from_config_dict(cluster.kubeconfig_dict("carol", client_certificate=cert))
    assert client.CoreV1Api(api).read_namespace("default").metadata.name == "default"
    plain = cluster.client_certificate("dave")
    api = config.new_client_from_config_dict(cluster.kubeconfig_dict("dave", client_certificate=plain))
    with pytest.raises(ApiException) as info:
        client.CoreV1Api(api).list_namespace()
    assert info.value.status == 403


# --- watch ----------------------------------------------------------------------------------------


def test_boolean_query_parameters_are_read_like_the_api_server(core, api):
    """``0``/``false`` in any case are false, anything else true: the classic client sends ``True``."""
    core.create_namespaced_config_map("default", cm("flag", {"flag": "yes"}))
    path = "/api/v1/namespaces/default/configmaps"
    for value in ("false", "False", "0"):
        assert raw(api, path, [("watch", value), ("labelSelector", "flag")])["kind"] == "ConfigMapList"
    for value in ("true", "True", "1"):
        event = raw(api, path, [("watch", value), ("labelSelector", "flag"), ("timeoutSeconds", "1")])
        assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "flag"


def test_watch_streams_changes_and_resumes(core):
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("w", {"watched": "yes"}))
    core.patch_namespaced_config_map("w", "default", {"data": {"x": "1"}})
    core.delete_namespaced_config_map("w", "default")
    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, "default", resource_version=start, label_selector="watched", timeout_seconds=1
    ):
        events.append((event["type"], event["object"].metadata.name))
    assert events == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]

    seen = []
    stream = watch.Watch()

    def consume():
        for event in stream.stream(core.list_namespaced_config_map, "default", timeout_seconds=5):
            seen.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "live":
                stream.stop()

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.2)
    core.create_namespaced_config_map("default", cm("live"))
    thread.join(timeout=5)
    assert ("ADDED", "kube-root-ca.crt") in seen and seen[-1] == ("ADDED", "live")


# --- faults ---------------------------------------------------------------------------------------


def test_injected_errors_throttling_and_latency(cluster, core):
    cluster.faults.fail_next(1, code=503)
    with pytest.raises(ApiException) as info:
        core.list_namespace()
    assert info.value.status == 503 and status_of(info.value)["reason"] == "ServiceUnavailable"

    cluster.set_faults(retry_after=7)
    cluster.faults.throttle_next(1)
    strict = client.CoreV1Api(api_client(cluster, retries=urllib3.Retry(0, respect_retry_after_header=False)))
    with pytest.raises(ApiException) as info:
        strict.list_namespace()
    assert info.value.status == 429 and info.value.headers["Retry-After"] == "7"
    assert status_of(info.value)["details"]["retryAfterSeconds"] == 7

    cluster.set_faults(retry_after=1)
    cluster.faults.throttle_next(1)
    began = time.monotonic()
    core.list_namespace()  # urllib3's default policy waits Retry-After seconds and retries
    assert time.monotonic() - began >= 1.0

    cluster.set_faults(latency=0.3)
    began = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - began >= 0.3
    cluster.reset_faults()

    cluster.set_faults(error_rate=0.5)
    outcomes = []
    for _ in range(40):
        try:
            core.read_namespace("default")
            outcomes.append(200)
        except ApiException as exc:
            outcomes.append(exc.status)
    cluster.reset_faults()
    assert set(outcomes) <= {200, 500, 503} and 5 < outcomes.count(200) < 35


def test_error_injection_is_reproducible_with_a_seed(tmp_path):
    runs = []
    for _ in range(2):
        with KubeApiEmulator(seed=42) as emulator:
            c = emulator.add_cluster("seeded")
            c.set_faults(error_rate=0.5)
            core = client.CoreV1Api(api_client(c))
            pattern = []
            for _ in range(20):
                try:
                    core.read_namespace("default")
                    pattern.append(200)
                except ApiException as exc:
                    pattern.append(exc.status)
            runs.append(pattern)
    assert runs[0] == runs[1] and 200 in runs[0] and len(set(runs[0])) > 1


def test_unreachable_cluster_refuses_connections(cluster, core):
    core.read_namespace("default")  # keep a pooled connection open
    cluster.set_reachable(False)
    fresh = api_client(cluster, retries=0)
    for api in (core, client.CoreV1Api(fresh)):
        with pytest.raises(urllib3.exceptions.MaxRetryError) as info:
            api.read_namespace("default")
        assert isinstance(info.value.reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ProtocolError))
    cluster.set_reachable(True)
    assert client.CoreV1Api(fresh).read_namespace("default").metadata.name == "default"


# --- in-process access and persistence ------------------------------------------------------------


def test_in_process_objects_and_subscriptions(cluster, core):
    seen = []

    def record(event) -> None:
        name = event.object["metadata"]["name"]
        if name != "kube-root-ca.crt":  # the control plane publishes it into every namespace, at its own time
            seen.append((event.type, name))

    sub = cluster.objects.subscribe(
        record,
        "v1",
        "ConfigMap",
        "default",
        include_existing=False,
    )
    try:
        cluster.objects.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inproc"}, "data": {"a": "1"}}
        )
        assert core.read_namespaced_config_map("inproc", "default").data == {"a": "1"}
        core.patch_namespaced_config_map("inproc", "default", {"data": {"a": "2"}})
        cluster.objects.delete("v1", "ConfigMap", "inproc", "default")
        wait_for(lambda: ("DELETED", "inproc") in seen)
        assert seen == [("ADDED", "inproc"), ("MODIFIED", "inproc"), ("DELETED", "inproc")]
    finally:
        sub.close()
    with pytest.raises(ApiError) as info:
        cluster.objects.get("v1", "ConfigMap", "inproc", "default")
    assert info.value.code == 404 and info.value.status()["reason"] == "NotFound"
    applied = cluster.objects.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "by-ctl"}}, field_manager="controller"
    )
    assert applied["status"]["phase"] == "Active"


def test_in_process_resource_version_moves_only_on_writes(cluster):
    def reads_leave_it_alone() -> bool:  # retried: the control plane may still be writing its defaults
        before = cluster.objects.resource_version
        cluster.objects.list("v1", "ConfigMap")
        cluster.objects.get("v1", "Namespace", "default")
        return cluster.objects.resource_version == before

    wait_for(reads_leave_it_alone)
    before = cluster.objects.resource_version
    created = cluster.objects.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rv"}})
    assert cluster.objects.resource_version >= int(created["metadata"]["resourceVersion"]) > before


def test_in_process_lookup_by_plural(cluster):
    assert cluster.objects.resource_type_of("apps", "v1", "deployments").kind == "Deployment"
    assert cluster.objects.resource_type_of("", "v1", "configmaps").namespaced
    with pytest.raises(ApiError) as info:
        cluster.objects.resource_type_of("example.com", "v1", "widgets")
    assert info.value.code == 404


def test_state_survives_restart_from_data_dir(tmp_path):
    with KubeApiEmulator(data_dir=tmp_path) as first:
        c = first.add_cluster("persisted", version="1.27.9")
        url, token, ca, uid = c.url, c.token(), c.ca_pem, c.kube_system_uid
        kubeconfig = c.kubeconfig()
        install_widgets(c)
        core = client.CoreV1Api(api_client(c))
        core.create_namespaced_config_map("default", cm("keep", a="1"))
        core.create_namespaced_service_account("default", {"metadata": {"name": "sa"}})
        core.create_namespaced_secret(
            "default",
            {
                "metadata": {"name": "sa-token", "annotations": {"kubernetes.io/service-account.name": "sa"}},
                "type": "kubernetes.io/service-account-token",
            },
        )
        secret = wait_for(lambda: (s := core.read_namespaced_secret("sa-token", "default")).data and s)
        sa_token = base64.b64decode(secret.data["token"]).decode()
        rv = core.read_namespaced_config_map("keep", "default").metadata.resource_version

    assert (tmp_path / "clusters" / "persisted.json").exists()
    with KubeApiEmulator(data_dir=tmp_path) as second:
        again = second.cluster("persisted")
        assert (again.url, again.token(), again.ca_pem, again.kube_system_uid) == (url, token, ca, uid)
        api = config.new_client_from_config_dict(yaml.safe_load(kubeconfig))  # the old kubeconfig works
        core = client.CoreV1Api(api)
        kept = core.read_namespaced_config_map("keep", "default")
        assert kept.data == {"a": "1"} and kept.metadata.resource_version == rv
        assert client.VersionApi(api).get_code().git_version == "v1.27.9"
        custom = client.CustomObjectsApi(api)
        custom.create_namespaced_custom_object("example.com", "v1", "default", "widgets", widget("w"))
        assert int(core.read_namespaced_config_map("keep", "default").metadata.resource_version) == int(rv)
        sa = client.CoreV1Api(config.new_client_from_config_dict(again.kubeconfig_dict(token=sa_token)))
        assert client.VersionApi(sa.api_client).get_code().major == "1"  # SA token still authenticates
        assert second.add_cluster("persisted", exist_ok=True) is again
        # the change history did not survive: watching from before the restart is 410 Gone
        stale = raw(
            api,
            "/api/v1/namespaces/default/configmaps",
            [("watch", "true"), ("resourceVersion", str(int(rv) - 1)), ("timeoutSeconds", "1")],
        )
        assert stale["type"] == "ERROR" and stale["object"]["code"] == 410


def test_reachability_survives_restart_from_data_dir(tmp_path):
    with KubeApiEmulator(data_dir=tmp_path) as first:
        down = first.add_cluster("down")
        first.add_cluster("legacy")
        down.set_reachable(False)
        url = down.url
    files = tmp_path / "clusters"
    assert json.loads((files / "down.json").read_text())["reachable"] is False
    legacy = json.loads((files / "legacy.json").read_text())
    del legacy["reachable"]  # a state file written before the flag was kept
    (files / "legacy.json").write_text(json.dumps(legacy))

    with KubeApiEmulator(data_dir=tmp_path) as second:
        down, legacy = second.cluster("down"), second.cluster("legacy")
        assert not down.reachable and legacy.reachable
        assert client.CoreV1Api(api_client(legacy)).read_namespace("default").metadata.name == "default"
        api = client.CoreV1Api(api_client(down, retries=0))
        with pytest.raises(urllib3.exceptions.MaxRetryError) as info:
            api.read_namespace("default")
        assert isinstance(info.value.reason, urllib3.exceptions.NewConnectionError)
        down.set_reachable(True)
        assert down.url == url and api.read_namespace("default").metadata.name == "default"

    with KubeApiEmulator(data_dir=tmp_path) as third:  # making it reachable again is persisted too
        assert third.cluster("down").reachable
        assert json.loads((files / "down.json").read_text())["reachable"] is True
