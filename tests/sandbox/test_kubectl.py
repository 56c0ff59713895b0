"""The Kubernetes API emulator driven by the real ``kubectl`` 1.32, as a user would drive it.

kubectl is found as ``kubectl.1.32`` on the PATH or next to gcloud (the Cloud SDK ships it);
without it these tests are skipped. Each test gets its own virtual cluster, kubeconfig and
kubectl discovery cache, so the tests are independent and xdist-safe.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.sandbox.test_kubeapi import WIDGET_CRD


def _find_kubectl() -> str | None:
    found = shutil.which("kubectl.1.32")
    if found:
        return found
    gcloud = shutil.which("gcloud")
    if gcloud:
        candidate = Path(os.path.realpath(gcloud)).parent / "kubectl.1.32"
        if candidate.exists():
            return str(candidate)
    return None


KUBECTL = _find_kubectl()
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl 1.32 (kubectl.1.32, shipped with gcloud) not found")


class Kubectl:
    def __init__(self, cluster, tmp_path: Path, user: str = "admin"):
        self.config = tmp_path / f"kubeconfig-{user}"
        self.config.write_text(cluster.kubeconfig(user))
        self.cache = tmp_path / "cache"

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [KUBECTL, "--kubeconfig", str(self.config), "--cache-dir", str(self.cache), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> dict:
        return json.loads(self.run(*args, "-o", "json").stdout)


@pytest.fixture
def kubectl(cluster, tmp_path):
    return Kubectl(cluster, tmp_path)


def _deployment(name: str, container: dict) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
            },
        }
    )


def test_typed_creates_send_protobuf_and_are_understood(cluster, kubectl):
    kubectl.run("create", "namespace", "team")
    kubectl.run("create", "serviceaccount", "robot", "-n", "team")
    kubectl.run("create", "configmap", "settings", "-n", "team", "--from-literal=mode=fast")
    kubectl.run("create", "deployment", "web", "-n", "team", "--image=nginx:1.25", "--replicas=2", "--port=80")
    token = kubectl.run("create", "token", "robot", "-n", "team").stdout.strip()

    assert kubectl.json("get", "configmap", "settings", "-n", "team")["data"] == {"mode": "fast"}
    container = kubectl.json("get", "deployment", "web", "-n", "team")["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["ports"][0]["containerPort"]) == ("nginx:1.25", 80)
    assert "workingDir" not in container  # Go's empty strings are not read as values
    whoami = kubectl.json("auth", "whoami", "--token", token)
    assert whoami["status"]["userInfo"]["username"] == "system:serviceaccount:team:robot"


def test_auth_can_i_list_and_impersonation_follow_rbac(cluster, kubectl, tmp_path):
    kubectl.run("create", "role", "reader", "-n", "default", "--verb=get,list", "--resource=configmaps")
    kubectl.run("create", "rolebinding", "jane-reads", "-n", "default", "--role=reader", "--user=jane")

    assert kubectl.run("auth", "can-i", "list", "configmaps", "-n", "default", "--as", "jane").stdout.strip() == "yes"
    denied = kubectl.run("auth", "can-i", "delete", "configmaps", "-n", "default", "--as", "jane", check=False)
    assert (denied.returncode, denied.stdout.strip()) == (1, "no")
    rules = kubectl.run("auth", "can-i", "--list", "-n", "default", "--as", "jane").stdout
    assert any(line.split()[0] == "configmaps" and "[get list]" in line for line in rules.splitlines()[1:])
    whoami = kubectl.json("auth", "whoami", "--as", "jane", "--as-group", "devs", "--as-group", "ops")
    assert whoami["status"]["userInfo"]["groups"] == ["devs", "ops", "system:authenticated"]
    forbidden = kubectl.run("get", "secrets", "-n", "default", "--as", "jane", check=False)
    assert 'User "jane" cannot list resource "secrets"' in forbidden.stderr

    cluster.add_user("bob")  # no right to impersonate anyone
    bob = Kubectl(cluster, tmp_path, "bob")
    refused = bob.run("get", "configmaps", "-n", "default", "--as", "jane", check=False)
    assert 'User "bob" cannot impersonate resource "users"' in refused.stderr


def test_apply_validates_on_the_server_and_prunes_unknown_fields(kubectl):
    typo = _deployment("typo", {"name": "c", "image": "nginx", "imagePullPolcy": "Always"})

    strict = kubectl.run("apply", "-f", "-", stdin=typo, check=False)
    assert strict.returncode == 1
    assert 'unknown field "spec.template.spec.containers[0].imagePullPolcy"' in strict.stderr
    assert kubectl.run("get", "deployments", "-o", "name").stdout == ""

    warned = kubectl.run("apply", "--validate=warn", "-f", "-", stdin=typo)
    assert 'Warning: unknown field "spec.template.spec.containers[0].imagePullPolcy"' in warned.stderr
    container = kubectl.json("get", "deployment", "typo")["spec"]["template"]["spec"]["containers"][0]
    assert "imagePullPolcy" not in container


def test_apply_then_diff_shows_only_real_changes(kubectl):
    manifest = _deployment("web", {"name": "c", "image": "nginx:1.25"})
    kubectl.run("apply", "-f", "-", stdin=manifest)
    assert kubectl.run("diff", "-f", "-", stdin=manifest, check=False).returncode == 0

    changed = kubectl.run("diff", "-f", "-", stdin=manifest.replace("nginx:1.25", "nginx:1.26"), check=False)
    assert changed.returncode == 1
    assert "+      - image: nginx:1.26" in changed.stdout


def test_apply_reorders_a_keyed_list_through_set_element_order(kubectl):
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    kubectl.run("apply", "-f", "-", stdin=_deployment("web", {"name": "c", "image": "nginx", "env": env}))
    reordered = _deployment("web", {"name": "c", "image": "nginx", "env": env[::-1]})
    kubectl.run("apply", "-f", "-", stdin=reordered)
    container = kubectl.json("get", "deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert [e["name"] for e in container["env"]] == ["B", "A"]
    assert kubectl.run("diff", "-f", "-", stdin=reordered, check=False).returncode == 0


def test_defaults_of_the_built_in_types_are_filled(kubectl):
    kubectl.run("apply", "-f", "-", stdin=_deployment("web", {"name": "c", "image": "nginx"}))
    spec = kubectl.json("get", "deployment", "web")["spec"]
    assert (spec["revisionHistoryLimit"], spec["progressDeadlineSeconds"]) == (10, 600)
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    container = spec["template"]["spec"]["containers"][0]
    assert (container["imagePullPolicy"], container["terminationMessagePath"]) == ("Always", "/dev/termination-log")
    kubectl.run("create", "service", "nodeport", "api", "--tcp=80:http")
    service = kubectl.json("get", "service", "api")["spec"]
    assert (service["sessionAffinity"], service["ipFamilies"]) == ("None", ["IPv4"])
    assert service["externalTrafficPolicy"] == "Cluster"
    (port,) = service["ports"]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, "http", "TCP")
    assert 30000 <= port["nodePort"] < 32768  # Go's unset 0 is not read as a port


def test_explain_reads_the_openapi_documents(kubectl):
    replicas = kubectl.run("explain", "deployment.spec.replicas").stdout
    assert "FIELD: replicas <integer>" in replicas
    assert "Number of desired pods" in replicas
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(_widget_crd()))
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com")
    size = kubectl.run("explain", "widgets.spec.size").stdout
    assert "How many cogs" in size


def test_scale_goes_through_the_scale_subresource(kubectl):
    kubectl.run("create", "deployment", "web", "--image=nginx", "--replicas=1")
    kubectl.run("scale", "deployment", "web", "--replicas=3")
    assert kubectl.json("get", "deployment", "web")["spec"]["replicas"] == 3
    scale = json.loads(kubectl.run("get", "--raw", "/apis/apps/v1/namespaces/default/deployments/web/scale").stdout)
    assert (scale["kind"], scale["spec"]["replicas"], scale["status"]["selector"]) == ("Scale", 3, "app=web")


def test_scale_of_a_custom_resource_follows_its_crds_paths(kubectl):
    crd = copy.deepcopy(WIDGET_CRD)
    crd["spec"]["versions"][0]["subresources"]["scale"] = {
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.ready",
        "labelSelectorPath": ".status.selector",
    }
    kubectl.run("apply", "-f", "-", stdin=json.dumps(crd))
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": "S"}}
    kubectl.run("apply", "-f", "-", stdin=json.dumps(widget))
    kubectl.run("scale", "widget", "w", "--replicas=4")

    assert kubectl.json("get", "widget", "w")["spec"] == {"size": "S", "replicas": 4}
    scale = json.loads(kubectl.run("get", "--raw", "/apis/example.com/v1/namespaces/default/widgets/w/scale").stdout)
    assert (scale["spec"]["replicas"], scale["status"]) == (4, {"replicas": 0, "selector": ""})

    crd["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] = ".status.replicas"
    refused = kubectl.run("apply", "-f", "-", stdin=json.dumps(crd), check=False)
    assert "specReplicasPath" in refused.stderr and "should be a json path under .spec." in refused.stderr


def test_field_selectors_per_type(kubectl):
    kubectl.run("create", "secret", "generic", "plain", "--from-literal=a=b")
    kubectl.run(
        "create",
        "secret",
        "docker-registry",
        "pull",
        "--docker-server=r.example",
        "--docker-username=u",
        "--docker-password=p",
    )
    active = kubectl.run("get", "namespaces", "--field-selector", "status.phase=Active", "-o", "name").stdout.split()
    assert "namespace/default" in active
    opaque = kubectl.run("get", "secrets", "--field-selector", "type=Opaque", "-o", "name").stdout.split()
    assert opaque == ["secret/plain"]
    refused = kubectl.run("get", "configmaps", "--field-selector", "type=Opaque", check=False)
    assert "field label not supported: type" in refused.stderr


def test_tables_have_the_standard_and_printer_columns(kubectl):
    kubectl.run("create", "deployment", "web", "--image=nginx", "--replicas=2")
    header, row = kubectl.run("get", "deployments").stdout.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:2] == ["web", "2/2"]
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(_widget_crd()))
    kubectl.run("wait", "--for=condition=Established", "crd/widgets.example.com")
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 4}}
    kubectl.run("apply", "-f", "-", stdin=yaml.safe_dump(widget))
    header, row = kubectl.run("get", "widgets").stdout.splitlines()
    assert header.split() == ["NAME", "SIZE"]
    assert row.split() == ["w", "4"]


def _widget_crd() -> dict:
    size = {"type": "integer", "description": "How many cogs the widget has."}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "properties": {"size": size}}},
                        }
                    },
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                }
            ],
        },
    }
