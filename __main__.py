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

SUPPORTED_KINDS = {"idc"}
NOT_YET_APPLIED = ("fleets", "federations", "permissions")


def sandbox_credentials(spec: FleetSpec) -> tuple[str, dict[str, str], str]:
    """Hub kubeconfig, member kubeconfigs and the hub's agent endpoint, from the local emulators."""
    from sandbox.world import open_world

    state_dir = Path(os.environ.get("FLEETFORM_STATE_DIR", ".fleetform"))
    world = open_world(state_dir / "sandbox", spec.hub.name)
    members = {c.name: world.kubeconfig(c.name) for c in spec.clusters}
    return world.kubeconfig(spec.hub.name), members, world.hub_url


def stack_credentials(spec: FleetSpec) -> tuple[str, dict[str, str | None], str | None]:
    hub = spec.hub.read_kubeconfig()
    if hub is None:
        raise pulumi.RunError(f"stacks/Pulumi.{pulumi.get_stack()}.yaml: fleetform:hub needs kubeconfig, kubeconfig_file or kubeconfig_env")
    members = {}
    for cluster in spec.clusters:
        secret = cluster.read_kubeconfig() if isinstance(cluster, IdcCluster) else None
        members[cluster.name] = secret.get_secret_value() if secret is not None else None
    return hub.get_secret_value(), members, spec.hub.agent_endpoint


def identity(cluster, spec: FleetSpec) -> ClusterIdentity:
    return ClusterIdentity(
        name=cluster.name,
        kind=cluster.kind,
        region=getattr(cluster, "region", None) or "idc",
        identity={},
        cloud_endpoint=None,
        mode=cluster.connection_mode,
        agent_install=cluster.agent_install or "engine",
        endpoint_override=getattr(cluster, "api_endpoint", None),
        context=getattr(cluster, "context", None),
        access_timeout=cluster.access_timeout or spec.hub.default_access_timeout,
        bootstrap_token_ttl=spec.hub.bootstrap_token_ttl,
        deletion_protection=cluster.deletion_protection,
        credential_generation=cluster.credential_generation,
        extra_labels=dict(cluster.labels),
    )


spec = spec_from_pulumi_config()
unsupported = sorted(f"{c.name} ({c.kind})" for c in spec.clusters if c.kind not in SUPPORTED_KINDS)
if unsupported:
    raise pulumi.RunError(
        "this version of fleetform registers idc clusters only; not yet supported: " + ", ".join(unsupported)
    )
for section in NOT_YET_APPLIED:
    if getattr(spec, section):
        pulumi.log.warn(f"fleetform:{section} is declared but this version of fleetform does not apply it yet; ignored")
for warning in spec.warnings:
    pulumi.log.warn(f"{warning.path}: {warning.message}")

hub_kubeconfig, member_kubeconfigs, agent_endpoint = (
    sandbox_credentials(spec) if spec.sandbox else stack_credentials(spec)
)
hub = Hub(spec.hub, hub_kubeconfig, agent_endpoint)
clusters = {
    c.name: RegisteredCluster(identity(c, spec), hub, member_kubeconfigs.get(c.name)) for c in spec.clusters
}

pulumi.export("hub", {"name": hub.name, "apiUrl": hub.api_url})
pulumi.export(
    "clusters",
    {
        name: {
            "kind": c.ident.kind,
            "mode": c.ident.mode,
            "region": c.ident.region,
            "status": c.status.state,
            "kubernetesVersion": c.kubernetes_version,
            "endpoint": c.endpoint,
        }
        for name, c in clusters.items()
    },
)
