"""What real clients rely on, checked without kubectl (see test_kubectl.py for kubectl itself):
field validation, OpenAPI documents, protobuf request bodies, impersonation and the workload
controller."""

from __future__ import annotations

import json

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sandbox.kubeapi.protobody import decode
from tests.sandbox.test_kubeapi import wait_for


@pytest.fixture
def api(cluster):
    configuration = client.Configuration()
    config.load_kube_config_from_dict(yaml.safe_load(cluster.kubeconfig()), client_configuration=configuration)
    with client.ApiClient(configuration) as c:
        yield c


def _call(api, method: str, path: str, body=None, query=None, headers=None):
    return api.call_api(
        path,
        method,
        query_params=query or [],
        header_params={"Content-Type": "application/json", **(headers or {})},
        body=body,
        auth_settings=["BearerToken"],
        _preload_content=False,
    )


def _deployment(container: dict) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
        },
    }


def test_unknown_fields_are_refused_under_strict_and_dropped_with_a_warning_otherwise(api, cluster):
    body = _deployment({"name": "app", "image": "nginx", "imagePullPolcy": "Always"})
    path = "/apis/apps/v1/namespaces/default/deployments"
    with pytest.raises(ApiException) as refused:
        _call(api, "POST", path, body, [("fieldValidation", "Strict")])
    assert refused.value.status == 400
    assert 'unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\"' in refused.value.body

    created = _call(api, "POST", path, body)
    assert created.headers["Warning"] == '299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""'
    stored = cluster.objects.get("apps/v1", "Deployment", "web", "default")
    assert "imagePullPolcy" not in stored["spec"]["template"]["spec"]["containers"][0]
    assert stored["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"  # the :latest default


def test_openapi_v3_tells_clients_the_server_validates_fields(api):
    index = json.loads(_call(api, "GET", "/openapi/v3").data)
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = json.loads(_call(api, "GET", url.split("?")[0]).data)
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    schema = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    assert set(schema["properties"]) == {"apiVersion", "kind", "metadata", "spec", "status"}


def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_protobuf_bodies_decode_to_the_json_object():
    labels = _field(11, _field(1, b"team") + _field(2, b"a"))
    metadata = _field(1, b"ns-1") + _field(2, b"") + labels
    namespace = _field(1, metadata) + _field(2, _field(1, b"kubernetes"))
    type_meta = _field(1, b"v1") + _field(2, b"Namespace")
    body = b"k8s\x00" + _field(1, type_meta) + _field(2, namespace)
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "ns-1", "labels": {"team": "a"}},
        "spec": {"finalizers": ["kubernetes"]},
    }


def test_impersonation_needs_the_impersonate_verb(api, cluster):
    headers = {"Impersonate-User": "jane"}
    cluster.add_user("bob")
    bob = client.Configuration()
    config.load_kube_config_from_dict(yaml.safe_load(cluster.kubeconfig("bob")), client_configuration=bob)
    with client.ApiClient(bob) as bob_api, pytest.raises(ApiException) as refused:
        _call(bob_api, "GET", "/api/v1/namespaces", headers=headers)
    assert refused.value.status == 403
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    answer = json.loads(
        _call(api, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", review, headers=headers).data
    )
    assert answer["status"]["userInfo"] == {"username": "jane", "groups": ["system:authenticated"]}


def test_a_deployment_is_available_through_its_replicaset_and_pods(cluster):
    objects = cluster.objects
    objects.create(
        {**_deployment({"name": "app", "image": "nginx:1"}), "metadata": {"name": "web", "namespace": "default"}}
    )

    def rolled_out(image: str, replicas: int):
        d = objects.get("apps/v1", "Deployment", "web", "default")
        pods = [p for p in objects.list("v1", "Pod", "default") if p["spec"]["containers"][0]["image"] == image]
        done = d.get("status", {}).get("availableReplicas") == replicas and len(pods) == replicas
        return done and d

    deployment = wait_for(lambda: rolled_out("nginx:1", 1), timeout=30.0)
    (replicaset,) = objects.list("apps/v1", "ReplicaSet", "default")
    assert replicaset["metadata"]["ownerReferences"][0]["uid"] == deployment["metadata"]["uid"]
    assert replicaset["status"]["readyReplicas"] == 1
    (pod,) = objects.list("v1", "Pod", "default")
    assert pod["metadata"]["ownerReferences"][0]["name"] == replicaset["metadata"]["name"]
    assert pod["status"]["phase"] == "Running" and pod["spec"]["nodeName"]

    objects.patch(
        "apps/v1",
        "Deployment",
        "web",
        {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}},
        namespace="default",
    )
    wait_for(lambda: rolled_out("nginx:2", 2) and len(objects.list("v1", "Pod", "default")) == 2, timeout=30.0)
    sets = {s["metadata"]["name"]: s["spec"]["replicas"] for s in objects.list("apps/v1", "ReplicaSet", "default")}
    assert sorted(sets.values()) == [0, 2]
    reasons = {e["reason"] for e in objects.list("v1", "Event", "default")}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "SuccessfulDelete"} <= reasons
