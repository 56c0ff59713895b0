"""The RBAC rules of FleetPermission roles (DOMAIN §2.8): the four presets and custom rules.

Presets are ClusterRoles ``fleetform:<preset>`` in every member; ``operator`` needs the member's
namespaced resource types, found by API discovery at apply time (:class:`providers.dynamic.ApiDiscovery`),
so its rules are built from that resource's output by :func:`operator_rules`.
"""

from __future__ import annotations

from .spec import PERMISSION_VERBS, FleetPermission

READ = ["get", "list", "watch"]
RBAC_GROUP = "rbac.authorization.k8s.io"

# The "console set" of 001 §4.5.1.1, by API group.
CONSOLE_SET: dict[str, list[str]] = {
    "": ["configmaps", "endpoints", "persistentvolumeclaims", "pods", "pods/exec", "pods/log", "secrets", "services"],
    "apps": ["daemonsets", "deployments", "replicasets", "statefulsets"],
    "autoscaling": ["horizontalpodautoscalers"],
    "batch": ["cronjobs", "jobs"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "policy": ["poddisruptionbudgets"],
}
EVENTS = [{"apiGroups": [""], "resources": ["events"], "verbs": READ}, {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ}]  # fmt: skip
NOT_READ_ONLY = {"secrets", "pods/exec"}  # restricted: no secrets, and exec is not a read


def role_name(permission: FleetPermission) -> str:
    """``fleetform:<preset>``, or ``fleetform:custom:<name>`` for custom rules."""
    return f"fleetform:custom:{permission.name}" if permission.role == "custom" else f"fleetform:{permission.role}"


def static_rules(permission: FleetPermission) -> list[dict]:
    """The rules of every role but ``operator`` (which needs discovery)."""
    if permission.role == "admin":
        return [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ]
    if permission.role == "developer":  # the seven verbs of 001 on the console set; events read-only
        return [_rule(g, r, list(PERMISSION_VERBS)) for g, r in CONSOLE_SET.items()] + EVENTS
    if permission.role == "restricted":
        readable = {g: [r for r in rs if r not in NOT_READ_ONLY] for g, rs in CONSOLE_SET.items()}
        return [_rule(g, r, READ) for g, r in readable.items()] + EVENTS
    if permission.role == "custom":
        return [rbac for rule in permission.rules for rbac in _custom(rule.verbs, rule.resources)]
    raise ValueError(f"role {permission.role} needs API discovery: use operator_rules")


def operator_rules(namespaced: list[dict]) -> list[dict]:
    """All verbs on each discovered namespaced type, read on everything else."""
    return [{**rule, "verbs": ["*"]} for rule in namespaced] + [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": READ},
        {"nonResourceURLs": ["*"], "verbs": ["get"]},
    ]


def _rule(group: str, resources: list[str], verbs: list[str]) -> dict:
    return {"apiGroups": [group], "resources": sorted(resources), "verbs": verbs}


def _custom(verbs: list[str], resources) -> list[dict]:
    """One stack rule -> one RBAC rule per API group (RBAC crosses groups with resources, so mixing
    groups in one rule would grant more than was asked for)."""
    by_group: dict[str, set[str]] = {}
    for ref in resources:
        by_group.setdefault(ref.api_group, set()).add(ref.resource)
    return [_rule(group, list(names), list(verbs)) for group, names in sorted(by_group.items())]
