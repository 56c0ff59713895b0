"""CloudEncryption: Secrets encrypted at rest with the user's KMS key through the cloud's own API, for the cloud
kinds eks, gke, aks, ack and tke (DOMAIN §2.7, §7.1, V34-V40; CLOUD-APIS §2.4, §3.4, §4.4, §5.4, §6.4).

Each kind's source (``providers/clouds/<kind>.py``) answers ``encryption_state(operation=None)`` in one shape::

    {"state": "disabled" | "enabling" | "enabled" | "disabling" | "failed" | None,   # None: the cloud does not say
     "key": {...} | None,      # the key the cloud reports, spelt as the stack's key model (None: off, or not reported)
     "key_reported": bool,     # whether this cloud reports the key at all (ACK and TKE do not)
     "busy": bool,             # a change is running: wait for it, never submit a second one
     "operation": str | None,  # the operation asked about (EKS update id, GKE operation name)
     "reason": str}            # the cloud's own words for it

and ``enable_encryption(key)`` / ``disable_encryption()`` to start a change. This module decides, per kind, what a
declaration needs (nothing, enable, disable, or disable then enable), calls, waits on the long-running operation
with backoff bounded by ``timeout_seconds`` (EKS: DescribeUpdate; GKE: GetOperation; AKS: the ARM operation the SDK
polls, then the resource; ACK: the cluster ``state`` back to ``running``; TKE: DescribeEncryptionStatus), and reads
the result back.

* **check** (preview) asks the cloud when the inputs are known and refuses what cannot be done, each with its code
  and fix: a kind without the capability (CTyun, FF-ENC-001: never skipped), no key where one is needed (FF-ENC-013),
  a GKE key outside the cluster's region (FF-ENC-005), invalid AKS KMS settings (FF-ENC-006), ACK below Pro
  (FF-ENC-003), and for EKS disabling or changing an associated key (FF-ENC-002) or associating one without
  ``allow_irreversible`` (FF-ENC-014, as the stack check says). An EKS association that will happen is logged as a
  warning (``FF-ENC-002 ... irreversible``). When the cloud cannot be asked (unreachable, refused credentials) the
  cloud checks are deferred to apply (warning FF-GEN-W01), where the same decision runs again before any call.
* **diff** compares the declaration with what the last apply or refresh saw: a key change is an in-place update on
  every kind that allows one (GKE, AKS, ACK, TKE); nothing is ever replaced because of its key (only a new
  ``cluster`` or ``kind`` replaces); on EKS a key change never gets here (check refuses it).
* **create/update**: a second run with the same inputs makes no mutating call (the cloud, or for ACK and TKE the
  recorded state, shows it done). AKS switches between Public and Private Key Vault access by disabling first
  (AKS requires it); TKE changes its key by DisableEncryptionProtection then EnableEncryptionProtection (TKE has
  no re-key call; Secrets are decrypted in between). EKS >= 1.28 without a key makes no call:
  ``provider-default`` (FF-ENC-I01).
* **read** (refresh) reads the cloud again and returns the live key and on/off as the ``key`` and ``enabled``
  inputs, so a key changed or encryption turned off outside fleetform shows as drift and the next preview plans an
  update that restores the declaration. ACK reports nothing about Secret encryption, so drift there is invisible;
  TKE reports on/off but not the key, so only "turned off" is visible.
* **delete** never touches the cloud, on purpose. EKS: an associated key can never be removed, so the cluster
  keeps encrypting with it and fleetform only forgets the resource (the component also marks it ``protect``ed).
  Reversible kinds: removing the declaration keeps the data encrypted, because silently decrypting every Secret on
  a refactor would be worse than leaving it on; to turn encryption off, apply ``enabled: false`` first.

Outputs: ``state`` (disabled, enabling, enabled, disabling, provider-default, failed), ``provider`` (aws-kms,
gcp-kms, azure-keyvault, alibaba-kms, tencent-kms, provider-default, or none), ``key_ref`` (the key id, ARN or name;
never key material), ``verified`` (the cloud itself reports exactly the requested key: never for ACK and TKE, whose
APIs do not report the key; ``state_reason`` then says so), ``operation_id`` and ``state_reason``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

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

from ..clouds import source_for
from ..clouds.base import CloudError, ClusterDescription
from ..clouds.ctyun import encryption_unsupported
from ..errors import ClusterAccessError, ErrorCode, FleetformError, Problem
from ..kube import parse_version
from ._props import Props

# The cloud kinds this resource serves: the provider name each one reports, and the key field that names the key.
PROVIDERS = {"eks": "aws-kms", "gke": "gcp-kms", "aks": "azure-keyvault", "ack": "alibaba-kms", "tke": "tencent-kms"}
KEY_FIELDS = {"eks": "key_arn", "gke": "key_name", "aks": "key_id", "ack": "kms_key_id", "tke": "kms_key_id"}
REVERSIBLE = ("gke", "aks", "ack", "tke")  # EKS cannot undo or change an association (V36)
PROVIDER_DEFAULT = "provider-default"
EKS_PROVIDER_DEFAULT = (1, 28)  # from 1.28 EKS encrypts all API data with an AWS-owned key (V35)
POLL_FIRST_SECONDS = 2.0  # the first wait on an operation; then x1.5 per poll, up to POLL_MAX_SECONDS
POLL_MAX_SECONDS = 30.0
_INPUTS_NEEDED = ("cluster", "kind", "identity", "cloud_endpoint", "key", "enabled", "allow_irreversible")


@dataclass(frozen=True)
class CloudEncryptionInputs(Props):
    cluster: str
    kind: str
    enabled: bool
    identity: dict = field(default_factory=dict)
    cloud_endpoint: str = ""
    key: dict | None = None
    allow_irreversible: bool = False
    kubernetes_version: str = ""
    timeout_seconds: int = 1800


@dataclass(frozen=True)
class CloudEncryptionOutputs(Props):
    state: str
    provider: str
    key_ref: str
    verified: bool
    operation_id: str
    state_reason: str


@dataclass
class _Decision:
    """What a declaration needs on the cloud as observed: the calls, in order (enable, disable), the rules it
    breaks (``(input, problem)``) and the warnings preview shows."""

    steps: list[str] = field(default_factory=list)
    problems: list[tuple[str, Problem]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def normal_key(kind: str, key: dict | None, region: str = "") -> dict | None:
    """The key without empty settings, and with the cloud's defaults filled in (AKS Public access, the TKE key in
    the cluster's region), so that a declared key and the one read back compare equal."""
    if not key or not key.get(KEY_FIELDS.get(kind, "")):
        return None
    normal = {name: value for name, value in key.items() if value not in (None, "")}
    if kind == "aks":
        normal.setdefault("key_vault_network_access", "Public")
    if kind == "tke" and region:
        normal.setdefault("kms_region", region)
    return normal


