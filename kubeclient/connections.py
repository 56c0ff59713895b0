"""One official API client per cluster credential per process, shared by every caller.

Building a client costs more than most requests: the official client's ``Configuration`` sets up its
loggers, its kubeconfig loader writes the CA to a file and runs the exec plugin, and each new urllib3
pool makes a TLS context and opens new connections with full handshakes. Callers that build a client
per call (every dynamic provider's check, read and create) paid that for every call. Here a client is
kept per kubeconfig content and context, keyed by a digest (the kubeconfig itself, which holds
credentials, is never a key, logged or written), built once under a lock per key so that threads asking
at once share the one build, and built anew only when the exec credential it carries expires.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

from . import exec_credential
from .errors import KubeconfigError
from .kubeconfig import Context, Kubeconfig
from .memo import Memo

POOL_SIZE = 64  # connections kept per API server: more than any --parallel, so none is dropped and reopened


class Connection:
    """The official ``ApiClient`` of one kubeconfig context, rebuilt when its exec credential expires."""

    def __init__(self, kubeconfig: Kubeconfig, context: Context):
        self._data = kubeconfig.data
        self._context = context
        self._lock = threading.Lock()
        self._credential: exec_credential.Credential | None = None
        self._api = self._build(kubeconfig.what)

    def client(self, what: str) -> Any:
        """The client; raises :class:`KubeconfigError` naming ``what`` when a credential it needs anew
        cannot be had."""
        if self._credential is not None and not self._credential.fresh():
            with self._lock:
                if not self._credential.fresh():
                    self._api = self._build(what)
        return self._api

    def renew(self, what: str) -> bool:
        """After a 401: a client with a credential fetched anew, when it has an exec credential (True);
        a static credential cannot be renewed (False)."""
        exec_config = self._context.user.get("exec")
        if not exec_config:
            return False
        with self._lock:
            exec_credential.forget(exec_config, self._context.cluster)
            self._api = self._build(what)
        return True

    def _build(self, what: str) -> Any:
        from kubernetes.client import Configuration
        from kubernetes.config import new_client_from_config_dict

        kubeconfig = Kubeconfig(self._data, what)
        exec_config = self._context.user.get("exec")
        if exec_config:  # the plugin's answer in place of the exec entry: the official client runs nothing
            self._credential = exec_credential.credential(exec_config, what, self._context.cluster)
            kubeconfig = kubeconfig.with_user(self._context.name, _static_user(self._credential.status))
        configuration = type.__call__(Configuration)  # a fresh one, not a copy of the process-wide default
        configuration.retries = False  # urllib3 would otherwise retry 429/503 itself, unbounded by ``attempts``
        configuration.connection_pool_maxsize = POOL_SIZE
        try:
            return new_client_from_config_dict(
                kubeconfig.data, context=self._context.name, persist_config=False, client_configuration=configuration
            )
        except Exception as exc:  # ConfigException and friends: bad credentials, unreadable files
            raise KubeconfigError(f"{what}: the kubeconfig cannot be used ({exc})") from exc


_connections: Memo[Connection] = Memo()


def connection(kubeconfig: Kubeconfig, context: Context) -> Connection:
    """The process's connection for this kubeconfig content and context, built on first use."""
    key = hashlib.sha256(json.dumps([kubeconfig.data, context.name], sort_keys=True, default=str).encode()).hexdigest()
    return _connections.get(key, lambda: Connection(kubeconfig, context))


def _static_user(status: dict) -> dict:
    """An ExecCredential status as the kubeconfig user entry it stands for."""
    if status.get("token"):
        return {"token": status["token"]}
    return {
        "client-certificate-data": base64.b64encode(status["clientCertificateData"].encode()).decode(),
        "client-key-data": base64.b64encode(status["clientKeyData"].encode()).decode(),
    }
