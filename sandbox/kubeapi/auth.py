"""Authentication (who is calling) and RBAC authorization (may they do it).

Credentials, tried in order: static bearer tokens, service-account JWTs, extra token checkers
registered by other emulators (e.g. an EKS-style token webhook), then a TLS client certificate
signed by the cluster CA (CN = user, O = groups). A request without credentials is anonymous;
a bad bearer token is 401.

Authorization follows RBAC: ``system:masters`` may do anything; otherwise a request is allowed
when a ClusterRoleBinding (anywhere) or a RoleBinding (in the request's namespace) binds the
user, one of its groups or its ServiceAccount to a (Cluster)Role with a matching rule
(``apiGroups``/``resources``/``verbs``/``resourceNames``, ``*`` wildcards, ``*/<sub>``,
``nonResourceURLs`` with a trailing ``*``). Aggregated ClusterRoles and escalation checks are
not emulated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from . import errors
from .satokens import ServiceAccountTokens
from .store import Store
from .users import AUTHENTICATED, StaticUsers, UserInfo

TokenChecker = Callable[[str], "UserInfo | None"]
_RBAC = "rbac.authorization.k8s.io"


class Authenticator:
    def __init__(self, static: StaticUsers, sa_tokens: ServiceAccountTokens):
        self.static = static
        self.sa_tokens = sa_tokens
        self.checkers: list[TokenChecker] = []

    def authenticate(self, authorization: str | None, client_cert_der: bytes | None) -> UserInfo | None:
        """The caller, None for an anonymous request; raises 401 for invalid credentials."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise errors.unauthorized()
            user = self.static.lookup(token) or self.sa_tokens.authenticate(token)
            for checker in self.checkers:
                user = user or checker(token)
            if user is None:
                raise errors.unauthorized()
            return user
        if client_cert_der:
            subject = x509.load_der_x509_certificate(client_cert_der).subject
            names = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            groups = tuple(a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
            if names:
                return UserInfo(names[0].value, groups + (AUTHENTICATED,))
        return None


@dataclass(frozen=True)
class Attributes:
    """What a request wants to do, in RBAC terms."""

    verb: str
    namespace: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""  # set for non-resource requests (``/version``, ``/apis`` ...)


def _rule_allows(rule: dict, a: Attributes) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and a.verb not in verbs:
        return False
    if not a.resource:
        return any(
            u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1]))
            for u in rule.get("nonResourceURLs") or []
        )
    groups = rule.get("apiGroups") or []
    if "*" not in groups and a.group not in groups:
        return False
    combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    if not any(
        r in ("*", combined) or (a.subresource and r == f"*/{a.subresource}") for r in rule.get("resources") or []
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or a.name in names


def binds(binding: dict, user: UserInfo) -> bool:
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount":
            ns = subject.get("namespace") or binding["metadata"].get("namespace", "")
            if user.name == f"system:serviceaccount:{ns}:{name}":
                return True
    return False


class Authorizer:
    def __init__(self, store: Store):
        self.store = store

    def allowed(self, user: UserInfo, a: Attributes) -> bool:
        if user.is_master:
            return True
        with self.store.lock:
            for binding in self.store.objects((_RBAC, "clusterrolebindings")):
                if binds(binding, user) and self._grants(binding, "", a):
                    return True
            if a.namespace and a.resource:
                for binding in self.store.objects((_RBAC, "rolebindings"), a.namespace):
                    if binds(binding, user) and self._grants(binding, a.namespace, a):
                        return True
        return False

    def _grants(self, binding: dict, namespace: str, a: Attributes) -> bool:
        ref = binding.get("roleRef") or {}
        if ref.get("kind") == "ClusterRole":
            role = self.store.get((_RBAC, "clusterroles"), "", ref.get("name", ""))
        else:
            role = self.store.get((_RBAC, "roles"), namespace, ref.get("name", ""))
        return any(_rule_allows(rule, a) for rule in (role or {}).get("rules") or [])

    def check(self, user: UserInfo, a: Attributes) -> None:
        if not self.allowed(user, a):
            raise forbidden(user, a)


def forbidden(user: UserInfo, a: Attributes) -> errors.ApiError:
    if not a.resource:
        return errors.forbidden(f'forbidden: User "{user.name}" cannot {a.verb} path "{a.path}"')
    combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
    target = errors.qualified(a.resource, a.group) + (f' "{a.name}"' if a.name else "")
    scope = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    return errors.forbidden(
        f'{target} is forbidden: User "{user.name}" cannot {a.verb} resource '
        f'"{combined}" in API group "{a.group}" {scope}',
        resource=a.resource,
        group=a.group,
        name=a.name or None,
    )