def key_ref(kind: str, key: dict | None) -> str:
    return (key or {}).get(KEY_FIELDS.get(kind, ""), "") or ""


def provider_default(inputs: CloudEncryptionInputs, version: str) -> bool:
    """EKS >= 1.28 without a key: AWS already encrypts all API data (V35)."""
    if inputs.kind != "eks" or normal_key("eks", inputs.key) is not None or not version:
        return False
    try:
        return parse_version(version) >= EKS_PROVIDER_DEFAULT
    except ValueError:
        return False


def static_problems(inputs: CloudEncryptionInputs) -> list[tuple[str, Problem]]:
    """The rules the inputs break without asking the cloud: the kind offers encryption (V34, never skipped), a key
    is given where one is needed, and its form (V38 GKE location, V39 AKS settings)."""
    kind, key = inputs.kind, normal_key(inputs.kind, inputs.key, inputs.identity.get("region", ""))
    if kind not in PROVIDERS:
        if not inputs.enabled and kind == "ctyun":
            return []  # nothing is asked of CTyun: FF-ENC-001 itself says enabled=false is the way out
        if kind == "ctyun":
            return [("kind", encryption_unsupported(inputs.cluster))]
        if kind == "idc":
            message = "idc encryption is managed on the control-plane nodes (IdcEncryption), not through a cloud API"
            return [("kind", Problem(None, message))]
        return [("kind", Problem(ErrorCode.KIND_UNKNOWN, f"unknown cluster kind '{kind}' for CloudEncryption"))]
    if not inputs.enabled:
        return []
    if key is None and kind != "eks":  # EKS: decided with the version (V35)
        field_name = KEY_FIELDS[kind]
        message = f"{kind.upper()} needs key.{field_name} to enable secrets encryption"
        return [("key", Problem(ErrorCode.ENC_KEY_REQUIRED, message))]
    if kind == "gke" and key is not None:  # the kind modules load their cloud's SDK: imported when needed
        from ..clouds.gke import check_key

        return [("key", p) for p in check_key(key["key_name"], inputs.identity.get("location", ""))]
    if kind == "aks" and key is not None:
        from ..clouds.aks import check_encryption_key

        return [("key", p) for p in check_encryption_key(key)]
    return []


