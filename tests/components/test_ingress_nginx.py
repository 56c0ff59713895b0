"""components.ingress_nginx: the rendered ingress-nginx objects hang together and turn into pulumi_kubernetes types."""

from __future__ import annotations

import asyncio
import base64
import inspect
import re
import typing

import pulumi
import pulumi_kubernetes
import pytest

from components import ingress_nginx

CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nSERVING\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"
LB_ANNOTATIONS = {"service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz"}
CALLER_LABELS = {"app.kubernetes.io/managed-by": "fleetform"}


def render(service_type: str = "LoadBalancer", **overrides) -> dict[str, dict]:
    arguments = {
        "class_name": "public",
        "make_default": True,
        "service_type": service_type,
        "service_annotations": LB_ANNOTATIONS,
        "labels": CALLER_LABELS,
        "webhook_ca": CA,
        "webhook_cert": CERT,
        "webhook_key": KEY,
        **overrides,
    }
    return ingress_nginx.render(**arguments)


def by_kind(objects: dict[str, dict], kind: str) -> list[dict]:
    return [obj for obj in objects.values() if obj["kind"] == kind]


def container(objects: dict[str, dict]) -> dict:
    (only,) = objects["controller"]["spec"]["template"]["spec"]["containers"]
    return only


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and selector.items() <= labels.items()


ALL_TYPES = pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort", "HostPort"])


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_load_balancer_and_node_port_run_a_deployment_behind_a_service_of_that_type(service_type: str) -> None:
    objects = render(service_type)
    workload, service = objects["controller"], objects["service"]
    assert (workload["kind"], workload["metadata"]["name"]) == ("Deployment", ingress_nginx.DEPLOYMENT_NAME)
    assert workload["spec"]["replicas"] == 1
    assert not by_kind(objects, "DaemonSet")
    assert service["metadata"]["name"] == ingress_nginx.SERVICE_NAME
    assert service["spec"]["type"] == service_type
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("http", 80, "http"),
        ("https", 443, "https"),
    }
    assert all("hostPort" not in port for port in container(objects)["ports"])
    assert f"--publish-service=$(POD_NAMESPACE)/{ingress_nginx.SERVICE_NAME}" in container(objects)["args"]


def test_host_port_runs_a_daemonset_on_workers_with_host_ports_behind_a_cluster_ip_service() -> None:
    objects = render("HostPort", service_annotations={})
    workload, service = objects["controller"], objects["service"]
    assert workload["kind"] == "DaemonSet"
    assert not by_kind(objects, "Deployment")
    assert service["spec"]["type"] == "ClusterIP"
    assert "externalTrafficPolicy" not in service["spec"]  # the API rejects it on a ClusterIP Service
    ports = {port["name"]: port for port in container(objects)["ports"]}
    assert {name: (ports[name]["containerPort"], ports[name]["hostPort"]) for name in ("http", "https")} == {
        "http": (80, ingress_nginx.HOST_PORTS["http"]),
        "https": (443, ingress_nginx.HOST_PORTS["https"]),
    }
    assert ingress_nginx.HOST_PORTS == {"http": 10080, "https": 10443}
    assert "hostPort" not in ports["webhook"]
    terms = workload["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}
    ]
    assert not any(arg.startswith("--publish-service") for arg in container(objects)["args"])


def test_unknown_service_type_is_refused() -> None:
    with pytest.raises(ValueError, match="ClusterIP"):
        render("ClusterIP")


@pytest.mark.parametrize(("make_default", "value"), [(True, "true"), (False, "false")])
def test_ingress_class_is_named_by_the_caller_and_marked_default_or_not(make_default: bool, value: str) -> None:
    objects = render(make_default=make_default)
    (ingress_class,) = by_kind(objects, "IngressClass")
    assert ingress_class["apiVersion"] == "networking.k8s.io/v1"
    assert ingress_class["metadata"]["name"] == "public"
    assert ingress_class["metadata"]["annotations"] == {"ingressclass.kubernetes.io/is-default-class": value}
    assert (
        ingress_class["spec"]
        == {"controller": ingress_nginx.CONTROLLER_VALUE}
        == {"controller": "k8s.io/ingress-nginx"}
    )


def test_controller_watches_the_callers_class_and_upstreams_controller_value() -> None:
    args = container(render(class_name="edge"))["args"]
    assert args[0] == "/nginx-ingress-controller"
    assert "--ingress-class=edge" in args
    assert "--controller-class=k8s.io/ingress-nginx" in args


def test_caller_annotations_land_only_on_the_controller_service() -> None:
    objects = render()
    carriers = [
        suffix
        for suffix, obj in objects.items()
        if LB_ANNOTATIONS.items() <= obj["metadata"].get("annotations", {}).items()
    ]
    assert carriers == ["service"]


