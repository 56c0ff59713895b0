"""RegisteredCluster (注册集群): an existing cluster looked up, registered on the hub and watched
until it is ``running`` (DOMAIN §2.3, recipe §5).

``direct``: a ServiceAccount bound to cluster-admin in the member, its long-lived token turned into
the hub's credential for the member, and a ``ManagedCluster`` on the hub.
``agent``: the hub issues a bootstrap credential that can touch this cluster's ``ManagedCluster``
only; the agent's objects (:mod:`components.agent`) go into the member, or into ``agent_manifest``
for a manual install, and the agent joins the cluster from inside.

Everything a later component puts into the member goes through :attr:`RegisteredCluster.member`
and :func:`components.delivery.deliver`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from providers.dynamic import ClusterLookup, RegistrationStatus, ServiceAccountCredential

from . import agent, labels, ocm
from .delivery import Member, deliver
from .hub import AGENT_BOOTSTRAP_NAMESPACE, Hub
from .rbac import service_account_binding
from .spec import FEDERATION_MIN_KUBERNETES_VERSION, MIN_KUBERNETES_VERSION, ClusterSpec

HUB_SA = "fleetform-hub"
HUB_TOKEN_SECRET = "fleetform-hub-token"
ENGINE_VERSION = "0.1.0"


class RegisteredCluster(pulumi.ComponentResource):
    """One cluster registered on the hub; outputs ``status``, ``kubernetes_version``, ``endpoint``,
    ``region``, and the secrets ``kubeconfig`` (direct) or ``agent_manifest`` (agent).

    ``clusterset`` is the cluster's OCM cluster set (its fleet's, or ``default``): the registration is
    the one writer of that label and of ``fleetform.io/fleet`` (``fleet``; absent outside a fleet). ``federated`` members must run Kubernetes 1.21 (V10).
    """

    def __init__(
        self,
        spec: ClusterSpec,
        hub: Hub,
        *,
        member_kubeconfig: pulumi.Input[str] | None = None,
        cloud_endpoint: str | None = None,
        clusterset: str = "default",
        fleet: str | None = None,
        federated: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("fleetform:index:RegisteredCluster", spec.name, None, opts)
        self.spec = spec
        self.hub = hub
        self.clusterset = clusterset
        self.fleet = fleet
        name = spec.name
        self.manual = spec.connection_mode == "agent" and spec.agent_install == "manual"
        self.lookup: ClusterLookup | None = None
        self.token: pulumi.Output[str] | None = None  # direct mode: the hub's credential for the member
        self.ca_bundle: pulumi.Output[str] | None = None
        self._bootstrap_provider: k8s.Provider | None = None
        endpoint_override = getattr(spec, "api_endpoint", None)
        context = getattr(spec, "context", None)
        if spec.kind != "idc" or member_kubeconfig is not None:
            self.lookup = ClusterLookup(
                f"{name}-lookup",
                cluster=name,
                kind=spec.kind,
                identity={**spec.identity(), **spec.lookup_options()},
                kubeconfig=member_kubeconfig,
                context=context,
                cloud_endpoint=cloud_endpoint,
                min_version=FEDERATION_MIN_KUBERNETES_VERSION if federated else MIN_KUBERNETES_VERSION,
                federated=federated,
                hub_kubeconfig=hub.kubeconfig,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.kubernetes_version = self.lookup.kubernetes_version
            self.endpoint = pulumi.Output.from_input(endpoint_override) if endpoint_override else self.lookup.endpoint
            self._bootstrap_provider = k8s.Provider(
                f"{name}-member",
                kubeconfig=self.lookup.bootstrap_kubeconfig,
                context=context,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lookup]),
            )
        else:  # an agent cluster the engine cannot reach: the user applies agent_manifest
            self.kubernetes_version = pulumi.Output.from_input("")
            self.endpoint = pulumi.Output.from_input(endpoint_override or "")
        region = spec.region_label()
        self.region = pulumi.Output.from_input(region or (self.lookup.region if self.lookup else "idc"))
        self._labels = labels.common(hub.name, cluster=name)
        on_hub = pulumi.ResourceOptions(parent=self, provider=hub.provider, depends_on=hub.ready)
        timeout = int(spec.access_timeout.total_seconds())
        # The registration's own objects reach the member the same way later components' do.
        own = Member(
            name,
            hub.provider,
            hub.kubeconfig,
            None if self.manual else self._bootstrap_provider,
            timeout_seconds=timeout,
            wait=not self.manual,
        )
        if spec.connection_mode == "direct":
            self.kubeconfig, hub_objects = self._direct(own, on_hub)
            status_member = self.kubeconfig
        else:
            self.kubeconfig = None
            hub_objects = self._agent(own, on_hub)
            status_member = None
        self.status = RegistrationStatus(
            f"{name}-status",
            cluster=name,
            mode=spec.connection_mode,
            hub_kubeconfig=hub.kubeconfig,
            member_kubeconfig=status_member,
            timeout_seconds=timeout,
            wait=not self.manual,
            generation=spec.credential_generation,
            opts=pulumi.ResourceOptions(parent=self, depends_on=hub_objects),
        )
        self.member = Member(
            name,
            hub.provider,
            hub.kubeconfig,
            own.provider,
            ready=[self.status],
            wait=own.wait,
            timeout_seconds=timeout,
        )
        outputs = {
            "status": self.status.state,
            "kubernetes_version": self.kubernetes_version,
            "endpoint": self.endpoint,
            "region": self.region,
        }
        if self.kubeconfig is not None:
            outputs["kubeconfig"] = self.kubeconfig  # secret: the hub's ServiceAccount credential
        if spec.connection_mode == "agent":
            outputs["agent_manifest"] = self.agent_manifest  # secret: holds the bootstrap credential
        self.register_outputs(outputs)

    def reader_kubeconfig(self) -> pulumi.Output[str] | None:
        """A kubeconfig that opens the member from here, for components that read it back: the hub's
        credential (direct), the one fleetform installed the agent with (agent), or None when only a
        ManifestWork reaches it."""
        if self.kubeconfig is not None:
            return self.kubeconfig
        if self.member.reachable and self.lookup is not None:
            return self.lookup.bootstrap_kubeconfig
        return None

    # -- shared pieces ---------------------------------------------------------------------------
    def _hub_meta(self, name: str, namespace: str | None = None) -> dict:
        """Metadata of a registration object on the hub: fleetform's labels, written as the registration."""
        meta = {"name": name, "labels": self._labels, "annotations": labels.field_manager("registration")}
        return {**meta, "namespace": namespace} if namespace else meta

    def _managed_cluster(self, on_hub: pulumi.ResourceOptions, ca_bundle) -> k8s.apiextensions.CustomResource:
        spec = self.spec
        metadata = {
            "name": spec.name,
            "labels": {
                **spec.labels,
                **self._labels,
                labels.CLUSTERSET_LABEL: self.clusterset,
                "fleetform.io/kind": spec.kind,
                "fleetform.io/cloud": spec.CLOUD,
                "fleetform.io/region": self.region,
                "fleetform.io/connection-mode": spec.connection_mode,
                **({"fleetform.io/fleet": self.fleet} if self.fleet else {}),
            },
            "annotations": {"fleetform.io/native-id": spec.name, **labels.field_manager("registration")},
        }
        if self.lookup is not None:
            metadata["annotations"] = {
                "fleetform.io/native-id": self.lookup.native_id,
                "fleetform.io/cluster-uid": self.lookup.cluster_uid,
                **labels.field_manager("registration"),
            }
        cluster_spec = {"hubAcceptsClient": True, "leaseDurationSeconds": 60}
        if ca_bundle is not None:
            cluster_spec["managedClusterClientConfigs"] = [{"url": self.endpoint, "caBundle": ca_bundle}]
        return k8s.apiextensions.CustomResource(
            f"{spec.name}-managedcluster",
            api_version=ocm.MANAGED_CLUSTER_API,
            kind="ManagedCluster",
            metadata=metadata,
            spec=cluster_spec,
            opts=pulumi.ResourceOptions.merge(on_hub, pulumi.ResourceOptions(protect=spec.deletion_protection)),
        )

    def _system_objects(self) -> dict[str, dict]:
        """fleetform's namespace and the registration marker (the V4 ConfigMap) in the member."""
        return {
            "system": {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": labels.SYSTEM_NAMESPACE, "labels": self._labels},
            },
            "registration": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "fleetform-registration",
                    "namespace": labels.SYSTEM_NAMESPACE,
                    "labels": self._labels,
                },
                "data": {"hub": self.hub.name, "cluster": self.spec.name, "engine_version": ENGINE_VERSION},
            },
        }

    # -- direct mode (§5.1, §5.2) ----------------------------------------------------------------
    def _direct(self, own: Member, on_hub: pulumi.ResourceOptions):
        name = self.spec.name
        ns_name = labels.SYSTEM_NAMESPACE
        objects = self._system_objects()
        objects["hub-sa"] = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": HUB_SA, "namespace": ns_name, "labels": self._labels},
        }
        objects["hub-binding"] = service_account_binding(
            {"name": HUB_SA, "labels": self._labels}, "cluster-admin", HUB_SA, ns_name
        )
        objects["hub-token"] = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": HUB_TOKEN_SECRET,
                "namespace": ns_name,
                "labels": self._labels,
                "annotations": {"kubernetes.io/service-account.name": HUB_SA},
            },
        }
        in_member = deliver(name, own, objects, owner="registration", parent=self)
        credential = ServiceAccountCredential(
            f"{name}-credential",
            cluster=name,
            kubeconfig=self.lookup.bootstrap_kubeconfig,
            namespace=ns_name,
            service_account=HUB_SA,
            secret_name=HUB_TOKEN_SECRET,
            server=self.endpoint,
            ca_bundle=self.lookup.ca_bundle,
            generation=self.spec.credential_generation,
            opts=pulumi.ResourceOptions(parent=self, depends_on=in_member.resources),
        )
        self.token = credential.token  # secret: the hub's ServiceAccount token in the member
        self.ca_bundle = self.lookup.ca_bundle
        hub_secret = k8s.core.v1.Secret(
            f"{name}-hub-credential",
            metadata=self._hub_meta(f"{name}-credential", labels.SYSTEM_NAMESPACE),
            string_data={"token": credential.token, "caBundle": self.lookup.ca_bundle, "endpoint": self.endpoint},
            opts=on_hub,
        )
        managed = self._managed_cluster(on_hub, self.lookup.ca_bundle)
        return credential.kubeconfig_out, [hub_secret, managed]

    # -- agent mode (§5.3) -----------------------------------------------------------------------
    def _agent(self, own: Member, on_hub: pulumi.ResourceOptions):
        spec, hub = self.spec, self.hub
        name = spec.name
        if not hub.agent_endpoint:
            raise pulumi.RunError(
                f"FF-CONN-001 cluster '{name}' uses agent mode but hub '{hub.name}' has no agent_endpoint"
            )
        self.ca_bundle = self.lookup.ca_bundle if self.lookup is not None else None
        managed = self._managed_cluster(on_hub, self.ca_bundle)
        # The hub namespace named after the cluster holds the ManifestWorks that reach it (§2.6).
        work_namespace = k8s.core.v1.Namespace(
            f"{name}-hub-namespace",
            metadata=self._hub_meta(name),
            opts=on_hub,
        )
        bootstrap_sa = f"{name}-bootstrap"
        account = k8s.core.v1.ServiceAccount(
            f"{name}-bootstrap-sa",
            metadata=self._hub_meta(bootstrap_sa, AGENT_BOOTSTRAP_NAMESPACE),
            opts=on_hub,
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-bootstrap-role",
            metadata=self._hub_meta(f"fleetform:agent:{name}"),
            rules=[
                {
                    "apiGroups": [ocm.GROUP],
                    "resources": ["managedclusters", "managedclusters/status"],
                    "resourceNames": [name],
                    "verbs": ["get", "update", "patch"],
                }
            ],
            opts=on_hub,
        )
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-bootstrap-binding",
            metadata=self._hub_meta(f"fleetform:agent:{name}"),
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"fleetform:agent:{name}",
            },
            subjects=[{"kind": "ServiceAccount", "name": bootstrap_sa, "namespace": AGENT_BOOTSTRAP_NAMESPACE}],
            opts=pulumi.ResourceOptions.merge(on_hub, pulumi.ResourceOptions(depends_on=[account, role])),
        )
        bootstrap = ServiceAccountCredential(
            f"{name}-bootstrap-credential",
            cluster=name,
            kubeconfig=hub.kubeconfig,
            namespace=AGENT_BOOTSTRAP_NAMESPACE,
            service_account=bootstrap_sa,
            server=hub.agent_endpoint,
            ca_bundle=hub.ca_bundle,
            source="token-request",
            ttl_seconds=int(hub.spec.bootstrap_token_ttl.total_seconds()),
            generation=spec.credential_generation,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[binding, managed]),
        )
        self.agent_manifest = pulumi.Output.secret(
            bootstrap.kubeconfig_out.apply(
                lambda config: agent.agent_manifest(name, config, self._labels, spec.agent_node_selector)
            )
        )
        marker = deliver(
            name, own, self._system_objects(), owner="registration", parent=self, depends_on=[work_namespace, managed]
        )
        if not own.reachable:
            return [managed, bootstrap, *marker.resources]
        installed = deliver(
            name,
            own,
            agent.agent_objects(name, bootstrap.kubeconfig_out, self._labels, spec.agent_node_selector),
            owner="agent",
            parent=self,
        )
        return [managed, *marker.resources, *installed.resources]
