"""PermissionStatus: whether a FleetPermission is in force on its targets (DOMAIN §2.8).

On every target member it lists the ClusterRoles, ClusterRoleBindings and RoleBindings labelled
``fleetform.io/permission=<name>`` and compares them with what fleetform rendered for that member.
A member reached only through a ManifestWork counts as applied when its work is ``available``.

States: ``suspended`` (a cluster permission while its cluster is in a fleet: nothing is rendered),
``pending`` (a target is not running), ``applied`` (every member has exactly the rendered set),
``partial`` (FF-PERM-002, naming the members that could not be reached or lack objects). It owns
nothing; create and update read once (the delivered objects are its dependencies), refresh reads
again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

from .. import kube
from ..errors import ClusterAccessError, ErrorCode
from ._props import Props, now

LISTED = (
    ("ClusterRole", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
    ("ClusterRoleBinding", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"),
    ("RoleBinding", "/apis/rbac.authorization.k8s.io/v1/rolebindings"),
)


def object_key(obj: dict) -> str:
    """``Kind/name`` or ``Kind/namespace/name``: how rendered and found objects are compared."""
    meta = obj["metadata"]
    return "/".join(filter(None, (obj["kind"], meta.get("namespace"), meta["name"])))


@dataclass(frozen=True)
class PermissionStatusInputs(Props):
    permission: str
    expected: dict  # member -> sorted object keys rendered for it
    kubeconfigs: dict  # member -> kubeconfig, "" when reached only through a ManifestWork
    delivery_states: dict  # member -> ManifestWork state (members without a kubeconfig)
    registration_states: dict  # target -> RegistrationStatus.state
    suspended: dict = field(default_factory=dict)  # target -> the fleet it is in


@dataclass(frozen=True)
class PermissionStatusOutputs(Props):
    state: str  # applied | suspended | partial | pending
    state_reason: str
    clusters: list  # members where the permission is in force
    unreachable: list
    observed_at: str


def _found(kubeconfig: str, member: str, permission: str) -> list[str]:
    client = kube.api_client(kubeconfig, member)
    found = []
    for kind, path in LISTED:
        status, listing = kube.request_json(
            client, "GET", f"{path}?labelSelector=fleetform.io%2Fpermission%3D{permission}", attempts=1
        )
        if status != 200:
            raise ClusterAccessError(None, f"{member}: listing {kind} answered HTTP {status}")
        found += [object_key({**item, "kind": kind}) for item in listing.get("items") or []]
    return sorted(found)


def observe(inputs: PermissionStatusInputs) -> PermissionStatusOutputs:
    name = inputs.permission
    if inputs.suspended and not inputs.expected:
        where = ", ".join(f"'{c}' is in fleet '{f}'" for c, f in sorted(inputs.suspended.items()))
        return PermissionStatusOutputs("suspended", f"suspended while {where}", [], [], now())
    waiting = sorted(c for c, state in inputs.registration_states.items() if state != "running")
    if waiting:
        return PermissionStatusOutputs("pending", f"target not running: {', '.join(waiting)}", [], [], now())
    applied, unreachable = [], []
    for member, wanted in sorted(inputs.expected.items()):
        kubeconfig = inputs.kubeconfigs.get(member) or ""
        if not kubeconfig:
            ok = inputs.delivery_states.get(member) == "available"
        else:
            try:
                ok = _found(kubeconfig, member, name) == sorted(wanted)
            except ClusterAccessError:
                ok = False
        (applied if ok else unreachable).append(member)
    if unreachable:
        reason = (
            f"{ErrorCode.PERM_MEMBERS_UNREACHABLE.value} permission '{name}' applied to "
            f"{len(applied)}/{len(inputs.expected)} members; unreachable: {', '.join(unreachable)}"
        )
        return PermissionStatusOutputs("partial", reason, applied, unreachable, now())
    return PermissionStatusOutputs("applied", f"in force on {len(applied)} members", applied, [], now())


class PermissionStatusProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = PermissionStatusInputs.from_props(news).changed(PermissionStatusInputs.from_props(olds))
        return DiffResult(changes=bool(changed))

    def create(self, props: dict) -> CreateResult:
        inputs = PermissionStatusInputs.from_props(props)
        return CreateResult(id_=inputs.permission, outs={**inputs.to_props(), **observe(inputs).to_props()})

    def update(self, _id: str, _olds: dict, news: dict) -> UpdateResult:
        inputs = PermissionStatusInputs.from_props(news)
        return UpdateResult(outs={**inputs.to_props(), **observe(inputs).to_props()})

    def read(self, id_: str, props: dict) -> ReadResult:
        found = observe(PermissionStatusInputs.from_props(props)).to_props()
        found.pop("observed_at")
        return ReadResult(id_, {**props, **found})

    def delete(self, _id: str, _props: dict) -> None:
        """Observing owns nothing."""


class PermissionStatus(Resource, module="fleetform", name="PermissionStatus"):
    """``state`` (applied | suspended | partial | pending), ``clusters`` where it is in force."""

    state: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    clusters: pulumi.Output[list]
    unreachable: pulumi.Output[list]

    def __init__(
        self,
        name: str,
        *,
        permission: str,
        expected: dict[str, list[str]],
        kubeconfigs: dict[str, pulumi.Input[str]],
        delivery_states: dict[str, pulumi.Input[str]],
        registration_states: dict[str, pulumi.Input[str]],
        suspended: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "permission": permission,
            "expected": expected,
            "kubeconfigs": pulumi.Output.secret(kubeconfigs),
            "delivery_states": delivery_states,
            "registration_states": registration_states,
            "suspended": suspended,
            **PermissionStatusOutputs.placeholders(),
        }
        super().__init__(PermissionStatusProvider(), name, props, opts)