@ALL_TYPES
def test_caller_labels_are_on_every_object_and_upstream_labels_win(service_type: str) -> None:
    objects = render(service_type, labels={**CALLER_LABELS, "app.kubernetes.io/name": "hijack"})
    pod_labels = objects["controller"]["spec"]["template"]["metadata"]["labels"]
    for labels in [pod_labels, *(obj["metadata"]["labels"] for obj in objects.values())]:
        assert labels["app.kubernetes.io/managed-by"] == "fleetform"
        assert labels["app.kubernetes.io/name"] == "ingress-nginx"
        assert labels["app.kubernetes.io/instance"] == "ingress-nginx"
    assert objects["controller"]["metadata"]["labels"]["app.kubernetes.io/version"] == ingress_nginx.CONTROLLER_VERSION
    assert objects["webhook"]["metadata"]["labels"]["app.kubernetes.io/component"] == "admission-webhook"


@ALL_TYPES
def test_selectors_match_the_controller_pods_and_use_only_upstream_labels(service_type: str) -> None:
    objects = render(service_type)
    spec = objects["controller"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    assert selects(spec["selector"]["matchLabels"], pod_labels)
    for service in by_kind(objects, "Service"):
        assert selects(service["spec"]["selector"], pod_labels), service["metadata"]["name"]
    for selector in [spec["selector"]["matchLabels"], *(s["spec"]["selector"] for s in by_kind(objects, "Service"))]:
        assert all(key.startswith("app.kubernetes.io/") for key in selector)
        assert "app.kubernetes.io/managed-by" not in selector
        assert "app.kubernetes.io/version" not in selector


@ALL_TYPES
def test_webhook_calls_a_rendered_admission_service_that_reaches_the_controllers_webhook_port(
    service_type: str,
) -> None:
    objects = render(service_type)
    (webhook_config,) = by_kind(objects, "ValidatingWebhookConfiguration")
    assert webhook_config["apiVersion"] == "admissionregistration.k8s.io/v1"
    (webhook,) = webhook_config["webhooks"]
    reference = webhook["clientConfig"]["service"]
    matches = [
        s
        for s in by_kind(objects, "Service")
        if (s["metadata"]["name"], s["metadata"]["namespace"]) == (reference["name"], reference["namespace"])
    ]
    assert len(matches) == 1
    (admission,) = matches
    assert admission["metadata"]["name"] != ingress_nginx.SERVICE_NAME
    assert selects(admission["spec"]["selector"], objects["controller"]["spec"]["template"]["metadata"]["labels"])
    (port,) = [p for p in admission["spec"]["ports"] if p["port"] == reference["port"]]
    container_ports = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert container_ports[port["targetPort"]] == 8443
    assert "--validating-webhook=:8443" in container(objects)["args"]
    assert webhook["rules"][0]["resources"] == ["ingresses"]


def test_admission_secret_holds_the_given_certificate_where_the_controller_reads_it() -> None:
    objects = render()
    (secret,) = by_kind(objects, "Secret")
    assert secret["stringData"] == {"ca": CA, "cert": CERT, "key": KEY}
    assert "data" not in secret
    pod_spec = objects["controller"]["spec"]["template"]["spec"]
    (volume,) = [v for v in pod_spec["volumes"] if v.get("secret", {}).get("secretName") == secret["metadata"]["name"]]
    (mount,) = [m for m in container(objects)["volumeMounts"] if m["name"] == volume["name"]]
    args = container(objects)["args"]
    for key in ("cert", "key"):
        flag = "--validating-webhook-certificate" if key == "cert" else "--validating-webhook-key"
        assert f"{flag}={mount['mountPath'].rstrip('/')}/{key}" in args
    assert secret["metadata"]["namespace"] == ingress_nginx.NAMESPACE


def test_ca_bundle_is_the_base64_of_the_given_ca() -> None:
    (webhook,) = render()["webhook"]["webhooks"]
    assert base64.b64decode(webhook["clientConfig"]["caBundle"]).decode() == CA


def test_ca_bundle_of_an_output_is_an_output_of_the_base64() -> None:
    async def resolve() -> str:
        bundle = ingress_nginx.ca_bundle(pulumi.Output.from_input(CA))
        assert isinstance(bundle, pulumi.Output)
        return await bundle.future()

    assert base64.b64decode(asyncio.run(resolve())).decode() == CA


@ALL_TYPES
def test_bindings_reference_rendered_roles_and_service_accounts(service_type: str) -> None:
    objects = render(service_type)
    accounts = {(sa["metadata"]["namespace"], sa["metadata"]["name"]) for sa in by_kind(objects, "ServiceAccount")}
    roles = {("Role", r["metadata"]["name"]) for r in by_kind(objects, "Role")}
    roles |= {("ClusterRole", r["metadata"]["name"]) for r in by_kind(objects, "ClusterRole")}
    bindings = by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding")
    assert {b["kind"] for b in bindings} == {"RoleBinding", "ClusterRoleBinding"}
    for binding in bindings:
        assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) in roles
        assert binding["roleRef"]["kind"] == binding["kind"].removesuffix("Binding")
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount"
            assert (subject["namespace"], subject["name"]) in accounts
    pod_spec = objects["controller"]["spec"]["template"]["spec"]
    assert (ingress_nginx.NAMESPACE, pod_spec["serviceAccountName"]) in accounts


