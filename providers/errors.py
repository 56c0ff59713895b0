"""fleetform's error codes (DOMAIN §8) as values, and the errors and problems that carry them.

Code decides behaviour (``problem.code is ErrorCode.KIND_LOCAL_ACCOUNTS_DISABLED``), never a
message prefix. What the user reads is unchanged: ``"<code> <message>"``, e.g.
``FF-KIND-011 AKS cluster 'prod' disables local accounts; ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kubeclient import KubeClientError


class ErrorCode(StrEnum):
    REG_ALREADY_REGISTERED = "FF-REG-001"
    REG_HUB_ITSELF = "FF-REG-002"
    REG_NOT_FOUND = "FF-REG-003"
    REG_NOT_RUNNING = "FF-REG-004"
    KIND_UNKNOWN = "FF-KIND-001"
    KIND_IDENTITY_MISSING = "FF-KIND-002"
    KIND_AUTOPILOT = "FF-KIND-010"
    KIND_LOCAL_ACCOUNTS_DISABLED = "FF-KIND-011"
    CONN_UNREACHABLE = "FF-CONN-002"
    CONN_NO_PUBLIC_ENDPOINT = "FF-CONN-003"
    CONN_AGENT_TIMEOUT = "FF-CONN-005"
    VER_TOO_OLD = "FF-VER-001"
    VER_TOO_OLD_FOR_FEDERATION = "FF-VER-002"
    CRED_EXPIRING_TOKEN = "FF-CRED-001"
    CLOUD_API = "FF-CLOUD-001"
    GEN_CHECK_DEFERRED = "FF-GEN-W01"
    BOOT_UNSUPPORTED = "FF-BOOT-001"
    ING_NO_LOAD_BALANCER = "FF-ING-002"
    ING_NO_ADDRESS = "FF-ING-003"
    # not in DOMAIN §8 yet: another IngressClass is the default too (the rule "never two defaults")
    ING_TWO_DEFAULTS = "FF-ING-006"
    STOR_DEFAULTS = "FF-STOR-001"
    STOR_CLASS_DIFFERS = "FF-STOR-002"
    STOR_CSI_MISSING = "FF-STOR-003"
    STOR_NO_DEFAULT = "FF-STOR-W01"
    ENC_UNSUPPORTED_KIND = "FF-ENC-001"
    ENC_IRREVERSIBLE = "FF-ENC-002"
    ENC_NEEDS_ACK_PRO = "FF-ENC-003"
    ENC_UPDATE_IN_PROGRESS = "FF-ENC-004"
    ENC_GKE_KEY_LOCATION = "FF-ENC-005"
    ENC_AKS_KMS_SETTINGS = "FF-ENC-006"
    ENC_TKE_REFUSED = "FF-ENC-007"
    ENC_NOT_KUBEADM = "FF-ENC-008"
    ENC_NODE_UNREACHABLE = "FF-ENC-009"
    ENC_BACKUP_NOT_CONFIRMED = "FF-ENC-011"
    ENC_WILDCARD_TOO_OLD = "FF-ENC-012"
    ENC_KEY_REQUIRED = "FF-ENC-013"
    ENC_NEEDS_ALLOW_IRREVERSIBLE = "FF-ENC-014"
    ENC_GKE_UPDATE_FAILED = "FF-ENC-020"
    ENC_ACK_RBAC = "FF-ENC-021"
    # not in DOMAIN §8 yet: a cloud's encryption operation failed (EKS update Failed, AKS LRO Failed, ACK cluster
    # failed), or did not finish within timeout_seconds (it goes on in the cloud; the next run waits for it)
    ENC_OPERATION_FAILED = "FF-ENC-022"
    ENC_OPERATION_TIMEOUT = "FF-ENC-023"
    ENC_PROVIDER_DEFAULT = "FF-ENC-I01"
    # not in DOMAIN §8 yet (idc over SSH): a host presents a host key neither known_hosts nor the pins trust
    ENC_HOST_KEY_UNTRUSTED = "FF-ENC-030"
    # not in DOMAIN §8 yet: a phase's gate failed (files differ between hosts, an API server did not come back with
    # the new configuration, Secrets could not be rewritten, the canary is not stored as expected)
    ENC_PHASE_FAILED = "FF-ENC-031"
    # not in DOMAIN §8 yet: the nodes cannot be reached the way node_access says (privileged-pod: RBAC or Pod Security
    # refuses the pod or the exec; ssh: its settings are missing)
    ENC_NODE_ACCESS_UNAVAILABLE = "FF-ENC-032"
    # not in DOMAIN §8 yet: a change the procedure cannot make safely (resources removed, a KMS plugin re-pointed)
    ENC_CHANGE_REFUSED = "FF-ENC-033"
    FED_NOT_KARMADA = "FF-FED-004"
    FED_MEMBER_STILL_TARGETED = "FF-FED-005"
    FED_MEMBER_ADD_FAILED = "FF-FED-010"
    FED_API_UNREACHABLE = "FF-FED-012"
    # not in DOMAIN §8 yet: a Pull member's Cluster was deleted but is still on the Karmada API after join_timeout
    FED_MEMBER_UNJOIN_FAILED = "FF-FED-013"
    FLEET_MEMBER_NOT_RUNNING = "FF-FLEET-002"
    PERM_MEMBERS_UNREACHABLE = "FF-PERM-002"
    # not in DOMAIN §8 yet: objects delivered through an OCM ManifestWork did not get applied/available
    DLV_WORK_NOT_AVAILABLE = "FF-DLV-001"
    # not in DOMAIN §8 yet: the Karmada CR did not become Ready in time, or reports a failure (state failed)
    FED_CONTROL_PLANE_FAILED = "FF-FED-002"


def _coded(code: ErrorCode | None, message: str) -> str:
    return f"{code.value} {message}" if code else message


@dataclass(frozen=True)
class Problem:
    """A rule a cluster breaks, found by a check (reported, not raised); ``str`` is what the user reads."""

    code: ErrorCode | None
    message: str

    def __str__(self) -> str:
        return _coded(self.code, self.message)


class FleetformError(Exception):
    """An error with an optional :class:`ErrorCode`; ``str`` prefixes the message with the code."""

    def __init__(self, code: ErrorCode | None, message: str):
        super().__init__(_coded(code, message))
        self.code = code
        self.message = message


class ClusterAccessError(FleetformError):
    """A cluster could not be reached or used, or breaks a rule (``problems``, when it was checks)."""

    def __init__(self, code: ErrorCode | None, message: str, problems: tuple[Problem, ...] = ()):
        super().__init__(code, message)
        self.problems = problems

    @property
    def unreachable(self) -> bool:
        """Whether the cluster gave no answer or no usable connection (not a refusal or a broken rule).
        The embedded engine reads this when a delete fails, to ask whether the cluster is gone."""
        return isinstance(self.__cause__, KubeClientError)

    @classmethod
    def of(cls, problems: list[Problem]) -> ClusterAccessError:
        """One error for all the problems found (message: each, joined by ``; ``)."""
        if len(problems) == 1:
            return cls(problems[0].code, problems[0].message, tuple(problems))
        return cls(None, "; ".join(map(str, problems)), tuple(problems))
