"""FleetPermission (权限关联): Kubernetes RBAC pushed to every member of a fleet, or to one cluster
(DOMAIN §2.8).

In each target member: the ClusterRole of the role (:mod:`components.roles`), and a
ClusterRoleBinding ``fleetform:<name>`` (``namespaces: "*"``) or a RoleBinding ``fleetform:<name>``
in each listed namespace (created first with ``create_missing_namespaces``; such a namespace is then
the user's: it carries no managed-by label and stays when the permission goes, as it may hold
workloads). Everything carries
``fleetform.io/permission=<name>`` and ``fleetform.io/scope=fleet|cluster`` and goes through
:func:`components.delivery.deliver` as owner ``permission-<name>``.

A cluster permission on a cluster that is in a fleet is *suspended* (the fleet's permissions win):
nothing is delivered, so its objects are removed when the cluster joins a fleet and come back when
it leaves. A :class:`~providers.dynamic.PermissionStatus` reports the state.
"""

from __future__ import annotations

from typing import Literal

import pulumi

from providers.dynamic import ApiDiscovery, PermissionStatus
from providers.dynamic.permission_status import object_key

from . import labels, roles
from .cluster import RegisteredCluster
from .delivery import deliver
from .rbac import RBAC_API
from .spec import FleetPermission as PermissionSpec


class FleetPermission(pulumi.ComponentResource):
    """Outputs ``state`` (applied | suspended | partial | pending), ``state_reason`` and ``clusters``
    (the targets). ``suspended_on``: targets in a fleet while the permission targets the cluster."""

    def __init__(
        self,
        spec: PermissionSpec,
        targets: dict[str, RegisteredCluster],
        scope: Literal["fleet", "cluster"],
        suspended_on: set[str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("fleetform:index:FleetPermission", spec.name, None, opts)
        self.spec, self.scope = spec, scope
        self.clusters = sorted(targets)
        expected, kubeconfigs, delivery_states = {}, {}, {}
        delivered_resources: list[pulumi.Resource] = []
        for cluster_name, cluster in sorted(targets.items()):
            if cluster_name in suspended_on:
                pulumi.log.info(
                    f"FF-PERM-I01 permission '{spec.name}' is suspended while '{cluster_name}' is in fleet "
                    f"'{cluster.fleet}'",
                    self,
                )
                continue
            kubeconfig = cluster.reader_kubeconfig()
            objects = self.render(cluster_name, cluster.hub.name, kubeconfig)
            keep = frozenset(suffix for suffix, obj in objects.items() if obj["kind"] == "Namespace")
            delivered = deliver(
                f"{spec.name}-{cluster_name}",
                cluster.member,
                objects,
                owner=f"permission-{spec.name}",
                parent=self,
                keep=keep,
            )
            expected[cluster_name] = sorted(object_key(o) for o in objects.values() if o["kind"] != "Namespace")
            kubeconfigs[cluster_name] = kubeconfig if kubeconfig is not None else ""
            if kubeconfig is None:
                delivery_states[cluster_name] = delivered.state
            delivered_resources += delivered.resources
        self.status = PermissionStatus(
            f"{spec.name}-status",
            permission=spec.name,
            expected=expected,
            kubeconfigs=kubeconfigs,
            delivery_states=delivery_states,
            registration_states={n: c.status.state for n, c in targets.items()},
            suspended={n: targets[n].fleet or "" for n in sorted(suspended_on & set(targets))},
            opts=pulumi.ResourceOptions(parent=self, depends_on=delivered_resources),
        )
        self.state = self.status.state
        self.register_outputs({"state": self.status.state, "state_reason": self.status.state_reason})

    # -- rendering -------------------------------------------------------------------------------
    def render(self, cluster: str, hub: str, kubeconfig: pulumi.Output[str] | None) -> dict[str, dict]:
        """The objects for one member, by delivery suffix."""
        spec = self.spec
        meta_labels = {**labels.common(hub), "fleetform.io/permission": spec.name, "fleetform.io/scope": self.scope}
        role = roles.role_name(spec)
        if spec.role == "operator":
            discovery = ApiDiscovery(
                f"{spec.name}-{cluster}-discovery",
                cluster=cluster,
                kubeconfig=kubeconfig,
                opts=pulumi.ResourceOptions(parent=self),
            )
            rules = discovery.namespaced_rules.apply(roles.operator_rules)
        else:
            rules = roles.static_rules(spec)
        objects = {
            "role": {
                "apiVersion": RBAC_API,
                "kind": "ClusterRole",
                "metadata": {"name": role, "labels": meta_labels},
                "rules": rules,
            }
        }
        binding = {
            "roleRef": {"apiGroup": roles.RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [_subject(s) for s in spec.subjects],
        }
        name = f"fleetform:{spec.name}"
        if spec.namespaces == ["*"]:
            objects["binding"] = {
                "apiVersion": RBAC_API,
                "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": meta_labels},
                **binding,
            }
            return objects
        for namespace in spec.namespaces:
            if spec.create_missing_namespaces:
                objects[f"ns-{namespace}"] = {  # the user's once created: no managed-by label, kept on delete
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {"name": namespace, "annotations": {"fleetform.io/created-for-permission": spec.name}},
                }
            objects[f"binding-{namespace}"] = {
                "apiVersion": RBAC_API,
                "kind": "RoleBinding",
                "metadata": {"name": name, "namespace": namespace, "labels": meta_labels},
                **binding,
            }
        return objects


def _subject(subject) -> dict:
    if subject.kind == "ServiceAccount":
        return {"kind": "ServiceAccount", "name": subject.name, "namespace": subject.namespace}
    return {"kind": subject.kind, "name": subject.name, "apiGroup": roles.RBAC_GROUP}
