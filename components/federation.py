"""Federation (集群联邦): a Karmada control plane spanning one fleet (DOMAIN §2.5, §2.9, §5.7).

``operator`` mode installs the karmada-operator on the host cluster (the hub unless
``host_kubeconfig``) as typed resources (:mod:`components.karmada`), then the ``Karmada`` CR
``<name>`` in ``spec.namespace``; ``existing`` mode adopts a Karmada from ``existing_kubeconfig``.
Either way a :class:`KarmadaControlPlane` waits for it and hands out the admin kubeconfig, and
:attr:`Federation.provider` on that kubeconfig is what members, workloads and policies use.

Then every fleet member joins (:class:`FederationMember`), the stack's ``workloads`` are created as
resource templates, and its ``policies``: override policies first, since Karmada does not apply an
OverridePolicy created after the template it matches to an existing binding.
"""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_kubernetes as k8s

from providers.dynamic import KarmadaControlPlane, PolicyStatus
from providers.dynamic.policy_status import binding_name

from . import karmada, labels, policies
from .cluster import RegisteredCluster
from .delivery import typed_resource
from .federation_member import FederationMember
from .hub import Hub
from .spec import DividedReplicas, ResourceSelector
from .spec import Federation as FederationSpec
from .spec import OverridePolicy as OverridePolicySpec
from .spec import PropagationPolicy as PropagationPolicySpec

READY_TIMEOUT_SECONDS = 30 * 60  # DOMAIN §2.5: failed after 30m without Ready


