"""RegisteredCluster (注册集群): an existing cluster looked up, registered on the hub and watched
until it is ``running`` (DOMAIN §2.3, recipe §5).

``direct``: a ServiceAccount bound to cluster-admin in the member, its long-lived token turned into
the hub's credential for the member, and a ``ManagedCluster`` on the hub.
``agent``: the hub issues a bootstrap credential that can touch this cluster's ``ManagedCluster``
only; the agent's namespace, RBAC, that credential and its Deployment go into the member (or into
``agent_manifest`` for a manual install), and the agent joins the cluster from inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pulumi
import pulumi_kubernetes as k8s
import yaml

from providers.dynamic import ClusterLookup, RegistrationStatus, ServiceAccountCredential

from . import labels, ocm
from .hub import AGENT_BOOTSTRAP_NAMESPACE, Hub

AGENT_NAMESPACE = "open-cluster-management-agent"
AGENT_IMAGE = "quay.io/open-cluster-management/registration:v0.16.0"
HUB_SA = "fleetform-hub"
HUB_TOKEN_SECRET = "fleetform-hub-token"
ENGINE_VERSION = "0.1.0"


@dataclass(frozen=True)
class ClusterIdentity:
    """What the registration needs to know of a cluster beyond its kubeconfig."""

    name: str
    kind: str
    region: str | None  # None: the region the cloud reports (aks)
    identity: dict  # the kind's non-secret identifiers (DOMAIN §2.3); empty for idc
    cloud_endpoint: str | None  # a custom or emulated cloud API endpoint
    mode: str
    agent_install: str
    endpoint_override: str | None
    context: str | None
    access_timeout: timedelta
    bootstrap_token_ttl: timedelta
    deletion_protection: bool
    credential_generation: int
    extra_labels: dict
    min_version: str = "1.19"  # 1.21 for members of a federated fleet (V10)


class RegisteredCluster(pulumi.ComponentResource):
    """One cluster registered on the hub; outputs ``status``, ``kubernetes_version``, ``endpoint``,
    ``region``, and the secrets ``kubeconfig`` (direct) or ``agent_manifest`` (agent)."""

    def __init__(self, ident: ClusterIdentity, hub: Hub, member_kubeconfig: pulumi.Input[str] | None,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("fleetform:index:RegisteredCluster", ident.name, None, opts)
        self.ident = ident
        self.hub = hub
        name = ident.name
        child = pulumi.ResourceOptions(parent=self)
        self.lookup = None
        self.member = None
        if ident.kind != "idc" or member_kubeconfig is not None:
            self.lookup = ClusterLookup(
                f"{name}-lookup", cluster=name, kind=ident.kind, identity=ident.identity,
                kubeconfig=member_kubeconfig, context=ident.context, cloud_endpoint=ident.cloud_endpoint,
                min_version=ident.min_version, hub_kubeconfig=hub.kubeconfig, opts=child,
            )
            self.kubernetes_version = self.lookup.kubernetes_version
            self.endpoint = pulumi.Output.from_input(ident.endpoint_override) if ident.endpoint_override else self.lookup.endpoint
            self.member = k8s.Provider(
                f"{name}-member", kubeconfig=self.lookup.bootstrap_kubeconfig, context=ident.context,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lookup]),
            )
        else:  # an agent cluster the engine cannot reach: the user applies agent_manifest
            self.kubernetes_version = pulumi.Output.from_input("")
            self.endpoint = pulumi.Output.from_input(ident.endpoint_override or "")
        self.region = pulumi.Output.from_input(ident.region or (self.lookup.region if self.lookup else "idc"))
        self._labels = labels.common(hub.name, cluster=name)
        on_hub = pulumi.ResourceOptions(parent=self, provider=hub.provider, depends_on=hub.ready)
        if ident.mode == "direct":
            self.kubeconfig, hub_objects = self._direct(on_hub)
            status_member = self.kubeconfig
        else:
            self.kubeconfig = None
            hub_objects = self._agent(on_hub)
            status_member = None
        self.status = RegistrationStatus(
            f"{name}-status", cluster=name, mode=ident.mode, hub_kubeconfig=hub.kubeconfig,
            member_kubeconfig=status_member, timeout_seconds=int(ident.access_timeout.total_seconds()),
            wait=not (ident.mode == "agent" and ident.agent_install == "manual"),
            generation=ident.credential_generation,
            opts=pulumi.ResourceOptions(parent=self, depends_on=hub_objects),
        )
        outputs = {
            "status": self.status.state,
            "kubernetes_version": self.kubernetes_version,
            "endpoint": self.endpoint,
            "region": self.region,
        }
        if self.kubeconfig is not None:
            outputs["kubeconfig"] = self.kubeconfig  # secret: the hub's ServiceAccount credential
        if ident.mode == "agent":
            outputs["agent_manifest"] = self.agent_manifest  # secret: holds the bootstrap credential
        self.register_outputs(outputs)

    # -- shared pieces ---------------------------------------------------------------------------
    def _on_member(self, depends_on=()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self.member, depends_on=list(depends_on))

    def _managed_cluster(self, on_hub: pulumi.ResourceOptions, ca_bundle) -> k8s.apiextensions.CustomResource:
        ident = self.ident
        metadata = {
            "name": ident.name,
            "labels": {
                **ident.extra_labels,
                **self._labels,
                labels.CLUSTERSET_LABEL: "default",
                "fleetform.io/kind": ident.kind,
                "fleetform.io/cloud": labels.CLOUD_OF_KIND[ident.kind],
                "fleetform.io/region": self.region,
                "fleetform.io/connection-mode": ident.mode,
            },
            "annotations": {"fleetform.io/native-id": ident.name},
        }
        if self.lookup is not None:
            metadata["annotations"] = {
                "fleetform.io/native-id": self.lookup.native_id,
                "fleetform.io/cluster-uid": self.lookup.cluster_uid,
            }
        spec = {"hubAcceptsClient": True, "leaseDurationSeconds": 60}
        if ca_bundle is not None:
            spec["managedClusterClientConfigs"] = [{"url": self.endpoint, "caBundle": ca_bundle}]
        return k8s.apiextensions.CustomResource(
            f"{ident.name}-managedcluster",
            api_version=ocm.MANAGED_CLUSTER_API,
            kind="ManagedCluster",
            metadata=metadata,
            spec=spec,
            opts=pulumi.ResourceOptions.merge(on_hub, pulumi.ResourceOptions(protect=ident.deletion_protection)),
        )

    def _registration_marker(self, namespace: k8s.core.v1.Namespace) -> k8s.core.v1.ConfigMap:
        return k8s.core.v1.ConfigMap(
            f"{self.ident.name}-registration",
            metadata={"name": "fleetform-registration", "namespace": labels.SYSTEM_NAMESPACE, "labels": self._labels},
            data={"hub": self.hub.name, "cluster": self.ident.name, "engine_version": ENGINE_VERSION},
            opts=self._on_member([namespace]),
        )

    # -- direct mode (§5.1, §5.2) ----------------------------------------------------------------
    def _direct(self, on_hub):
        name = self.ident.name
        ns_name = labels.SYSTEM_NAMESPACE
        namespace = k8s.core.v1.Namespace(f"{name}-system", metadata={"name": ns_name, "labels": self._labels},
                                          opts=self._on_member())
        account = k8s.core.v1.ServiceAccount(
            f"{name}-hub-sa", metadata={"name": HUB_SA, "namespace": ns_name, "labels": self._labels},
            opts=self._on_member([namespace]),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-hub-binding",
            metadata={"name": HUB_SA, "labels": self._labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            subjects=[{"kind": "ServiceAccount", "name": HUB_SA, "namespace": ns_name}],
            opts=self._on_member([account]),
        )
        token_secret = k8s.core.v1.Secret(
            f"{name}-hub-token",
            metadata={"name": HUB_TOKEN_SECRET, "namespace": ns_name, "labels": self._labels,
                      "annotations": {"kubernetes.io/service-account.name": HUB_SA}},
            type="kubernetes.io/service-account-token",
            opts=self._on_member([account]),
        )
        marker = self._registration_marker(namespace)
        credential = ServiceAccountCredential(
            f"{name}-credential", cluster=name, kubeconfig=self.lookup.bootstrap_kubeconfig, namespace=ns_name,
            service_account=HUB_SA, secret_name=HUB_TOKEN_SECRET, server=self.endpoint,
            ca_bundle=self.lookup.ca_bundle, generation=self.ident.credential_generation,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[token_secret, binding, marker]),
        )
        hub_secret = k8s.core.v1.Secret(
            f"{name}-hub-credential",
            metadata={"name": f"{name}-credential", "namespace": labels.SYSTEM_NAMESPACE, "labels": self._labels},
            string_data={"token": credential.token, "caBundle": self.lookup.ca_bundle, "endpoint": self.endpoint},
            opts=on_hub,
        )
        managed = self._managed_cluster(on_hub, self.lookup.ca_bundle)
        return credential.kubeconfig_out, [hub_secret, managed]

    # -- agent mode (§5.3) -----------------------------------------------------------------------
    def _agent(self, on_hub):
        ident, hub = self.ident, self.hub
        name = ident.name
        managed = self._managed_cluster(on_hub, self.lookup.ca_bundle if self.lookup is not None else None)
        bootstrap_sa = f"{name}-bootstrap"
        account = k8s.core.v1.ServiceAccount(
            f"{name}-bootstrap-sa",
            metadata={"name": bootstrap_sa, "namespace": AGENT_BOOTSTRAP_NAMESPACE, "labels": self._labels},
            opts=on_hub,
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-bootstrap-role",
            metadata={"name": f"fleetform:agent:{name}", "labels": self._labels},
            rules=[{
                "apiGroups": [ocm.GROUP],
                "resources": ["managedclusters", "managedclusters/status"],
                "resourceNames": [name],
                "verbs": ["get", "update", "patch"],
            }],
            opts=on_hub,
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-bootstrap-binding",
            metadata={"name": f"fleetform:agent:{name}", "labels": self._labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"fleetform:agent:{name}"},
            subjects=[{"kind": "ServiceAccount", "name": bootstrap_sa, "namespace": AGENT_BOOTSTRAP_NAMESPACE}],
            opts=pulumi.ResourceOptions.merge(on_hub, pulumi.ResourceOptions(depends_on=[account, role])),
        )
        if not hub.agent_endpoint:
            raise pulumi.RunError(
                f"FF-CONN-001 cluster '{name}' uses agent mode but hub '{hub.name}' has no agent_endpoint"
            )
        bootstrap = ServiceAccountCredential(
            f"{name}-bootstrap-credential", cluster=name, kubeconfig=hub.kubeconfig,
            namespace=AGENT_BOOTSTRAP_NAMESPACE, service_account=bootstrap_sa, server=hub.agent_endpoint,
            ca_bundle=hub.ca_bundle, source="token-request",
            ttl_seconds=int(ident.bootstrap_token_ttl.total_seconds()), generation=ident.credential_generation,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[binding, managed]),
        )
        manifest = bootstrap.kubeconfig_out.apply(lambda config: _agent_manifest(name, config, self._labels))
        self.agent_manifest = pulumi.Output.secret(manifest)
        if ident.agent_install == "manual" or self.member is None:
            return [managed, bootstrap]
        return [managed, *self._install_agent(bootstrap)]

    def _install_agent(self, bootstrap: ServiceAccountCredential) -> list[pulumi.Resource]:
        name = self.ident.name
        system = k8s.core.v1.Namespace(f"{name}-system", metadata={"name": labels.SYSTEM_NAMESPACE, "labels": self._labels},
                                       opts=self._on_member())
        marker = self._registration_marker(system)
        namespace = k8s.core.v1.Namespace(f"{name}-agent-ns", metadata={"name": AGENT_NAMESPACE, "labels": self._labels},
                                          opts=self._on_member())
        account = k8s.core.v1.ServiceAccount(
            f"{name}-agent-sa", metadata={"name": "klusterlet", "namespace": AGENT_NAMESPACE, "labels": self._labels},
            opts=self._on_member([namespace]),
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-agent-binding",
            metadata={"name": "fleetform-klusterlet", "labels": self._labels},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            subjects=[{"kind": "ServiceAccount", "name": "klusterlet", "namespace": AGENT_NAMESPACE}],
            opts=self._on_member([account]),
        )
        secret = k8s.core.v1.Secret(
            f"{name}-agent-bootstrap",
            metadata={"name": "bootstrap-hub-kubeconfig", "namespace": AGENT_NAMESPACE, "labels": self._labels},
            string_data={"kubeconfig": bootstrap.kubeconfig_out},
            opts=self._on_member([namespace]),
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-agent",
            metadata={"name": "klusterlet-agent", "namespace": AGENT_NAMESPACE, "labels": self._labels},
            spec=_agent_deployment_spec(name),
            opts=self._on_member([secret, binding, account]),
        )
        return [marker, deployment]


def _agent_deployment_spec(cluster: str) -> dict:
    selector = {"app": "klusterlet-agent"}
    return {
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": selector},
            "spec": {
                "serviceAccountName": "klusterlet",
                "containers": [{
                    "name": "agent",
                    "image": AGENT_IMAGE,
                    "args": ["agent", f"--cluster-name={cluster}", "--bootstrap-kubeconfig=/spoke/bootstrap/kubeconfig"],
                    "volumeMounts": [{"name": "bootstrap", "mountPath": "/spoke/bootstrap", "readOnly": True}],
                }],
                "volumes": [{"name": "bootstrap", "secret": {"secretName": "bootstrap-hub-kubeconfig"}}],
            },
        },
    }


def _agent_manifest(cluster: str, bootstrap_kubeconfig: str, common: dict) -> str:
    """The YAML a user applies in the member for a manual agent install (001's 接入 YAML)."""
    def meta(name: str, namespace: str | None = None) -> dict:
        return {"name": name, **({"namespace": namespace} if namespace else {}), "labels": common}

    documents = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(AGENT_NAMESPACE)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("klusterlet", AGENT_NAMESPACE)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta("fleetform-klusterlet"),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "klusterlet", "namespace": AGENT_NAMESPACE}]},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("bootstrap-hub-kubeconfig", AGENT_NAMESPACE),
         "stringData": {"kubeconfig": bootstrap_kubeconfig}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("klusterlet-agent", AGENT_NAMESPACE),
         "spec": _agent_deployment_spec(cluster)},
    ]
    return yaml.safe_dump_all(documents, sort_keys=False)
