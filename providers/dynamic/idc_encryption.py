"""IdcEncryption: Secrets encrypted at rest on an idc cluster (DOMAIN §2.7, §7.2, §7.3), by
:mod:`providers.idc_encryption` on every control-plane node, over SSH (``node_access: ssh``) or through a
short-lived privileged pod per node (``node_access: privileged-pod``, with the member's kubeconfig).

``create`` and ``update`` converge the cluster: a transition the journal records is resumed at its phase, then
encryption is enabled, rotated (when ``rotation_interval_seconds`` has passed, which ``diff`` reports as a
change), switched to another provider or disabled, as the inputs ask. ``read`` (refresh, and the engine settling
an interrupted update) reports what the hosts and etcd show without changing anything. ``delete`` disables
encryption: every object rewritten as written, then the keys dropped (after the etcd backup V42 asks for).

The phase and every key live in the secret output ``keys`` (the journal) and on the hosts; Pulumi records
outputs only when a call returns, so the hosts' copy, written before each phase acts, is what a killed run
resumes from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN

from ..errors import ErrorCode
from ..idc_encryption import (
    Desired,
    Fault,
    IdcEncryptionError,
    Journal,
    NodeAccess,
    Outcome,
    PodAccess,
    SshAccess,
    converge,
    observe,
    rotation_due,
)
from ._props import Props

log = logging.getLogger("fleetform.idc_encryption")

PROVIDERS = ("aesgcm", "aescbc", "secretbox", "kms")


@dataclass(frozen=True)
class IdcEncryptionInputs(Props):
    cluster: str
    kubeconfig: str = field(repr=False)  # the member's admin kubeconfig (secret)
    provider: str
    resources: list
    rotation_interval_seconds: int
    node_access: str  # ssh | privileged-pod
    enabled: bool
    reencrypt_existing: bool
    etcd_backup: str  # engine | confirmed
    kms: dict | None = None  # {name, endpoint, timeout_seconds}
    ssh: dict | None = field(default=None, repr=False)  # {hosts, port, user, private_key, known_hosts | fingerprints}


@dataclass(frozen=True)
class IdcEncryptionOutputs(Props):
    state: str  # disabled | enabling | enabled | disabling | rotating(n/6) | failed
    # the provider that encrypts writes ("identity" when off); named apart from the input ``provider``, which
    # a dynamic resource's props would otherwise overwrite (inputs and outputs share one namespace)
    active_provider: str
    key_ref: str  # the write key's name, e.g. key-2 (kms: the plugin's); never material
    key_revision: int
    last_rotated_at: str
    rotation_due: bool
    verified: bool
    verification: str  # the canary's stored prefix, e.g. k8s:enc:aesgcm:v1:key-2:
    state_reason: str
    phase: int  # the phase a transition stopped in (0: none under way)
    keys: dict = field(default_factory=dict, repr=False)  # the journal, key material included (secret)


def _desired(inputs: IdcEncryptionInputs, enabled: bool | None = None) -> Desired:
    return Desired(
        cluster=inputs.cluster,
        enabled=inputs.enabled if enabled is None else enabled,
        provider=inputs.provider,
        resources=tuple(inputs.resources),
        rotation_interval_seconds=int(inputs.rotation_interval_seconds),
        kms=inputs.kms,
        reencrypt_existing=inputs.reencrypt_existing,
        etcd_backup=inputs.etcd_backup,
    )


def _access(inputs: IdcEncryptionInputs) -> NodeAccess:
    if inputs.node_access == "privileged-pod":
        return PodAccess(inputs.kubeconfig)
    if inputs.node_access != "ssh" or not inputs.ssh:
        raise IdcEncryptionError(
            ErrorCode.ENC_NODE_ACCESS_UNAVAILABLE,
            f"cluster '{inputs.cluster}': node_access {inputs.node_access} needs its settings; set idc.node_access: "
            "privileged-pod, or ssh with hosts, user, private_key_file (or private_key_env) and known_hosts_file",
        )
    return SshAccess.from_dict(inputs.ssh)


def _outputs(inputs: IdcEncryptionInputs, outcome: Outcome) -> dict:
    journal = outcome.journal
    writer = journal.writer
    state = journal.state
    if state == "enabled" and not outcome.verified:
        state = "failed"
    outputs = IdcEncryptionOutputs(
        state=state,
        active_provider=writer.provider,
        key_ref="" if writer.is_identity else writer.name,
        key_revision=journal.revision,
        last_rotated_at=journal.last_rotated_at,
        rotation_due=inputs.enabled and rotation_due(journal, int(inputs.rotation_interval_seconds), datetime.now(UTC)),
        verified=outcome.verified,
        verification=outcome.verification,
        state_reason=outcome.reason,
        phase=journal.transition.phase if journal.transition else 0,
        keys=journal.to_dict(),
    )
    log.info("%s: %s (%s)", inputs.cluster, outputs.state, outputs.state_reason)
    return {**inputs.to_props(), **outputs.to_props()}


def _input_failures(news: dict, olds: dict) -> list[CheckFailure]:
    """Inputs that cannot work together; unknown values (preview) are checked at apply."""
    failures = []
    provider, kms, ssh = news.get("provider"), news.get("kms"), news.get("ssh")
    if provider not in PROVIDERS:
        failures.append(CheckFailure("provider", f"'{provider}' is not one of {', '.join(PROVIDERS)}"))
    if (provider == "kms") != bool(kms):
        failures.append(CheckFailure("kms", "kms {name, endpoint, timeout_seconds} is given with provider kms only"))
    if news.get("etcd_backup") not in ("engine", "confirmed"):
        failures.append(CheckFailure("etcd_backup", "etcd_backup is engine or confirmed"))
    if not news.get("resources"):
        failures.append(CheckFailure("resources", "name at least one resource, e.g. secrets"))
    if news.get("node_access") == "ssh" and isinstance(ssh, dict):
        if not ssh.get("hosts") or not ssh.get("user") or not ssh.get("private_key"):
            failures.append(CheckFailure("ssh", "ssh needs hosts, user and private_key"))
        if not ssh.get("known_hosts") and not ssh.get("host_key_fingerprints"):
            failures.append(CheckFailure("ssh", "host keys must be checked: give known_hosts or host_key_fingerprints"))
    dropped = sorted(set(olds.get("resources") or []) - set(news.get("resources") or []))
    if olds.get("enabled") and news.get("enabled") and dropped:
        failures.append(
            CheckFailure(
                "resources",
                f"{ErrorCode.ENC_CHANGE_REFUSED} resources {', '.join(dropped)} cannot be dropped while encrypted; "
                "disable encryption first, then enable it with the new list",
            )
        )
    return failures


class IdcEncryptionProvider(ResourceProvider):
    """``fault`` is for tests: called with (phase, "persisted" | "acted"), it may raise to stop a run there."""

    def __init__(self, fault: Fault | None = None):
        self.fault = fault

    def check(self, olds: dict, news: dict) -> CheckResult:
        if any(value == UNKNOWN for value in news.values()):
            known = {key: value for key, value in news.items() if value != UNKNOWN}
            return CheckResult(news, [f for f in _input_failures(known, olds) if f.property in known])
        return CheckResult(news, _input_failures(news, olds))

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        """Changed inputs, a due rotation, or a transition or failure the recorded state shows."""
        new, old = IdcEncryptionInputs.from_props(news), IdcEncryptionInputs.from_props(olds)
        changed = new.changed(old)
        due = bool(new.enabled) and rotation_due(
            Journal.from_dict(olds.get("keys")), int(new.rotation_interval_seconds), datetime.now(UTC)
        )
        unsettled = bool(olds.get("phase")) or olds.get("state") == "failed"
        return DiffResult(
            changes=bool(changed) or due or unsettled,
            replaces=["cluster"] if "cluster" in changed else [],
            delete_before_replace=True,
        )

    def create(self, props: dict) -> CreateResult:
        inputs = IdcEncryptionInputs.from_props(props)
        outcome = converge(_desired(inputs), inputs.kubeconfig, _access(inputs), Journal(), self.fault)
        return CreateResult(id_=inputs.cluster, outs=_outputs(inputs, outcome))

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        inputs = IdcEncryptionInputs.from_props(news)
        known = Journal.from_dict(olds.get("keys"))
        return UpdateResult(
            outs=_outputs(inputs, converge(_desired(inputs), inputs.kubeconfig, _access(inputs), known, self.fault))
        )

    def read(self, id_: str, props: dict) -> ReadResult:
        inputs = IdcEncryptionInputs.from_props(props)
        outcome = observe(inputs.cluster, inputs.kubeconfig, _access(inputs), Journal.from_dict(props.get("keys")))
        return ReadResult(id_, _outputs(inputs, outcome))

    def delete(self, _id: str, props: dict) -> None:
        """Disable: objects rewritten as written, keys dropped after the backup (V42); the privileged pods'
        namespace goes too."""
        inputs = IdcEncryptionInputs.from_props(props)
        known, access = Journal.from_dict(props.get("keys")), _access(inputs)
        converge(_desired(inputs, enabled=False), inputs.kubeconfig, access, known, self.fault)
        if isinstance(access, PodAccess):
            access.remove_namespace(inputs.cluster)


class IdcEncryption(Resource, module="fleetform", name="IdcEncryption"):
    """Outputs ``state``, ``active_provider``, ``key_ref``, ``key_revision``, ``last_rotated_at``, ``rotation_due``,
    ``verified``, ``verification``, ``state_reason``, ``phase``; ``keys`` is secret."""

    state: pulumi.Output[str]
    active_provider: pulumi.Output[str]
    key_ref: pulumi.Output[str]
    key_revision: pulumi.Output[int]
    last_rotated_at: pulumi.Output[str]
    rotation_due: pulumi.Output[bool]
    verified: pulumi.Output[bool]
    verification: pulumi.Output[str]
    state_reason: pulumi.Output[str]
    phase: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        kubeconfig: pulumi.Input[str],
        provider: str,
        resources: list[str],
        rotation_interval_seconds: int,
        kms: dict | None,
        node_access: str,
        ssh: dict | None,
        enabled: bool,
        reencrypt_existing: bool,
        etcd_backup: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "kubeconfig": pulumi.Output.secret(kubeconfig),
            "provider": provider,
            "resources": list(resources),
            "rotation_interval_seconds": rotation_interval_seconds,
            "kms": kms,
            "node_access": node_access,
            "ssh": pulumi.Output.secret(ssh) if ssh is not None else None,
            "enabled": enabled,
            "reencrypt_existing": reencrypt_existing,
            "etcd_backup": etcd_backup,
            **IdcEncryptionOutputs.placeholders(),
        }
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["keys", "ssh", "kubeconfig"])
        super().__init__(IdcEncryptionProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))
