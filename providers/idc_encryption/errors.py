"""The failure of the idc encryption procedure, raised as :class:`IdcEncryptionError` with an ``ENC_*`` code of
:class:`~providers.errors.ErrorCode` (FF-ENC-008/009/011/012 of DOMAIN §8, and 030-033 not listed there yet)."""

from __future__ import annotations

from ..errors import ClusterAccessError, ErrorCode


class IdcEncryptionError(ClusterAccessError):
    """A failure of the idc procedure; the user reads ``"<code> <message>"``."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(code, message)