def decide(
    inputs: CloudEncryptionInputs,
    version: str,
    observed: dict,
    recorded: dict | None,
    description: ClusterDescription | None = None,
) -> _Decision:
    """The calls the declaration needs on the cloud as ``observed`` (a settled ``encryption_state``), given what
    fleetform ``recorded`` when the cloud does not report it (``{"state", "key"}`` of the last apply, or None)."""
    kind, region = inputs.kind, inputs.identity.get("region", "")
    wanted = normal_key(kind, inputs.key, region)
    decision = _Decision()
    if kind == "eks":
        return _decide_eks(inputs, version, observed, wanted, decision)
    if kind == "ack" and inputs.enabled and description is not None:
        from ..clouds.ack import check_encryption  # V37

        decision.problems += [("identity", p) for p in check_encryption(description, inputs.cluster)]
    state = observed["state"]
    known = recorded or {}
    if observed["key_reported"]:
        current = normal_key(kind, observed["key"], region) if state == "enabled" else None
    else:  # ACK, TKE: the key is what fleetform set, as far as anyone can tell
        current = normal_key(kind, known.get("key"), region) if known.get("state") in ("enabled", "enabling") else None
        if kind == "ack" and state is None:  # ACK reports no state at all either
            state = known.get("state") if known.get("state") in ("enabled", "disabled") else None
    if not inputs.enabled:
        if state == "disabled" or (state is None and kind == "ack"):
            return decision  # ACK: fleetform never turned it on, and cannot see whether anyone else did
        decision.steps = ["disable"]
        return decision
    if state == "enabled" and current == wanted:
        return decision
    if state == "enabled" and current is None and not observed["key_reported"] and kind == "tke":
        decision.warnings.append(
            f"TKE cluster '{inputs.cluster}' already has Secret encryption Opened, and TKE does not report with "
            f"which key: fleetform adopts it as it is and cannot confirm {key_ref(kind, wanted)}"
        )
        return decision
    if state == "enabled" and current is not None:
        access = (current.get("key_vault_network_access"), wanted.get("key_vault_network_access"))
        if kind == "tke" or (kind == "aks" and access[0] != access[1]):
            decision.steps = ["disable", "enable"]  # TKE has no re-key call; AKS needs KMS off to switch access
            return decision
    decision.steps = ["enable"]
    return decision


