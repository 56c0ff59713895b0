"""Kubeconfig parsing (from YAML text, a dict or a file) and rendering of token kubeconfigs.

The single parser for the engine's Kubernetes provider and for fleetform's providers: resolve a
context (the given one, else ``current-context``, else the only one), its cluster entry, user entry
and default namespace, with an error that names what is missing. Providers are handed the same
kubeconfig text for every call, so each text is parsed once per process (kept by its digest).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import yaml_text
from .errors import KubeconfigError
from .memo import Memo

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Context:
    """One resolved context of a kubeconfig."""

    name: str
    cluster: dict  # the cluster entry's ``cluster`` mapping: server, certificate-authority-data, ...
    user: dict  # the user entry's ``user`` mapping (empty when the context names no user)
    namespace: str

    @property
    def server(self) -> str:
        return self.cluster.get("server", "")

    @property
    def ca_data(self) -> str:
        """Base64 PEM of the API server CA, as a kubeconfig embeds it ("" when absent)."""
        return self.cluster.get("certificate-authority-data", "")


_parses: Memo[dict] = Memo()  # sha256 of a kubeconfig's YAML text -> its parse


@dataclass(frozen=True)
class Kubeconfig:
    """A parsed kubeconfig; ``what`` names it in error messages (e.g. the cluster it is for).
    ``data`` may be shared with other loads of the same text: read it, never change it."""

    data: dict
    what: str = "kubeconfig"

    @classmethod
    def load(cls, source: str | dict | os.PathLike, what: str = "kubeconfig") -> Kubeconfig:
        """From a dict, YAML text, or a path (a ``PathLike``, or a one-line string naming a file)."""
        if isinstance(source, dict):
            return cls._checked(source, what)
        if isinstance(source, os.PathLike) or _names_a_file(source):
            try:
                source = Path(source).read_text()
            except OSError as exc:
                raise KubeconfigError(f"{what}: the kubeconfig file cannot be read ({exc})") from exc
        digest = hashlib.sha256(source.encode()).hexdigest()
        return cls(_parses.get(digest, lambda: cls._checked(_yaml(source, what), what).data), what)

    @classmethod
    def from_default_location(cls, what: str = "kubeconfig") -> Kubeconfig:
        """The first file of ``$KUBECONFIG``, else ``~/.kube/config`` (as kubectl looks)."""
        path = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or str(Path.home() / ".kube" / "config")
        return cls.load(Path(path), what)

    @classmethod
    def _checked(cls, data, what: str) -> Kubeconfig:
        if not isinstance(data, dict):
            raise KubeconfigError(f"{what}: the kubeconfig is not a YAML mapping")
        if not data.get("clusters"):
            raise KubeconfigError(f"{what}: the kubeconfig names no cluster")
        return cls(data, what)

    def context(self, name: str | None = None) -> Context:
        """The context ``name``, else ``current-context``, else the only context there is."""
        contexts = {entry.get("name"): entry.get("context") or {} for entry in self.data.get("contexts") or []}
        wanted = name or self.data.get("current-context")
        if not wanted:
            if len(contexts) != 1:
                raise KubeconfigError(
                    f"{self.what}: the kubeconfig has no current-context; name one of its "
                    f"contexts ({', '.join(map(str, contexts)) or 'none'})"
                )
            (wanted,) = contexts
        if wanted not in contexts:
            raise KubeconfigError(
                f"{self.what}: the kubeconfig has no context '{wanted}' "
                f"(contexts: {', '.join(map(str, contexts)) or 'none'})"
            )
        entry = contexts[wanted]
        cluster = self._entry("clusters", "cluster", entry.get("cluster"), wanted)
        user = self._entry("users", "user", entry["user"], wanted) if entry.get("user") else {}
        return Context(wanted, cluster, user, entry.get("namespace") or DEFAULT_NAMESPACE)

    def with_user(self, context: str, user: dict) -> Kubeconfig:
        """A copy in which context ``context`` authenticates as ``user`` (a user entry's mapping)."""
        entry = next(item.get("context") or {} for item in self.data["contexts"] if item.get("name") == context)
        users = [item for item in self.data.get("users") or [] if item.get("name") != entry["user"]]
        return Kubeconfig({**self.data, "users": [*users, {"name": entry["user"], "user": user}]}, self.what)

    def _entry(self, section: str, key: str, name: str | None, context: str) -> dict:
        for item in self.data.get(section) or []:
            if item.get("name") == name:
                return item.get(key) or {}
        raise KubeconfigError(f"{self.what}: context '{context}' names {key} '{name}', which the kubeconfig lacks")


def _yaml(text: str, what: str) -> object:
    try:
        return yaml_text.load(text)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"{what}: the kubeconfig is not valid YAML ({exc})") from exc


def _names_a_file(text: str) -> bool:
    """Whether one-line ``text`` is the path of an existing file (YAML text never is)."""
    if not text or "\n" in text:
        return False
    try:
        return Path(text).is_file()
    except OSError:  # e.g. a one-line JSON kubeconfig longer than a file name may be
        return False


def render_token_kubeconfig(name: str, server: str, ca_data: str, token: str) -> str:
    """A bearer-token kubeconfig, rendered deterministically (fixed keys and order) so that it only
    changes when the server, CA or token really change."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return yaml_text.dump(document)
