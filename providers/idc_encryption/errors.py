"""The codes of idc encryption's failures (DOMAIN V41, V42, §8), raised as :class:`IdcEncryptionError`.

They live here until ``providers.errors.ErrorCode`` takes them; the user reads ``"<code> <message>"`` either way.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import ClusterAccessError


class IdcCode(StrEnum):
    NOT_KUBEADM = "FF-ENC-008"
    NODE_UNREACHABLE = "FF-ENC-009"
    BACKUP_NOT_CONFIRMED = "FF-ENC-011"
    WILDCARD_TOO_OLD = "FF-ENC-012"
    # not in DOMAIN §8 yet: a host presents a host key neither known_hosts nor the pinned fingerprints trust
    HOST_KEY_UNTRUSTED = "FF-ENC-030"
    # not in DOMAIN §8 yet: a phase's gate failed (files differ between hosts, an API server did not come back
    # with the new configuration, Secrets could not be rewritten, the canary is not stored as expected)
    PHASE_FAILED = "FF-ENC-031"
    # not in DOMAIN §8 yet: node_access privileged-pod is not implemented for idc encryption
    NODE_ACCESS_UNAVAILABLE = "FF-ENC-032"
    # not in DOMAIN §8 yet: a change the procedure cannot make safely (resources removed, a KMS plugin re-pointed)
    CHANGE_REFUSED = "FF-ENC-033"


class IdcEncryptionError(ClusterAccessError):
    """A failure of the idc procedure; ``code`` is an :class:`IdcCode`."""

    def __init__(self, code: IdcCode, message: str):
        super().__init__(code, message)  # type: ignore[arg-type]  # an ErrorCode once §8 lists these