def _decide_eks(
    inputs: CloudEncryptionInputs, version: str, observed: dict, wanted: dict | None, decision: _Decision
) -> _Decision:
    """V35, V36: a customer key, once associated, can be neither removed nor changed."""
    current = normal_key("eks", observed["key"]) if observed["state"] == "enabled" else None
    cluster = inputs.cluster
    irreversible = Problem(
        ErrorCode.ENC_IRREVERSIBLE,
        f"EKS secrets encryption on '{cluster}' cannot be disabled or re-keyed once associated",
    )
    if current is not None and (not inputs.enabled or wanted != current):
        fix = f"keep enabled: true and key_arn: {current['key_arn']} (the key EKS encrypts with)"
        problem = Problem(irreversible.code, f"{irreversible.message}; {fix}")
        decision.problems.append(("enabled" if not inputs.enabled else "key", problem))
        return decision
    if current is not None or not inputs.enabled:
        return decision
    if wanted is None:
        if not provider_default(inputs, version):
            shown = _major_minor(version) or "below 1.28"
            message = f"EKS {shown} needs key_arn to enable secrets encryption"
            decision.problems.append(("key", Problem(ErrorCode.ENC_KEY_REQUIRED, message)))
        return decision
    if not inputs.allow_irreversible:
        message = "EKS secrets encryption is irreversible; set allow_irreversible=true to proceed"
        decision.problems.append(("allow_irreversible", Problem(ErrorCode.ENC_NEEDS_ALLOW_IRREVERSIBLE, message)))
        return decision
    decision.warnings.append(
        f"{ErrorCode.ENC_IRREVERSIBLE.value} associating KMS key {wanted['key_arn']} with EKS cluster '{cluster}' is "
        "irreversible: once associated, EKS secrets encryption cannot be disabled or re-keyed"
    )
    decision.steps = ["enable"]
    return decision


def _major_minor(version: str) -> str:
    try:
        return "{}.{}".format(*parse_version(version))
    except (ValueError, TypeError):
        return ""


def _recorded(props: dict | None) -> dict | None:
    """What the last apply (or refresh) recorded: the state and the key it stands for."""
    if not props or not props.get("state"):
        return None
    return {"state": props["state"], "key": props.get("key")}


def _took_effect(kind: str, step: str, observed: dict, wanted: dict | None) -> bool:
    """Whether a settled change shows as asked, as far as the cloud reports (ACK reports nothing)."""
    state = observed["state"]
    if state is None:
        return True
    if step == "disable":
        return state == "disabled"
    if not observed["key_reported"]:
        return state == "enabled"
    return state == "enabled" and normal_key(kind, observed["key"]) == normal_key(kind, wanted)


def _failure(inputs: CloudEncryptionInputs, observed: dict) -> FleetformError:
    kind, reason, operation = inputs.kind, observed["reason"], observed.get("operation") or ""
    if kind == "gke":
        return FleetformError(
            ErrorCode.ENC_GKE_UPDATE_FAILED, f"GKE encryption update failed: {reason}; do not disable either KMS key"
        )
    if kind == "tke":
        return FleetformError(ErrorCode.ENC_TKE_REFUSED, f"TKE refused EnableEncryptionProtection: {reason}")
    what = f" {operation}" if operation else ""
    return FleetformError(
        ErrorCode.ENC_OPERATION_FAILED,
        f"{kind.upper()} encryption update{what} on '{inputs.cluster}' failed: {reason}; fix the cause (key "
        "permissions, key state) and apply again",
    )


