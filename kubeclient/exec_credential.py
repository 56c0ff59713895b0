"""Kubeconfig exec credential plugins, run as client-go runs them and kept in-process until they expire.

A kubeconfig user with ``exec`` names a command that prints an ``ExecCredential``
(``client.authentication.k8s.io``). client-go runs it once per process and keeps the credential until
its ``status.expirationTimestamp`` (for ever when it has none); the official Python client runs it for
every client it builds, and a cloud SDK's plugin costs about a second a run. Here one credential per
exec configuration is kept per process, in memory only (never logged or written; the cache is keyed
by a digest), and fetched anew a little before it expires.

A plugin that Python code installed in this environment declares under the entry-point group
:data:`IN_PROCESS_GROUP` (fleetform's own ``fleetform-credential``) is called as a function instead of
a process: the same ``ExecCredential``, without starting Python and importing the cloud SDK again.
Only when the exec entry sets no ``env`` of its own, which a function cannot be given without
changing this whole process's environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points

from .errors import KubeconfigError
from .memo import Memo

IN_PROCESS_GROUP = "kubeclient.exec_plugins"  # entry-point name: the command; value: args -> ExecCredential
EXPIRY_MARGIN = timedelta(seconds=30)  # fetched anew this long before it expires: no request carries a lapsing one
PLUGIN_TIMEOUT = 120.0  # seconds a plugin process may take (a cloud SDK's token call, with its retries)

Plugin = Callable[[list[str]], dict]


@dataclass(frozen=True)
class Credential:
    """What a plugin answered: ``status`` holds ``token``, or ``clientCertificateData`` and ``clientKeyData``."""

    status: dict
    expires: datetime | None  # None: it does not expire

    def fresh(self) -> bool:
        return self.expires is None or _now() < self.expires - EXPIRY_MARGIN


_credentials: Memo[Credential] = Memo()  # by a digest of the exec entry
_plugins: Memo[Plugin | None] = Memo()  # command -> its in-process function (None: it has none)


def credential(exec_config: dict, what: str, cluster: dict | None = None) -> Credential:
    """The credential of a kubeconfig user's ``exec`` entry: the one kept, while it is fresh; else the
    plugin's new answer. ``cluster`` (the context's cluster entry) is passed on when the entry sets
    ``provideClusterInfo``. Raises :class:`KubeconfigError` naming ``what`` when the plugin fails."""
    told = _told(exec_config, cluster)
    make = lambda: _parsed(_run(exec_config, told, what), exec_config, what)  # noqa: E731
    return _credentials.get(_key(exec_config, told), make, Credential.fresh)


def forget(exec_config: dict, cluster: dict | None = None) -> None:
    """Drop the kept credential: the API server refused it (401), so the next use asks the plugin, as
    client-go does for one that may have been revoked before it expired."""
    _credentials.forget(_key(exec_config, _told(exec_config, cluster)))


def _key(exec_config: dict, told: dict | None) -> str:
    return hashlib.sha256(json.dumps([exec_config, told], sort_keys=True).encode()).hexdigest()


def _told(exec_config: dict, cluster: dict | None) -> dict | None:
    """The cluster as an ExecCredential's ``spec.cluster`` gives it (the kubeconfig's field names, and
    the ``config`` of its ``client.authentication.k8s.io/exec`` extension), when the entry asks for it."""
    if not exec_config.get("provideClusterInfo"):
        return None
    cluster = cluster or {}
    fields = ("server", "tls-server-name", "insecure-skip-tls-verify", "certificate-authority-data", "proxy-url")
    info = {name: cluster[name] for name in fields if name in cluster}
    for extension in cluster.get("extensions") or []:
        if extension.get("name") == "client.authentication.k8s.io/exec":
            info["config"] = extension.get("extension")
    return info


def _run(exec_config: dict, cluster: dict | None, what: str) -> dict:
    command = exec_config.get("command")
    if not command or not exec_config.get("apiVersion"):
        raise KubeconfigError(f"{what}: the kubeconfig's exec entry needs a command and an apiVersion")
    args = [str(arg) for arg in exec_config.get("args") or []]
    plugin = None if exec_config.get("env") else _in_process(command)
    if plugin is not None:
        try:
            return plugin(args)
        except Exception as exc:  # the plugin's own failure: its message says what and why
            raise KubeconfigError(f"{what}: the credential plugin {command} failed: {exc}") from exc
    env = {**os.environ, **{item["name"]: str(item["value"]) for item in exec_config.get("env") or []}}
    info = {"apiVersion": exec_config["apiVersion"], "kind": "ExecCredential", "spec": {"interactive": False}}
    if cluster is not None:
        info["spec"]["cluster"] = cluster
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)
    try:
        done = subprocess.run(
            [command, *args], env=env, capture_output=True, text=True, timeout=PLUGIN_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KubeconfigError(f"{what}: the credential plugin {command} could not be run ({exc})") from exc
    if done.returncode != 0:
        said = done.stderr.strip()
        raise KubeconfigError(
            f"{what}: the credential plugin {command} exited with {done.returncode}" + (f": {said}" if said else "")
        )
    try:
        return json.loads(done.stdout)
    except ValueError as exc:  # the output may hold a credential: not repeated in the message
        raise KubeconfigError(f"{what}: the credential plugin {command} printed no ExecCredential JSON") from exc


def _in_process(command: str) -> Plugin | None:
    """The function an installed distribution declares for ``command``, looked up once per command."""

    def lookup() -> Plugin | None:
        found = entry_points(group=IN_PROCESS_GROUP, name=command)
        return next(iter(found)).load() if found else None

    return _plugins.get(command, lookup)


def _parsed(document: dict, exec_config: dict, what: str) -> Credential:
    status = document.get("status") if isinstance(document, dict) else None
    if not isinstance(status, dict) or document.get("kind") != "ExecCredential":
        raise KubeconfigError(f"{what}: the credential plugin's answer is not an ExecCredential with a status")
    if document.get("apiVersion") != exec_config["apiVersion"]:
        raise KubeconfigError(
            f"{what}: the credential plugin answered in {document.get('apiVersion')}, "
            f"not the kubeconfig's {exec_config['apiVersion']}"
        )
    if not status.get("token") and not (status.get("clientCertificateData") and status.get("clientKeyData")):
        raise KubeconfigError(f"{what}: the credential plugin gave neither a token nor a client certificate and key")
    expires = status.get("expirationTimestamp")
    try:
        expiry = datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None
    except (AttributeError, ValueError) as exc:
        raise KubeconfigError(f"{what}: the credential plugin's expirationTimestamp {expires!r} is not a time") from exc
    if expiry is not None and expiry.tzinfo is None:  # RFC 3339 says UTC when no offset is written
        expiry = expiry.replace(tzinfo=UTC)
    return Credential(status, expiry)


def _now() -> datetime:
    return datetime.now(UTC)
