"""fleetform's Pulumi program: stack config -> spec -> components. Wiring only.

Runs unchanged under the Pulumi CLI (`pulumi up -s <stack>`) and the embedded engine
(`fleetform up -s <stack>`). With `fleetform:sandbox: true` it first starts the local emulators
(sandbox/) and takes every kubeconfig from them. What each cluster kind means lives on its model in
components/spec; this file keeps no per-kind table.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pulumi

from components.bootstrap import ClusterBootstrap
from components.cluster import RegisteredCluster
from components.encryption import EtcdEncryption
from components.federation import Federation
from components.fleet import Fleet
from components.hub import Hub
from components.permissions import FleetPermission
from components.spec import FleetSpec, spec_from_pulumi_config


@dataclass
class Estate:
    """How this run reaches the hub, the members and the cloud APIs."""

    hub_kubeconfig: str
    agent_endpoint: str | None
    member_kubeconfigs: dict[str, str | None] = field(default_factory=dict)
    cloud_endpoints: dict[str, str] = field(default_factory=dict)
    ssh_access: dict[str, dict] = field(default_factory=dict)  # idc control planes the sandbox serves over SSH


def sandbox_estate(spec: FleetSpec) -> Estate:
    """Everything from the local emulators, which seed every declared cluster the first time."""
    try:
        from sandbox.client import SandboxError, attach, in_process
        from sandbox.world import open_world
    except ModuleNotFoundError as exc:  # the emulators' libraries are the `sandbox` extra, not a plain install
        from sandbox import missing_extra

        raise pulumi.RunError(missing_extra(exc.name)) from exc

    data_dir = Path(os.environ.get("FLEETFORM_STATE_DIR", ".fleetform")).absolute() / "sandbox"
    try:  # the long-running sandbox (started on first use), or a world in this process
        world = open_world(data_dir, spec.hub.name) if in_process() else attach(data_dir, spec.hub.name)
        world.serve_earlier_clusters()  # clusters removed from the stack are deleted through them
    except SandboxError as exc:
        raise pulumi.RunError(str(exc)) from exc
    estate = Estate(world.kubeconfig(spec.hub.name), world.hub_url)
    for cluster in spec.clusters:
        if cluster.kind == "idc":
            estate.member_kubeconfigs[cluster.name] = world.kubeconfig(cluster.name)
            ssh = ssh_settings(cluster)
            if ssh is not None:  # the sandbox's own control-plane hosts stand in for the declared ones
                estate.ssh_access[cluster.name] = {**layout(ssh), **world.ssh_access(cluster.name)}
            elif node_access(cluster) == "privileged-pod":  # the same hosts, reached through pods on their nodes
                world.host_control_plane(cluster.name)
        else:
            estate.cloud_endpoints[cluster.name] = world.cloud_cluster(cluster.kind, cluster.identity())
    return estate


def read_kubeconfigs(spec: FleetSpec) -> tuple[str, dict[str, str | None]]:
    """Hub and idc kubeconfigs from their files or environment variables; every source that cannot
    be read is reported at once, with its key path, before anything is touched."""
    problems: list[str] = []

    def read(source, path: str) -> str | None:
        try:
            secret = source.read_kubeconfig()
        except LookupError as exc:
            problems.append(
                f"fleetform:{path}.kubeconfig_env: {exc}; export the kubeconfig in it or use kubeconfig_file"
            )
            return None
        except OSError as exc:
            problems.append(f"fleetform:{path}.kubeconfig_file: cannot read {source.kubeconfig_file} ({exc.strerror})")
            return None
        return secret.get_secret_value() if secret is not None else None

    hub = read(spec.hub, "hub")
    if hub is None and not problems:
        problems.append("fleetform:hub: give the hub's kubeconfig as kubeconfig, kubeconfig_file or kubeconfig_env")
    members = {c.name: read(c, f"clusters[{i}]") for i, c in enumerate(spec.clusters) if c.kind == "idc"}
    if problems:
        source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
        raise pulumi.RunError("\n".join(f"{source}: {problem}" for problem in problems))
    return hub, members


def node_access(cluster) -> str | None:
    """How the encryption of an idc cluster reaches its control-plane nodes (None: not an encrypted idc cluster)."""
    encryption = getattr(cluster, "encryption", None)
    return encryption.idc.node_access if cluster.kind == "idc" and encryption is not None else None


def ssh_settings(cluster):
    """The SSH access of an idc cluster whose encryption goes over SSH, else None."""
    return cluster.encryption.idc.ssh if node_access(cluster) == "ssh" else None


def layout(ssh) -> dict:
    return {"manifest_path": ssh.manifest_path, "config_dir": ssh.config_dir}


def read_ssh_access(spec: FleetSpec) -> dict[str, dict]:
    """Each SSH access with its key and known_hosts read from their files or variables; every source that
    cannot be read is reported at once, with its key path, before anything is touched."""
    found, problems = {}, []
    for i, cluster in enumerate(spec.clusters):
        ssh = ssh_settings(cluster)
        if ssh is None:
            continue
        path = f"fleetform:clusters[{i}].encryption.idc.ssh"
        access = {"hosts": list(ssh.hosts), "port": ssh.port, "user": ssh.user, **layout(ssh)}
        try:
            if ssh.private_key is not None:
                access["private_key"] = ssh.private_key.get_secret_value()
            elif ssh.private_key_env is not None:
                access["private_key"] = os.environ[ssh.private_key_env]
            else:
                access["private_key"] = Path(ssh.private_key_file).expanduser().read_text()
        except KeyError:
            problems.append(f"{path}.private_key_env: {ssh.private_key_env} is not set; export the private key in it")
        except OSError as exc:
            problems.append(f"{path}.private_key_file: cannot read {ssh.private_key_file} ({exc.strerror})")
        if ssh.known_hosts_file is not None:
            try:
                access["known_hosts"] = Path(ssh.known_hosts_file).expanduser().read_text()
            except OSError as exc:
                problems.append(f"{path}.known_hosts_file: cannot read {ssh.known_hosts_file} ({exc.strerror})")
        if ssh.host_key_fingerprints:
            access["host_key_fingerprints"] = list(ssh.host_key_fingerprints)
        found[cluster.name] = access
    if problems:
        source = f"stacks/Pulumi.{pulumi.get_stack()}.yaml"
        raise pulumi.RunError("\n".join(f"{source}: {problem}" for problem in problems))
    return found


def stack_estate(spec: FleetSpec) -> Estate:
    """The same from the stack: kubeconfig sources, and FLEETFORM_<KIND>_ENDPOINT to point a kind
    at a custom cloud API endpoint."""
    hub, members = read_kubeconfigs(spec)
    estate = Estate(hub, spec.hub.agent_endpoint, members, ssh_access=read_ssh_access(spec))
    for cluster in spec.clusters:
        if cluster.kind == "idc":
            continue
        if cluster.bootstrap_kubeconfig is not None:
            estate.member_kubeconfigs[cluster.name] = cluster.bootstrap_kubeconfig.get_secret_value()
        endpoint = os.environ.get(f"FLEETFORM_{cluster.kind.upper()}_ENDPOINT")
        if endpoint:
            estate.cloud_endpoints[cluster.name] = endpoint
    return estate


spec = spec_from_pulumi_config()
for warning in spec.warnings:
    pulumi.log.warn(f"{warning.path}: {warning.message}")

estate = sandbox_estate(spec) if spec.sandbox else stack_estate(spec)
hub = Hub(spec.hub, estate.hub_kubeconfig, estate.agent_endpoint)
clusters = {
    c.name: RegisteredCluster(
        c,
        hub,
        member_kubeconfig=estate.member_kubeconfigs.get(c.name),
        cloud_endpoint=estate.cloud_endpoints.get(c.name),
        clusterset=spec.clusterset_of(c.name),
        fleet=getattr(spec.fleet_of(c.name), "name", None),
        federated=spec.is_federated(c.name),
    )
    for c in spec.clusters
}

# -- fleets and permissions (DOMAIN §2.4, §2.8): after the clusters; what depends on a fleet goes first on delete
fleets = {f.name: Fleet(f, hub, {m: clusters[m] for m in f.members}) for f in spec.fleets}
permissions = {
    p.name: FleetPermission(
        p,
        {name: clusters[name] for name in spec.permission_targets(p)},
        "fleet" if p.fleet else "cluster",
        spec.suspended_on(p),
        opts=pulumi.ResourceOptions(depends_on=[fleets[p.fleet]] if p.fleet else []),
    )
    for p in spec.permissions
}
pulumi.export("fleets", {name: {"members": f.member_names, "state": f.state} for name, f in fleets.items()})
pulumi.export("permissions", {name: {"state": p.state, "clusters": p.clusters} for name, p in permissions.items()})

# -- day-1 initialisation (DOMAIN §2.6): ingress and default StorageClass, once the cluster runs ---------
bootstraps = {name: ClusterBootstrap(c, c.spec.bootstrap) for name, c in clusters.items() if c.spec.bootstrap}
# -- secrets encrypted at rest (DOMAIN §2.7): the cloud's KMS, or idc's EncryptionConfiguration on the nodes ---
encryptions = {
    name: EtcdEncryption(c, cloud_endpoint=estate.cloud_endpoints.get(name), ssh_access=estate.ssh_access.get(name))
    for name, c in clusters.items()
    # enabled: false on a kind that can encrypt turns encryption off; on one that cannot, there is nothing to do
    if c.spec.encryption is not None and (c.spec.encryption.enabled or c.spec.ENCRYPTION.supported)
}


def cluster_output(name: str, c: RegisteredCluster) -> dict:
    output = {
        "kind": c.spec.kind,
        "mode": c.spec.connection_mode,
        "region": c.region,
        "status": c.status.state,
        "kubernetesVersion": c.kubernetes_version,
        "endpoint": c.endpoint,
    }
    encryption = encryptions.get(name)
    if encryption is not None:
        output["encryption"] = encryption.summary
    bootstrap = bootstraps.get(name)
    if bootstrap is not None:
        output["ingress"] = bootstrap.ingress
        output["storageClass"] = bootstrap.storage_class
        # only where a default was demoted (restored on destroy)
        output["previousDefaultStorageClass"] = bootstrap.previous_default_storage_class.apply(
            lambda name: name or None
        )
    return output


pulumi.export("hub", {"name": hub.name, "apiUrl": hub.api_url})
pulumi.export("clusters", {name: cluster_output(name, c) for name, c in clusters.items()})

# -- federations (DOMAIN §2.5): one per fleet that names one, spanning that fleet's members ----------
federations: dict[str, Federation] = {}
for fleet_spec in spec.fleets:
    if fleet_spec.federation is None:
        continue
    federation_spec = next(f for f in spec.federations if f.name == fleet_spec.federation)
    federations[federation_spec.name] = Federation(
        federation_spec,
        fleet_spec.name,
        hub,
        {name: clusters[name] for name in fleet_spec.members},
        depends_on=[fleets[fleet_spec.name]],  # deleted before its fleet
    )
for unbound in {f.name for f in spec.federations} - set(federations):
    pulumi.log.warn(f"federation '{unbound}' is declared but no fleet names it; set fleetform:fleets[].federation")
pulumi.export(
    "federations",
    {
        name: {
            "fleet": f.fleet_name,
            "state": f.state,
            "apiServerUrl": f.api_server_url,
            "members": {cluster: m.status.ready for cluster, m in f.members.items()},
            "policies": {p: {"state": s.state, "clusters": s.clusters} for p, s in f.policy_status.items()},
        }
        for name, f in federations.items()
    },
)

manual = {name: c.agent_manifest for name, c in clusters.items() if c.manual}
if manual:  # secret: what the user applies in each manual-install member (`stack output --show-secrets`)
    pulumi.export("agentManifests", manual)