class CloudEncryptionProvider(ResourceProvider):
    """Enables, re-keys or disables a cluster's Secret encryption through its cloud's API (see the module
    docstring); ``delete`` leaves the cloud as it is."""

    @staticmethod
    def _source(inputs: CloudEncryptionInputs):
        return source_for(inputs.kind, inputs.identity, inputs.cloud_endpoint or None)

    # --- preview ----------------------------------------------------------------------------------

    def check(self, olds: dict, news: dict) -> CheckResult:
        if any(_has_unknown(news.get(name)) for name in _INPUTS_NEEDED):
            return CheckResult(news, [])
        inputs = CloudEncryptionInputs.from_props(news)
        problems = static_problems(inputs)
        if problems or inputs.kind not in PROVIDERS:
            return CheckResult(news, [CheckFailure(name, str(problem)) for name, problem in problems])
        try:
            source = self._source(inputs)
            description = source.describe()
            observed = source.encryption_state()
        except CloudError as exc:
            if exc.reason in ("invalid", "not-found"):
                return CheckResult(news, [CheckFailure("identity", str(exc))])
            pulumi.log.warn(
                f"{ErrorCode.GEN_CHECK_DEFERRED.value} check deferred to apply: encryption of '{inputs.cluster}' "
                f"({exc})"
            )
            return CheckResult(news, [])
        version = news.get("kubernetes_version") if news.get("kubernetes_version") != UNKNOWN else ""
        # olds are the previous inputs: where the cloud does not report the key, assume the last apply did its job
        recorded = {"state": "enabled", "key": olds.get("key")} if olds and olds.get("enabled") else None
        decision = decide(inputs, version or description.kubernetes_version, observed, recorded, description)
        for warning in decision.warnings:
            pulumi.log.warn(warning)
        return CheckResult(news, [CheckFailure(name, str(problem)) for name, problem in decision.problems])

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        """``olds`` are the outputs of the last apply or refresh, whose ``key`` and ``enabled`` are the live ones
        after a refresh; a state that differs from the declaration is a change too."""
        old, new = CloudEncryptionInputs.from_props(olds), CloudEncryptionInputs.from_props(news)
        replaces = [name for name in ("cluster", "kind") if getattr(old, name) != getattr(new, name)]
        region = new.identity.get("region", "")
        changed = replaces + [
            name
            for name in ("enabled", "identity", "cloud_endpoint", "allow_irreversible")
            if getattr(old, name) != getattr(new, name)
        ]
        if normal_key(new.kind, old.key, region) != normal_key(new.kind, new.key, region):
            changed.append("key")
        known_version = not _has_unknown(news.get("kubernetes_version"))
        if known_version and provider_default(old, old.kubernetes_version) != provider_default(
            new, new.kubernetes_version
        ):
            changed.append("kubernetes_version")
        state = olds.get("state") or ""
        if new.enabled and state in ("disabled", "disabling", "failed"):
            changed.append("state")
        if not new.enabled and new.kind in REVERSIBLE and state in ("enabled", "enabling", "failed"):
            changed.append("state")
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=bool(replaces))

    # --- apply ------------------------------------------------------------------------------------

    def create(self, props: dict) -> CreateResult:
        inputs = CloudEncryptionInputs.from_props(props)
        return CreateResult(id_=f"{inputs.kind}/{inputs.cluster}", outs=self._apply(inputs, None))

    def update(self, _id: str, olds: dict, news: dict) -> UpdateResult:
        return UpdateResult(outs=self._apply(CloudEncryptionInputs.from_props(news), olds))

    def _apply(self, inputs: CloudEncryptionInputs, olds: dict | None) -> dict:
        problems = static_problems(inputs)
        if problems:
            raise ClusterAccessError.of([problem for _, problem in problems])
        if inputs.kind not in PROVIDERS:  # CTyun with enabled=false: nothing to do, nothing to call
            return self._props(inputs, "disabled", "none", "", False, "", f"encryption is off ({inputs.kind})")
        deadline = time.monotonic() + inputs.timeout_seconds
        source = self._source(inputs)
        description = source.describe()
        version = inputs.kubernetes_version or description.kubernetes_version
        recorded = _recorded(olds)
        observed = self._settled(inputs, source, None, deadline)
        decision = decide(inputs, version, observed, recorded, description)
        if decision.problems:
            raise ClusterAccessError.of([problem for _, problem in decision.problems])
        for warning in decision.warnings:
            pulumi.log.warn(warning)
        operation = ""
        for step in decision.steps:
            if step == "enable":
                answer = self._enable(inputs, source, deadline)
            else:
                answer = self._disable(inputs, source, deadline)
            operation = answer.get("operation") or ""
            observed = self._settled(inputs, source, operation or None, deadline)
            if observed["state"] == "failed" or answer.get("error"):
                raise _failure(inputs, {**observed, "reason": answer.get("error") or observed["reason"]})
            wanted = normal_key(inputs.kind, inputs.key, inputs.identity.get("region", ""))
            if not _took_effect(inputs.kind, step, observed, wanted):
                shown = key_ref(inputs.kind, observed["key"]) or "no key"
                raise _failure(
                    inputs,
                    {
                        **observed,
                        "reason": f"the cloud reports {observed['state']} with {shown} after it ({observed['reason']})",
                    },
                )
            recorded = {"state": "enabled", "key": wanted} if step == "enable" else {"state": "disabled", "key": None}
        return self._result(inputs, version, observed, recorded, operation or (olds or {}).get("operation_id", ""))

    @staticmethod
    def _enable(inputs: CloudEncryptionInputs, source, deadline: float) -> dict:
        key = normal_key(inputs.kind, inputs.key, inputs.identity.get("region", "")) or {}
        if inputs.kind == "aks":  # the SDK waits on the ARM operation (Azure-AsyncOperation, Retry-After)
            return source.enable_encryption(key, timeout=max(1.0, deadline - time.monotonic()))
        return source.enable_encryption(key)

    @staticmethod
    def _disable(inputs: CloudEncryptionInputs, source, deadline: float) -> dict:
        if inputs.kind == "aks":
            return source.disable_encryption(timeout=max(1.0, deadline - time.monotonic()))
        return source.disable_encryption()

    @staticmethod
    def _settled(inputs: CloudEncryptionInputs, source, operation: str | None, deadline: float) -> dict:
        """``encryption_state`` once no change runs, polled with backoff; FF-ENC-023 at the deadline."""
        delay = POLL_FIRST_SECONDS
        while True:
            observed = source.encryption_state(operation)
            if not observed["busy"]:
                return observed
            left = deadline - time.monotonic()
            if left <= 0:
                what = (
                    f"operation {observed.get('operation') or operation} "
                    if (operation or observed["operation"])
                    else ""
                )
                raise FleetformError(
                    ErrorCode.ENC_OPERATION_TIMEOUT,
                    f"{inputs.kind.upper()} encryption on '{inputs.cluster}' is still "
                    f"{observed['state'] or 'updating'} after {inputs.timeout_seconds}s ({what}{observed['reason']}); "
                    "it goes on in the cloud: apply again to wait for it, or raise timeout_seconds",
                )
            time.sleep(min(delay, left))
            delay = min(delay * 1.5, POLL_MAX_SECONDS)

    def _result(
        self, inputs: CloudEncryptionInputs, version: str, observed: dict, recorded: dict | None, operation: str
    ) -> dict:
        """The outputs for what the cloud reports now (``recorded`` stands in where it reports nothing)."""
        kind, region = inputs.kind, inputs.identity.get("region", "")
        wanted = normal_key(kind, inputs.key, region)
        state, reason = observed["state"], observed["reason"]
        live = normal_key(kind, observed["key"], region) if observed["key_reported"] else None
        if not observed["key_reported"]:
            known = recorded or {}
            if state is None:  # ACK: what fleetform set, the cluster back to running
                state = known.get("state") if known.get("state") in ("enabled", "disabled") else "disabled"
            if state == "enabled":
                live = normal_key(kind, known.get("key"), region) or wanted
                what = "reports neither the state nor the key" if kind == "ack" else "does not report the key"
                reason = f"{reason}; {kind.upper()} {what}: the key on record is {key_ref(kind, live) or 'unknown'}"
        if kind == "eks" and state == "disabled" and provider_default(inputs, version):
            message = f"EKS {_major_minor(version)} already encrypts Kubernetes API data with an AWS-owned key"
            state, reason = PROVIDER_DEFAULT, f"{ErrorCode.ENC_PROVIDER_DEFAULT.value} {message}"
        if state == "enabled":
            provider = PROVIDERS[kind]
        elif state == PROVIDER_DEFAULT:
            provider = PROVIDER_DEFAULT
        else:
            provider = "none"
        verified = state == "enabled" and observed["key_reported"] and live == wanted
        return self._props(inputs, state, provider, key_ref(kind, live), verified, operation, reason)

    @staticmethod
    def _props(
        inputs: CloudEncryptionInputs,
        state: str,
        provider: str,
        ref: str,
        verified: bool,
        operation: str,
        reason: str,
    ) -> dict:
        outputs = CloudEncryptionOutputs(
            state=state,
            provider=provider,
            key_ref=ref,
            verified=verified,
            operation_id=operation or "",
            state_reason=reason,
        )
        return {**inputs.to_props(), **outputs.to_props()}

    # --- refresh and delete -----------------------------------------------------------------------

    def read(self, id_: str, props: dict) -> ReadResult:
        """The cloud as it is now. The live key and on/off become the ``key`` and ``enabled`` inputs, so that drift
        (a key changed, encryption turned off) diffs against the declaration; a cluster gone from its cloud reads
        as deleted; a cloud that cannot be asked leaves the record as it was, with the reason."""
        inputs = CloudEncryptionInputs.from_props(props)
        if inputs.kind not in PROVIDERS:
            return ReadResult(id_, props, inputs.to_props())
        try:
            source = self._source(inputs)
            observed = source.encryption_state()
        except CloudError as exc:
            if exc.reason == "not-found":
                return ReadResult(None, {})
            return ReadResult(id_, {**props, "state_reason": f"could not read the encryption state: {exc}"})
        live_inputs = CloudEncryptionInputs.from_props({**inputs.to_props(), **self._live(inputs, observed)})
        # the outputs judge the live key against the key last applied: verified turns false on drift
        recorded, operation = _recorded(props), props.get("operation_id", "")
        outputs = self._result(inputs, inputs.kubernetes_version, observed, recorded, operation)
        return ReadResult(id_, {**outputs, **live_inputs.to_props()}, live_inputs.to_props())

    @staticmethod
    def _live(inputs: CloudEncryptionInputs, observed: dict) -> dict:
        """The ``enabled`` and ``key`` inputs as the cloud shows them (only what it shows, and only when no change
        runs). EKS: a customer key appears, it never goes; TKE: on/off only; ACK: nothing."""
        if observed["state"] not in ("enabled", "disabled") or observed["busy"]:
            return {}
        live = normal_key(inputs.kind, observed["key"], inputs.identity.get("region", ""))
        if inputs.kind == "eks":
            return {"enabled": True, "key": live} if live is not None else {}
        changes: dict = {"enabled": observed["state"] == "enabled"}
        if observed["key_reported"] and live is not None:
            changes["key"] = live
        return changes

    def delete(self, _id: str, props: dict) -> None:
        """Leaves the cloud as it is (see the module docstring) and says so."""
        inputs = CloudEncryptionInputs.from_props(props)
        state, ref = props.get("state"), props.get("key_ref") or ""
        if inputs.kind == "eks" and state == "enabled":
            pulumi.log.warn(
                f"{ErrorCode.ENC_IRREVERSIBLE.value} EKS secrets encryption on '{inputs.cluster}' cannot be disabled "
                f"or re-keyed once associated: the cluster keeps encrypting Secrets with {ref}; fleetform only forgets "
                "this resource"
            )
        elif state in ("enabled", "enabling"):
            pulumi.log.info(
                f"Secret encryption on '{inputs.cluster}' stays on ({PROVIDERS.get(inputs.kind, inputs.kind)} key "
                f"{ref}): removing the declaration does not decrypt; apply enabled: false first to turn it off"
            )


