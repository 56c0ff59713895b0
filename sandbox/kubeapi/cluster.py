"""One virtual cluster: its state, its credentials, its HTTPS endpoint and its fault knobs."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable

import yaml

from ..ports import PortClaims
from . import bootstrap, crd, discovery
from .auth import Authenticator, Authorizer, TokenChecker
from .controlplane import ControlPlane
from .encryption import AtRest
from .faults import Faults, FaultSettings
from .httpserver import HttpServer
from .kubelet import Kubelets
from .objectapi import ObjectApi
from .operations import Operations
from .pki import ClusterPki
from .resources import Registry
from .rest import RestApi
from .rules import KindRules
from .satokens import ServiceAccountTokens
from .signer import Signer
from .store import Store
from .users import MASTERS, StaticUsers

_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

log = logging.getLogger("sandbox.kubeapi")

_CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,40}[a-z0-9])?$")
_CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")


class VirtualCluster:
    """A Kubernetes API server of its own: URL, CA, tokens, version, objects.

    Created by :meth:`KubeApiEmulator.add_cluster`; use :attr:`objects` for in-process access,
    :meth:`kubeconfig` for clients, :meth:`set_faults` / :meth:`set_reachable` for fault tests.
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        port: int = 0,
        pki: ClusterPki | None = None,
        users: StaticUsers | None = None,
        nodes: int = 1,
        simulate_workloads: bool = True,
        seed: int = 0,
        state: dict | None = None,
        reachable: bool = True,
        claims: PortClaims | None = None,
        at_rest: dict | None = None,
    ):
        if not _CLUSTER_NAME.match(name):
            raise ValueError(f"cluster name {name!r} must be a DNS label of at most 42 characters")
        self.name = name
        self.version = version
        self.nodes = nodes
        self._minor = discovery.parse_version(version)[1]
        self.pki = pki or ClusterPki.generate(name)
        self.users = users or StaticUsers()
        self.store = Store()
        self.registry = Registry(self._minor)
        self.ops = Operations(self.store, KindRules(self.store, self.registry), seed)
        self.sa_tokens = ServiceAccountTokens(Signer(self.pki.sa_private_key()), self.store, self.pki.ca_cert)
        self.authenticator = Authenticator(self.users, self.sa_tokens)
        self.authorizer = Authorizer(self.store)
        self.faults = Faults(seed)
        self.objects = ObjectApi(self.store, self.registry, self.ops)
        self.at_rest = AtRest(self, at_rest)  # hosts bound by sandbox/nodes; none: everything is stored plain
        self.kubelets = Kubelets(self)  # pods on those hosts' nodes run, and take exec
        self.control_plane = ControlPlane(self, simulate_workloads)
        self._http = HttpServer(RestApi(self), self.pki.server_context(), port, name, claims)
        self._reachable = reachable
        self._running = False
        # called with the store's Change after each write, with None after any other change of what the cluster is
        self.on_change: Callable[..., None] = lambda change=None: None
        self.store.on_change = lambda change: self.on_change(change)
        self._http.bind()  # claims the port (or fails) even when unreachable ...
        if not reachable:
            self._http.close()  # ... but an unreachable cluster refuses connections
        if state is None:
            self.users.add("admin", (MASTERS,))
            self._bootstrap()
        else:
            self.store.load(state)
            for definition in self.store.objects(_CRD_KEY):
                self.registry.set_custom(definition["metadata"]["name"], crd.served_types(definition))

    def _bootstrap(self) -> None:
        for obj in bootstrap.default_objects(self.name, self.version, self.port, self.nodes):
            rt = self.objects.resource_type(obj["apiVersion"], obj["kind"])
            ns = obj["metadata"].get("namespace", "")
            created = self.ops.create(rt, ns, obj, manager=bootstrap.MANAGER)
            if rt.status and "status" in obj:
                self.ops.replace(
                    rt,
                    ns,
                    created["metadata"]["name"],
                    {**created, "status": obj["status"]},
                    subresource="status",
                    manager=bootstrap.MANAGER,
                )

    # --- identity -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_pem(self) -> str:
        return self.pki.ca_cert

    @property
    def kube_system_uid(self) -> str:
        return self.store.get(("", "namespaces"), "", "kube-system")["metadata"]["uid"]

    # --- credentials ----------------------------------------------------------------------------

    def add_user(self, name: str, groups=(), token: str | None = None) -> str:
        """Accept a new static bearer token for ``name``/``groups``; returns the token."""
        token = self.users.add(name, groups, token)
        self.on_change()
        return token

    def remove_user(self, name: str) -> None:
        self.users.remove(name)
        self.on_change()

    def revoke_token(self, token: str) -> None:
        self.users.revoke(token)
        self.on_change()

    def token(self, user: str = "admin") -> str:
        return self.users.token_for(user)

    def add_token_checker(self, checker: TokenChecker) -> None:
        """Accept bearer tokens another emulator vouches for (``checker(token) -> UserInfo|None``),
        like a webhook token authenticator. Not persisted: register it again after a restart."""
        self.authenticator.checkers.append(checker)

    def client_certificate(self, user: str, groups=()) -> tuple[str, str]:
        """``(cert_pem, key_pem)`` for a client certificate that authenticates as user/groups."""
        return self.pki.client_certificate(user, groups)

    def kubeconfig_dict(
        self,
        user: str = "admin",
        *,
        token: str | None = None,
        client_certificate: tuple[str, str] | None = None,
        namespace: str | None = None,
    ) -> dict:
        """A kubeconfig for this cluster with the CA embedded. Credentials: the static token of
        ``user`` by default, or the given bearer ``token``, or a ``(cert, key)`` pair."""
        if client_certificate:
            credentials = {
                "client-certificate-data": _b64(client_certificate[0]),
                "client-key-data": _b64(client_certificate[1]),
            }
        else:
            credentials = {"token": token or self.token(user)}
        context = {"cluster": self.name, "user": f"{self.name}-{user}"}
        if namespace:
            context["namespace"] = namespace
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [
                {
                    "name": self.name,
                    "cluster": {"server": self.url, "certificate-authority-data": _b64(self.pki.ca_cert)},
                }
            ],
            "users": [{"name": f"{self.name}-{user}", "user": credentials}],
            "contexts": [{"name": self.name, "context": context}],
            "current-context": self.name,
        }

    def kubeconfig(self, user: str = "admin", **kwargs) -> str:
        """The kubeconfig as YAML, written by libyaml where PyYAML has it (a run asks for every cluster's)."""
        return yaml.dump(self.kubeconfig_dict(user, **kwargs), Dumper=_YAML_DUMPER, sort_keys=False)

    # --- faults ---------------------------------------------------------------------------------

    def set_faults(self, **settings) -> FaultSettings:
        """Set ``latency``, ``error_rate``, ``throttle_rate``, ``retry_after``, ``error_codes``."""
        settings = self.faults.configure(**settings)
        self.on_change()  # controllers that probe this cluster look again
        return settings

    def reset_faults(self) -> None:
        self.faults.reset()
        self.on_change()

    @property
    def reachable(self) -> bool:
        return self._reachable

    def set_reachable(self, reachable: bool) -> None:
        """False closes the listener and every connection (clients get connection refused).
        Persisted: a cluster restored from a data directory keeps its reachability."""
        changed, self._reachable = reachable != self._reachable, reachable
        if not reachable:
            self._http.close()
        elif self._running:
            self._http.serve()
        if changed:
            self.on_change()

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self.control_plane.start()
        self.at_rest.start()
        if self._reachable:
            self._http.serve()

    def stop(self) -> None:
        self._running = False
        self._http.close()  # open watch streams notice the dropped connection and end
        self.control_plane.stop()
        self.at_rest.stop()

    def state_json(self) -> str:
        """What a data directory keeps of this cluster (:meth:`from_state` reads it back), as JSON;
        the store encodes again only the objects written since the last save."""
        head = {
            "format": 1,
            "name": self.name,
            "version": self.version,
            "port": self.port,
            "nodes": self.nodes,
            "simulate_workloads": self.control_plane.simulate_workloads,
            "reachable": self._reachable,
            "pki": self.pki.dump(),
            "users": self.users.dump(),
            "at_rest": self.at_rest.dump(),
        }
        fields = [f"{json.dumps(key)}: {json.dumps(value)}" for key, value in head.items()]
        return "{" + ", ".join([*fields, f'"store": {self.store.dump_json()}']) + "}"

    @classmethod
    def from_state(cls, state: dict, seed: int = 0, claims: PortClaims | None = None) -> VirtualCluster:
        kwargs = dict(
            pki=ClusterPki(**state["pki"]),
            users=StaticUsers(state["users"]),
            nodes=state["nodes"],
            simulate_workloads=state["simulate_workloads"],
            seed=seed,
            state=state["store"],
            reachable=state.get("reachable", True),
            claims=claims,
            at_rest=state.get("at_rest"),
        )  # reachable, at_rest: absent from files written before they were kept
        try:
            return cls(state["name"], state["version"], port=state["port"], **kwargs)
        except OSError as exc:
            log.warning("cluster %s: port %s is taken (%s); using a new port", state["name"], state["port"], exc)
            return cls(state["name"], state["version"], port=0, **kwargs)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
