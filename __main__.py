"""fleetform's Pulumi program: stack config -> spec -> components. Wiring only.

Runs unchanged under the Pulumi CLI (`pulumi up -s <stack>`) and the embedded engine
(`fleetform up -s <stack>`). With `fleetform:sandbox: true` it first starts the local emulators
(sandbox/) and takes every kubeconfig from them.
"""

import os
from pathlib import Path

import pulumi

from components.cluster import ClusterIdentity, RegisteredCluster
from components.hub import Hub
from components.spec import FleetSpec, IdcCluster, spec_from_pulumi_config

NOT_YET_APPLIED = ("fleets", "federations", "permissions")
# The non-secret identifiers of each cloud kind (DOMAIN §2.3) and the field its region label comes from.
IDENTITY_FIELDS = {
    "ctyun": ("region_id", "cluster_id"),
    "eks": ("region", "cluster_name", "assume_role_arn"),
    "gke": ("project", "location", "cluster_name"),
    "aks": ("subscription_id", "resource_group", "cluster_name"),
    "ack": ("region_id", "cluster_id"),
    "tke": ("region", "cluster_id"),
    "idc": (),
}
REGION_FIELD = {"ctyun": "region_id", "eks": "region", "gke": "location", "ack": "region_id", "tke": "region"}


def cloud_identity(cluster) -> dict:
    identity = {key: getattr(cluster, key) for key in IDENTITY_FIELDS[cluster.kind] if getattr(cluster, key)}
    if cluster.kind == "ctyun":
        identity["public"] = cluster.endpoint_preference == "public"
    return identity


def sandbox_estate(spec: FleetSpec) -> tuple[str, dict[str, str | None], str, dict[str, str]]:
    """Hub kubeconfig, idc kubeconfigs, the hub's agent endpoint and the cloud API endpoints, all
    from the local emulators (which seed every declared cluster the first time)."""
    from sandbox.world import open_world

    state_dir = Path(os.environ.get("FLEETFORM_STATE_DIR", ".fleetform"))
    world = open_world(state_dir / "sandbox", spec.hub.name)
    members: dict[str, str | None] = {}
    endpoints: dict[str, str] = {}
    for cluster in spec.clusters:
        if cluster.kind == "idc":
            members[cluster.name] = world.kubeconfig(cluster.name)
        else:
            endpoints[cluster.name] = world.cloud_cluster(cluster.kind, cloud_identity(cluster))
    return world.kubeconfig(spec.hub.name), members, world.hub_url, endpoints


def read_kubeconfigs(spec: FleetSpec) -> tuple[str, dict[str, str | None]]:
    """Hub and idc kubeconfigs from their files or environment variables; every source that cannot
    be read is reported at once, with its key path, before anything is touched."""
    problems: list[str] = []

    def read(source, path: str) -> str | None:
        try:
            secret = source.read_kubeconfig()
        except LookupError as exc:
            problems.append(f"fleetform:{path}.kubeconfig_env: {exc}; export the kubeconfig in it or use kubeconfig_file")
            return None
        except OSError as exc:
            problems.append(f"fleetform:{path}.kubeconfig_file: cannot read {source.kubeconfig_file} ({exc.strerror})")
            return None
        return secret.get_secret_value() if secret is not None else None

    hub = read(spec.hub, "hub")
    if hub is None and not problems:
        problems.append("fleetform:hub: give the hub's kubeconfig as kubeconfig, kubeconfig_file or kubeconfig_env")
    members = {
        c.name: read(c, f"clusters[{i}]") for i, c in enumerate(spec.clusters) if isinstance(c, IdcCluster)
    }
    if problems:
        source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
        raise pulumi.RunError("\n".join(f"{source}: {problem}" for problem in problems))
    return hub, members


def stack_estate(spec: FleetSpec) -> tuple[str, dict[str, str | None], str | None, dict[str, str]]:
    """The same from the stack: kubeconfig sources, and FLEETFORM_<KIND>_ENDPOINT to point a kind
    at a custom cloud API endpoint."""
    hub, members = read_kubeconfigs(spec)
    endpoints: dict[str, str] = {}
    for cluster in spec.clusters:
        if cluster.kind != "idc" and cluster.bootstrap_kubeconfig is not None:
            members[cluster.name] = cluster.bootstrap_kubeconfig.get_secret_value()
        if cluster.kind != "idc" and os.environ.get(f"FLEETFORM_{cluster.kind.upper()}_ENDPOINT"):
            endpoints[cluster.name] = os.environ[f"FLEETFORM_{cluster.kind.upper()}_ENDPOINT"]
    return hub, members, spec.hub.agent_endpoint, endpoints


def federated_clusters(spec: FleetSpec) -> set[str]:
    """Members of fleets bound to a federation: they must run at least 1.21 (V10)."""
    return {member for fleet in spec.fleets if fleet.federation for member in fleet.members}


def identity(cluster, spec: FleetSpec, endpoints: dict[str, str]) -> ClusterIdentity:
    region = getattr(cluster, REGION_FIELD.get(cluster.kind, "region"), None)
    return ClusterIdentity(
        name=cluster.name,
        kind=cluster.kind,
        region=region or ("idc" if cluster.kind == "idc" else None),
        identity=cloud_identity(cluster),
        cloud_endpoint=endpoints.get(cluster.name),
        mode=cluster.connection_mode,
        agent_install=cluster.agent_install or "engine",
        endpoint_override=getattr(cluster, "api_endpoint", None),
        context=getattr(cluster, "context", None),
        access_timeout=cluster.access_timeout or spec.hub.default_access_timeout,
        bootstrap_token_ttl=spec.hub.bootstrap_token_ttl,
        deletion_protection=cluster.deletion_protection,
        credential_generation=cluster.credential_generation,
        extra_labels=dict(cluster.labels),
        min_version="1.21" if cluster.name in federated_clusters(spec) else "1.19",
    )


spec = spec_from_pulumi_config()
for section in NOT_YET_APPLIED:
    if getattr(spec, section):
        pulumi.log.warn(f"fleetform:{section} is declared but this version of fleetform does not apply it yet; ignored")
for warning in spec.warnings:
    pulumi.log.warn(f"{warning.path}: {warning.message}")

hub_kubeconfig, member_kubeconfigs, agent_endpoint, cloud_endpoints = (
    sandbox_estate(spec) if spec.sandbox else stack_estate(spec)
)
hub = Hub(spec.hub, hub_kubeconfig, agent_endpoint)
clusters = {
    c.name: RegisteredCluster(identity(c, spec, cloud_endpoints), hub, member_kubeconfigs.get(c.name))
    for c in spec.clusters
}

pulumi.export("hub", {"name": hub.name, "apiUrl": hub.api_url})
pulumi.export(
    "clusters",
    {
        name: {
            "kind": c.ident.kind,
            "mode": c.ident.mode,
            "region": c.region,
            "status": c.status.state,
            "kubernetesVersion": c.kubernetes_version,
            "endpoint": c.endpoint,
        }
        for name, c in clusters.items()
    },
)
