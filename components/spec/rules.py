"""The DOMAIN §3 rules that need no network, over a whole parsed stack: names (V1-V3), references between
entities, one fleet per cluster (V16) and per federation (V18); each item's own checks are delegated to it."""

from ..ocm import OCM_RELEASE
from .cluster_checks import check_cluster
from .common import NAME_PATTERN, NAMESPACE, RESERVED_NAME_PREFIXES, RESERVED_NAMES
from .report import Loc, ParsedStack, Report, config_path

_ENTITY_LABELS = {"clusters": "cluster", "fleets": "fleet", "federations": "federation", "permissions": "permission"}


def _check_names(stack: ParsedStack, report: Report) -> None:
    """V1 (N1), V3 (reserved) for every entity; V2 (unique per entity type, cluster name != hub name).

    Runs on the names as written, so that an item with other problems still gets its name checked.
    """
    if stack.hub_name is not None:
        _check_name("hub", stack.hub_name, ("hub", "name"), report)
    for section, entity in _ENTITY_LABELS.items():
        first_use: dict[str, Loc] = {}
        for i, name in stack.names[section]:
            loc = (section, i, "name")
            _check_name(entity, name, loc, report)
            if name in first_use:
                report.error(
                    loc,
                    f"FF-NAME-002 name '{name}' is already used by {entity} '{name}' on hub '{stack.hub_name or '?'}'",
                    f"first used at {config_path(first_use[name])}; rename one",
                )
            elif section == "clusters" and name == stack.hub_name:
                report.error(
                    loc,
                    f"FF-NAME-002 name '{name}' is already used by hub '{name}' on hub '{stack.hub_name}'",
                    "a cluster name must differ from the hub name",
                )
            first_use.setdefault(name, loc)


def _check_name(entity: str, name: str, loc: Loc, report: Report) -> None:
    if not NAME_PATTERN.fullmatch(name):
        report.error(
            loc,
            f"FF-NAME-001 {entity} name '{name}' is invalid: use 4-40 characters, start with a lowercase "
            "letter, use only a-z, 0-9 and '-', end with a letter or digit",
            'e.g. "edge-sh-01"',
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_NAME_PREFIXES):
        report.error(
            loc,
            f"FF-NAME-003 name '{name}' is reserved",
            f"default, global and names starting with {', '.join(RESERVED_NAME_PREFIXES)} are reserved",
        )


def _check_hub(stack: ParsedStack, report: Report) -> None:
    if stack.hub is not None:
        report.issues(("hub",), stack.hub.source_issues(required=not stack.sandbox, kind=None))


def _check_clusters(stack: ParsedStack, report: Report) -> None:
    for i, cluster in stack.items["clusters"]:
        check_cluster(stack, i, cluster, report)
    nginx = [
        cluster.name
        for _, cluster in stack.items["clusters"]
        if cluster.bootstrap and cluster.bootstrap.ingress.enabled and cluster.bootstrap.ingress.provider == "nginx"
    ]
    if nginx:  # V48, once for the stack
        report.warn(
            ("clusters",),
            "FF-ING-W01 ingress-nginx receives no releases or security fixes after March 2026 "
            f"(used on {', '.join(nginx)})",
            "consider ingress.provider=gateway-api",
        )


def _check_fleets(stack: ParsedStack, report: Report) -> None:
    """Members and federations resolve; V16 (one fleet per cluster); V18 (one fleet per federation)."""
    fleet_of_cluster: dict[str, str] = {}
    fleet_of_federation: dict[str, str] = {}
    for j, fleet in stack.items["fleets"]:
        for k, member in enumerate(fleet.members):
            loc = ("fleets", j, "members", k)
            if member not in stack.declared("clusters"):
                _report_unresolved(report, loc, "cluster", member, stack.declared("clusters"))
            elif fleet_of_cluster.get(member) == fleet.name:
                report.error(loc, f"cluster '{member}' is listed twice in fleet '{fleet.name}'")
            elif member in fleet_of_cluster:
                report.error(
                    loc,
                    f"FF-FLEET-001 cluster '{member}' already belongs to fleet "
                    f"'{fleet_of_cluster[member]}'; remove it from that fleet first",
                    f"it is listed in fleets '{fleet_of_cluster[member]}' and '{fleet.name}'; a cluster is in at most one",
                )
            else:
                fleet_of_cluster[member] = fleet.name
        if fleet.federation is None:
            continue
        loc = ("fleets", j, "federation")
        if fleet.federation not in stack.declared("federations"):
            _report_unresolved(report, loc, "federation", fleet.federation, stack.declared("federations"))
        elif fleet.federation in fleet_of_federation:
            report.error(
                loc,
                f"FF-FED-001 federation '{fleet.federation}' is already bound to fleet "
                f"'{fleet_of_federation[fleet.federation]}'; a federation serves one fleet",
            )
        else:
            fleet_of_federation[fleet.federation] = fleet.name