class Federation(pulumi.ComponentResource):
    """The federation ``spec.name`` for fleet ``fleet_name`` and its ``members``.

    Outputs: ``state``, ``api_server_url``, ``karmada_version``, the secret ``kubeconfig``; per
    member ``members[c].status`` (``state``, ``ready``); per propagation policy ``policy_status[p]``.
    ``depends_on`` is what must outlive the federation (the Fleet component).
    """

    def __init__(
        self,
        spec: FederationSpec,
        fleet_name: str,
        hub: Hub,
        members: dict[str, RegisteredCluster],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__(
            "fleetform:index:Federation",
            spec.name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends_on)),
        )
        self.name = spec.name
        self.spec = spec
        self.fleet_name = fleet_name
        self.member_names = list(members)
        self.karmada_version = spec.karmada_version or karmada.KARMADA_VERSION
        self.labels = labels.common(hub.name, federation=spec.name, fleet=fleet_name)
        if spec.mode == "operator":
            self.control_plane = self._operator(hub)
        else:
            self.control_plane = KarmadaControlPlane(
                f"{spec.name}-control-plane",
                federation=spec.name,
                mode="existing",
                karmada_version=self.karmada_version,
                timeout_seconds=READY_TIMEOUT_SECONDS,
                existing_kubeconfig=spec.existing_kubeconfig.get_secret_value(),
                external_url=spec.api_server_external_url or "",
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.kubeconfig = pulumi.Output.secret(self.control_plane.kubeconfig)
        self.api_server_url = self.control_plane.api_server_url
        self.ca_bundle = self.control_plane.ca_bundle
        self.state = self.control_plane.state
        self.provider = k8s.Provider(
            f"{spec.name}-karmada-api",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.control_plane]),
        )
        cluster_namespace = k8s.core.v1.Namespace(
            f"{spec.name}-karmada-cluster",
            metadata={"name": karmada.CLUSTER_NAMESPACE, "labels": self.labels},
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        self.member_ready: list[pulumi.Resource] = [cluster_namespace]
        self.members = {
            name: FederationMember(self, cluster, opts=pulumi.ResourceOptions(parent=self))
            for name, cluster in members.items()
        }
        self.policy_status = self._distribute()
        self.register_outputs(
            {
                "state": self.state,
                "api_server_url": self.api_server_url,
                "karmada_version": self.control_plane.observed_version,
                "kubeconfig": self.kubeconfig,
            }
        )

    # -- the control plane -------------------------------------------------------------------------
    def _operator(self, hub: Hub) -> KarmadaControlPlane:
        spec = self.spec
        if spec.host_kubeconfig is None:
            host_provider, host_kubeconfig, host_ready = hub.provider, hub.kubeconfig, hub.ready
        else:
            host_kubeconfig = pulumi.Output.secret(spec.host_kubeconfig.get_secret_value())
            host_provider = k8s.Provider(
                f"{spec.name}-host", kubeconfig=host_kubeconfig, opts=pulumi.ResourceOptions(parent=self)
            )
            host_ready = []
        on_host = pulumi.ResourceOptions(parent=self, provider=host_provider, depends_on=host_ready)
        crd = k8s.apiextensions.v1.CustomResourceDefinition(
            f"{spec.name}-karmada-crd",
            metadata={"name": karmada.KARMADA_CRD, "labels": self.labels},
            spec=karmada.karmada_crd_spec(),
            opts=on_host,
        )
        installed: list[pulumi.Resource] = [crd]
        for suffix, obj in karmada.operator_objects(self.karmada_version, self.labels).items():
            # in upstream's order: namespace, account, role, binding, and the Deployment last
            opts = pulumi.ResourceOptions.merge(on_host, pulumi.ResourceOptions(depends_on=list(installed)))
            installed.append(typed_resource(f"{spec.name}-operator-{suffix}", obj, opts))
        namespace = k8s.core.v1.Namespace(
            f"{spec.name}-namespace", metadata={"name": spec.namespace, "labels": self.labels}, opts=on_host
        )
        cr_spec = karmada.karmada_spec(
            version=self.karmada_version,
            service_type=spec.api_server_service_type,
            etcd=self._etcd(),
            feature_gates={**spec.feature_gates, **({"Failover": True} if spec.failover else {})},
            cert_sans=[_host(spec.api_server_external_url)] if spec.api_server_external_url else [],
        )
        instance = k8s.apiextensions.CustomResource(
            f"{spec.name}-karmada",
            api_version=karmada.OPERATOR_API,
            kind="Karmada",
            metadata={"name": spec.name, "namespace": spec.namespace, "labels": self.labels},
            spec=cr_spec,
            opts=pulumi.ResourceOptions.merge(
                on_host,
                pulumi.ResourceOptions(depends_on=[*installed, namespace], protect=spec.deletion_protection),
            ),
        )
        return KarmadaControlPlane(
            f"{spec.name}-control-plane",
            federation=spec.name,
            mode="operator",
            karmada_version=self.karmada_version,
            timeout_seconds=READY_TIMEOUT_SECONDS,
            host_kubeconfig=host_kubeconfig,
            namespace=spec.namespace,
            spec_hash=_hash(cr_spec),
            external_url=spec.api_server_external_url or "",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[instance], protect=spec.deletion_protection),
        )

    def _etcd(self) -> dict:
        etcd = self.spec.etcd
        if etcd.external is not None:
            return karmada.external_etcd(etcd.external.endpoints, self.spec.namespace, etcd.external.secret_ref)
        local = etcd.local
        return karmada.local_etcd(local.replicas, local.storage.pvc_size, local.storage.storage_class)

    # -- workloads and policies ----------------------------------------------------------------------
    def _distribute(self) -> dict[str, PolicyStatus]:
        """Override policies, then the workloads and propagation policies they affect (same namespace,
        or any for a cluster-scoped override), then a PolicyStatus per propagation policy."""
        spec = self.spec
        on_karmada = pulumi.ResourceOptions(parent=self, provider=self.provider)
        namespaces = self._namespaces(on_karmada)

        def in_namespace(namespace: str | None) -> list[pulumi.Resource]:
            return [namespaces[namespace]] if namespace in namespaces else []

        overrides = [(p.namespace, self._override(p, in_namespace(p.namespace))) for p in spec.policies.override]

        def overrides_for(namespace: str | None) -> list[pulumi.Resource]:
            return [r for ns, r in overrides if ns is None or ns == namespace]

        workloads = []
        for obj in spec.workloads:
            if obj["kind"] == "Namespace":
                continue
            meta = obj["metadata"]
            ns = meta.get("namespace")
            suffix = "-".join(part for part in (obj["kind"].lower(), ns, meta["name"]) if part)
            needs = overrides_for(ns) + in_namespace(ns)
            opts = pulumi.ResourceOptions.merge(on_karmada, pulumi.ResourceOptions(depends_on=needs))
            workloads.append(typed_resource(f"{spec.name}-workload-{suffix}", obj, opts))
        statuses = {}
        for policy in spec.policies.propagation:
            resource = self._propagation(policy, overrides_for(policy.namespace) + in_namespace(policy.namespace))
            statuses[policy.name] = PolicyStatus(
                f"{spec.name}-pp-{policy.name}-status",
                policy=policy.name,
                federation=spec.name,
                karmada_kubeconfig=self.kubeconfig,
                bindings=[
                    {"namespace": s.namespace or policy.namespace or "", "name": binding_name(s.name, s.kind)}
                    for s in policy.selectors
                    if s.name
                ],
                targets=policies.targets(policy.clusters, _replicas(policy), self.member_names),
                policy_hash=_hash(policy.model_dump()),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[resource, *workloads, *(m.status for m in self.members.values())]
                ),
            )
        return statuses

    def _namespaces(self, on_karmada: pulumi.ResourceOptions) -> dict[str, pulumi.Resource]:
        """The namespaces on the Karmada API that workloads and policies live in, first of all: the
        ones the stack declares as workloads, and the others they name."""
        spec = self.spec
        namespaces: dict[str, pulumi.Resource] = {}
        for obj in spec.workloads:
            if obj["kind"] == "Namespace":
                name = obj["metadata"]["name"]
                namespaces[name] = typed_resource(f"{spec.name}-workload-namespace-{name}", obj, on_karmada)
        named = {o["metadata"].get("namespace") for o in spec.workloads}
        named |= {p.namespace for p in (*spec.policies.override, *spec.policies.propagation)}
        for ns in sorted(named - {None} - set(namespaces)):
            namespaces[ns] = k8s.core.v1.Namespace(
                f"{spec.name}-ns-{ns}", metadata={"name": ns, "labels": self.labels}, opts=on_karmada
            )
        return namespaces

    def _override(self, policy: OverridePolicySpec, after: list[pulumi.Resource]) -> pulumi.Resource:
        kinds = [s.kind for s in policy.selectors]
        rules = [
            policies.override_rule(
                rule.clusters,
                image_registry=rule.image_registry,
                image_tag=rule.image_tag,
                storage_class=rule.storage_class,
                storage_kinds=kinds,
                labels=rule.labels,
            )
            for rule in policy.rules
        ]
        return policies.override_policy(
            self,
            policy.name,
            selectors=_selectors(policy.selectors),
            rules=rules,
            namespace=policy.namespace,
            opts=pulumi.ResourceOptions(depends_on=after),
        )

    def _propagation(self, policy: PropagationPolicySpec, after: list[pulumi.Resource]) -> pulumi.Resource:
        return policies.propagation_policy(
            self,
            policy.name,
            selectors=_selectors(policy.selectors),
            namespace=policy.namespace,
            clusters=policy.clusters,
            fleet=policy.fleet,
            replicas=_replicas(policy),
            tolerations_seconds=policy.tolerations_seconds,
            conflict_resolution=policy.conflict_resolution,
            propagate_deps=policy.propagate_deps,
            priority=policy.priority,
            opts=pulumi.ResourceOptions(depends_on=[*after, *(m.status for m in self.members.values())]),
        )


def _selectors(selectors: list[ResourceSelector]) -> list[policies.Selector]:
    return [policies.Selector(s.api_version, s.kind, s.name, s.namespace, s.label_selector) for s in selectors]


def _replicas(policy: PropagationPolicySpec) -> str | policies.Divided:
    if isinstance(policy.replicas, DividedReplicas):
        return policies.Divided(dict(policy.replicas.divided))
    return policies.DUPLICATED


def _hash(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
