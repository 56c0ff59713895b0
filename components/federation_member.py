"""FederationMember: one fleet member joined to its federation as a Karmada ``Cluster`` (DOMAIN §5.7).

* **Push** when fleetform holds the hub's token for the member (direct mode): Secret
  ``karmada-cluster/<cluster>`` with ``token`` and ``caBundle``, and the ``Cluster`` with
  ``syncMode: Push``, ``apiEndpoint``, ``secretRef``, ``provider`` and ``region``.
* **Pull** otherwise (agent mode): the karmada-agent goes into the member through
  :func:`components.delivery.deliver` (owner ``karmada-agent``) with a kubeconfig for a
  ServiceAccount on the Karmada API that holds only what ``karmadactl register`` grants an agent
  (its own Cluster, its credential Secrets, the Works of its execution namespace). The agent
  registers the ``Cluster`` itself; :class:`FederationMemberStatus` then labels it.

Either way a :class:`FederationMemberStatus` waits up to ``join_timeout`` for ``Ready`` and is the
V46 gate when the member leaves.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from providers.dynamic import FederationMemberStatus, ServiceAccountCredential

from . import karmada
from .delivery import deliver

if TYPE_CHECKING:
    from .cluster import RegisteredCluster
    from .federation import Federation


class FederationMember(pulumi.ComponentResource):
    """``cluster`` in ``federation``; ``sync_mode`` Push or Pull, ``status.state`` and ``status.ready``."""

    def __init__(self, federation: Federation, cluster: RegisteredCluster, opts: pulumi.ResourceOptions | None = None):
        name = cluster.spec.name
        super().__init__("fleetform:index:FederationMember", f"{federation.name}-{name}", None, opts)
        self.cluster = name
        self.sync_mode = "Push" if cluster.token is not None else "Pull"
        self._federation = federation
        self._labels = {
            **federation.labels,
            "fleetform.io/cluster": name,
            "fleetform.io/kind": cluster.spec.kind,
        }
        self._on_karmada = pulumi.ResourceOptions(
            parent=self, provider=federation.provider, depends_on=federation.member_ready
        )
        joined = self._push(cluster) if self.sync_mode == "Push" else self._pull(cluster)
        spec = federation.spec
        self.status = FederationMemberStatus(
            f"{federation.name}-{name}-status",
            cluster=name,
            federation=federation.name,
            karmada_kubeconfig=federation.kubeconfig,
            sync_mode=self.sync_mode,
            timeout_seconds=int(spec.join_timeout.total_seconds()),
            labels=self._labels,
            endpoint=cluster.endpoint,
            drain_workloads=spec.drain_workloads,
            opts=pulumi.ResourceOptions(parent=self, depends_on=joined),
        )
        self.register_outputs({"sync_mode": self.sync_mode, "state": self.status.state})

    def _push(self, cluster: RegisteredCluster) -> list[pulumi.Resource]:
        name, fed = cluster.spec.name, self._federation.name
        secret = k8s.core.v1.Secret(
            f"{fed}-{name}-secret",
            metadata={"name": name, "namespace": karmada.CLUSTER_NAMESPACE, "labels": self._labels},
            data={
                "token": pulumi.Output.secret(cluster.token).apply(lambda t: base64.b64encode(t.encode()).decode()),
                "caBundle": cluster.ca_bundle,  # already base64 PEM, as a kubeconfig carries it
            },
            opts=self._on_karmada,
        )
        member = k8s.apiextensions.CustomResource(
            f"{fed}-{name}-cluster",
            api_version=karmada.CLUSTER_API,
            kind="Cluster",
            metadata={"name": name, "labels": self._labels},
            spec={
                "syncMode": "Push",
                "apiEndpoint": cluster.endpoint,
                "secretRef": {"namespace": karmada.CLUSTER_NAMESPACE, "name": name},
                "provider": cluster.spec.CLOUD,
                "region": cluster.region,
            },
            opts=pulumi.ResourceOptions.merge(self._on_karmada, pulumi.ResourceOptions(depends_on=[secret])),
        )
        return [secret, member]

    def _pull(self, cluster: RegisteredCluster) -> list[pulumi.Resource]:
        name, federation = cluster.spec.name, self._federation
        fed = federation.name
        account = f"fleetform-agent-{name}"
        role_name = f"system:karmada:{name}:agent"
        meta = {"labels": self._labels}
        on_karmada = self._on_karmada
        execution_ns = f"{karmada.EXECUTION_NAMESPACE_PREFIX}{name}"

        sa = k8s.core.v1.ServiceAccount(
            f"{fed}-{name}-agent-sa",
            metadata={"name": account, "namespace": karmada.CLUSTER_NAMESPACE, **meta},
            opts=on_karmada,
        )
        token_secret = k8s.core.v1.Secret(
            f"{fed}-{name}-agent-token",
            metadata={
                "name": f"{account}-token",
                "namespace": karmada.CLUSTER_NAMESPACE,
                "annotations": {"kubernetes.io/service-account.name": account},
                **meta,
            },
            type="kubernetes.io/service-account-token",
            opts=pulumi.ResourceOptions.merge(on_karmada, pulumi.ResourceOptions(depends_on=[sa])),
        )
        subject = [{"kind": "ServiceAccount", "name": account, "namespace": karmada.CLUSTER_NAMESPACE}]
        rbac = [
            k8s.rbac.v1.ClusterRole(
                f"{fed}-{name}-agent-role",
                metadata={"name": role_name, **meta},
                rules=karmada.agent_control_plane_rules(name),
                opts=on_karmada,
            ),
            k8s.rbac.v1.ClusterRoleBinding(
                f"{fed}-{name}-agent-binding",
                metadata={"name": role_name, **meta},
                role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
                subjects=subject,
                opts=on_karmada,
            ),
        ]
        # Upstream creates the execution namespace when it registers an agent, so that the agent's
        # Role on its Works can exist before the cluster controller would create it.
        es_namespace = k8s.core.v1.Namespace(
            f"{fed}-{name}-execution-ns", metadata={"name": execution_ns, **meta}, opts=on_karmada
        )
        for suffix, namespace, rules, needs in (
            ("secrets", karmada.CLUSTER_NAMESPACE, karmada.agent_secret_rules(name), []),
            ("works", execution_ns, karmada.agent_work_rules(), [es_namespace]),
        ):
            role = k8s.rbac.v1.Role(
                f"{fed}-{name}-agent-{suffix}-role",
                metadata={"name": f"{role_name}-{suffix}", "namespace": namespace, **meta},
                rules=rules,
                opts=pulumi.ResourceOptions.merge(on_karmada, pulumi.ResourceOptions(depends_on=needs)),
            )
            rbac += [
                role,
                k8s.rbac.v1.RoleBinding(
                    f"{fed}-{name}-agent-{suffix}-binding",
                    metadata={"name": f"{role_name}-{suffix}", "namespace": namespace, **meta},
                    role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{role_name}-{suffix}"},
                    subjects=subject,
                    opts=pulumi.ResourceOptions.merge(on_karmada, pulumi.ResourceOptions(depends_on=[role])),
                ),
            ]
        credential = ServiceAccountCredential(
            f"{fed}-{name}-agent-credential",
            cluster=name,
            kubeconfig=federation.kubeconfig,
            namespace=karmada.CLUSTER_NAMESPACE,
            service_account=account,
            secret_name=f"{account}-token",
            server=federation.api_server_url,
            ca_bundle=federation.ca_bundle,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[token_secret, *rbac]),
        )
        objects = karmada.agent_objects(
            name,
            version=federation.karmada_version,
            karmada_kubeconfig=credential.kubeconfig_out,
            endpoint=cluster.endpoint,
            provider=cluster.spec.CLOUD,
            region=cluster.region,
            labels=self._labels,
            node_selector=cluster.spec.agent_node_selector,
        )
        delivered = deliver(f"{fed}-{name}", cluster.member, objects, owner="karmada-agent", parent=self)
        return [credential, *delivered.resources]