def test_role_allows_leader_election_on_the_controllers_election_lease() -> None:
    objects = render()
    election_id = next(a for a in container(objects)["args"] if a.startswith("--election-id=")).split("=", 1)[1]
    rules = objects["role"]["rules"]
    assert {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "resourceNames": [election_id],
        "verbs": ["get", "update"],
    } in rules
    assert {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]} in rules


def test_no_certgen_jobs_or_their_rbac() -> None:
    objects = render()
    assert not by_kind(objects, "Job")
    assert [sa["metadata"]["name"] for sa in by_kind(objects, "ServiceAccount")] == ["ingress-nginx"]
    assert "ingress-nginx-admission" not in {r["metadata"]["name"] for r in by_kind(objects, "ClusterRole")}


def test_image_is_pinned_by_digest_at_the_controller_version() -> None:
    image = container(render())["image"]
    assert re.fullmatch(
        rf"registry\.k8s\.io/ingress-nginx/controller:v{re.escape(ingress_nginx.CONTROLLER_VERSION)}@sha256:[0-9a-f]{{64}}",
        image,
    )
    assert image == ingress_nginx.IMAGE
    assert (ingress_nginx.CHART_VERSION, ingress_nginx.CONTROLLER_VERSION) == ("4.15.1", "1.15.1")


def test_controller_runs_as_upstreams_unprivileged_user_with_health_probes() -> None:
    controller = container(render())
    assert controller["securityContext"]["runAsUser"] == 101
    assert controller["securityContext"]["runAsNonRoot"] is True
    for probe in ("livenessProbe", "readinessProbe"):
        assert controller[probe]["httpGet"] == {"path": "/healthz", "port": 10254, "scheme": "HTTP"}
    assert {e["name"] for e in controller["env"]} == {"POD_NAME", "POD_NAMESPACE", "LD_PRELOAD"}


def test_namespaced_objects_live_in_the_ingress_nginx_namespace() -> None:
    objects = render()
    cluster_scoped = {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "IngressClass",
        "ValidatingWebhookConfiguration",
    }
    for obj in objects.values():
        assert ("namespace" in obj["metadata"]) == (obj["kind"] not in cluster_scoped), obj["kind"]
        if obj["kind"] not in cluster_scoped:
            assert obj["metadata"]["namespace"] == ingress_nginx.NAMESPACE
    assert objects["namespace"]["metadata"]["name"] == ingress_nginx.NAMESPACE


def test_renderings_do_not_share_mutable_state() -> None:
    first = render()
    first["role"]["rules"][0]["verbs"].append("delete")
    first["controller"]["spec"]["selector"]["matchLabels"]["x"] = "y"
    first["sa"]["metadata"]["labels"]["x"] = "y"
    second = render()
    assert second["role"]["rules"][0]["verbs"] == ["get"]
    assert "x" not in second["controller"]["spec"]["selector"]["matchLabels"]
    assert "x" not in second["role"]["metadata"]["labels"]


def pulumi_class(api_version: str, kind: str) -> type:
    group, _, version = api_version.rpartition("/")
    module = group.split(".")[0] if group else "core"
    return getattr(getattr(getattr(pulumi_kubernetes, module), version), kind)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@ALL_TYPES
def test_every_object_maps_onto_a_pulumi_kubernetes_resource_class(service_type: str) -> None:
    for suffix, obj in render(service_type).items():
        cls = pulumi_class(obj["apiVersion"], obj["kind"])
        assert issubclass(cls, pulumi.CustomResource), suffix
        accepted = {
            name for overload in typing.get_overloads(cls.__init__) for name in inspect.signature(overload).parameters
        }
        keys = {snake(key) for key in obj if key not in {"apiVersion", "kind"}}
        assert "status" not in keys
        assert keys <= accepted, (suffix, keys - accepted)