def _report_unresolved(report: Report, loc: Loc, entity: str, name: str, declared: list[str]) -> None:
    section = f"{NAMESPACE}:{entity}s"
    hint = f"declared: {', '.join(declared)}" if declared else f"declare it in {section}"
    report.error(loc, f"{entity} '{name}' is not declared in {section}", hint)


def _check_federations(stack: ParsedStack, report: Report) -> None:
    """Each federation's own checks; V45: the clusters and fleet its policies name are its fleet's."""
    fleets = [fleet for _, fleet in stack.items["fleets"]]
    for i, federation in stack.items["federations"]:
        report.issues(("federations", i), federation.issues())
        fleet = next((f for f in fleets if f.federation == federation.name), None)
        members = fleet.members if fleet else []
        hint = (
            f"members of fleet '{fleet.name}': {', '.join(members) or 'none'}"
            if fleet
            else f"bind the federation to a fleet (fleetform:fleets[].federation: {federation.name})"
        )
        sections = (("propagation", federation.policies.propagation), ("override", federation.policies.override))
        for section, policies in sections:
            for j, policy in enumerate(policies):
                loc = ("federations", i, "policies", section, j)
                for keys, cluster in policy.named_clusters():
                    if cluster not in members:
                        report.error(
                            loc + keys,
                            f"FF-POL-002 cluster '{cluster}' in policy '{policy.name}' is not a member of "
                            f"federation '{federation.name}'",
                            hint,
                        )
                placed_on = getattr(policy, "fleet", None)
                if placed_on is not None and (fleet is None or placed_on != fleet.name):
                    report.error(
                        loc + ("fleet",),
                        f"FF-POL-002 fleet '{placed_on}' in policy '{policy.name}' is not the fleet of "
                        f"federation '{federation.name}'",
                        f"use fleet: {fleet.name}" if fleet else hint,
                    )


def _check_permissions(stack: ParsedStack, report: Report) -> None:
    """V43 and target references."""
    for i, permission in stack.items["permissions"]:
        loc: Loc = ("permissions", i)
        targets = permission.targets()
        if len(targets) == 1:
            entity = targets[0]
            name, declared = getattr(permission, entity), stack.declared(f"{entity}s")
            if name not in declared:
                _report_unresolved(report, loc + (entity,), entity, name, declared)
        report.issues(loc, permission.issues())


# Inputs DOMAIN defines and the model accepts, which this version does not act on yet, with the value that
# matches what it does instead. A stack that asks for something else is told so (a warning per entry) instead of
# the value being silently ignored.
NOT_APPLIED = {
    ("hub", "ocm_version"): (OCM_RELEASE, f"this version deploys OCM {OCM_RELEASE}"),
    ("clusters", "force_deregister"): (
        False,
        "to forget a gone member's objects on destroy, run it with PULUMI_K8S_DELETE_UNREACHABLE=true",
    ),
    ("federations", "api_server_exposure"): (
        "internal",
        "the Karmada API server is exposed as api_server_service_type says, with no public address of its own",
    ),
    ("federations", "member_network_type"): (None, "members join on the endpoint fleetform itself reaches them at"),
}


def _warn_not_applied(stack: ParsedStack, report: Report) -> None:
    entries = {"hub": [((), stack.hub)] if stack.hub is not None else []}
    entries |= {section: [((i,), item) for i, item in stack.items[section]] for section in stack.items}
    for (section, key), (done, hint) in NOT_APPLIED.items():
        for index, item in entries.get(section, []):
            value = getattr(item, key)
            if key in item.model_fields_set and value != done:
                message = f"FF-CFG-W01 {key}={value} is not applied by this version"
                report.warn((section, *index, key), message, hint)


RULES = (
    _check_names,
    _check_hub,
    _check_clusters,
    _check_fleets,
    _check_federations,
    _check_permissions,
    _warn_not_applied,
)