def _has_unknown(value) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    return False


class CloudEncryption(Resource, module="fleetform", name="CloudEncryption"):
    """Secret encryption at rest on one EKS, GKE, AKS, ACK or TKE cluster with the user's KMS key (see
    :mod:`providers.dynamic.cloud_encryption`); outputs ``state``, ``provider``, ``key_ref``, ``verified``,
    ``operation_id`` and ``state_reason``."""

    state: pulumi.Output[str]
    provider: pulumi.Output[str]
    key_ref: pulumi.Output[str]
    verified: pulumi.Output[bool]
    operation_id: pulumi.Output[str]
    state_reason: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        cluster: str,
        kind: str,
        identity: dict,
        cloud_endpoint: str | None,
        key: dict | None,
        enabled: bool,
        allow_irreversible: bool,
        kubernetes_version: pulumi.Input[str],
        timeout_seconds: int = 1800,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "cluster": cluster,
            "kind": kind,
            "identity": identity or {},
            "cloud_endpoint": cloud_endpoint or "",
            "key": key,
            "enabled": enabled,
            "allow_irreversible": allow_irreversible,
            "kubernetes_version": kubernetes_version,
            "timeout_seconds": timeout_seconds,
            **CloudEncryptionOutputs.placeholders(),
        }
        super().__init__(CloudEncryptionProvider(), name, props, opts)
