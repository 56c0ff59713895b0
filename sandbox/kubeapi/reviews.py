"""Create-only review objects, answered and never stored: who am I, may I, what may I, whose token.

* ``SelfSubjectReview`` (``kubectl auth whoami``): the caller's user info.
* ``TokenReview``: authenticates ``spec.token`` with the cluster's own authenticator.
* ``SelfSubjectAccessReview`` / ``SubjectAccessReview`` / ``LocalSubjectAccessReview``
  (``kubectl auth can-i``): the RBAC decision for the described request.
* ``SelfSubjectRulesReview`` (``kubectl auth can-i --list``): the rules bound to the caller in
  a namespace (cluster-wide bindings included), ``incomplete: false``; ``system:masters``
  shows as the ``*`` rules its group grants.

Not emulated: token audiences (a TokenReview's ``audiences`` are echoed), the ``extra`` and
selector attributes of access reviews.
"""

from __future__ import annotations

from . import errors
from .auth import Attributes, binds
from .users import UserInfo

_RBAC = "rbac.authorization.k8s.io"


def _answer(rt, spec: dict | None, status: dict) -> dict:
    doc = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"creationTimestamp": None}, "status": status}
    if spec is not None:
        doc["spec"] = spec
    return doc


def user_info(user: UserInfo) -> dict:
    info = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    if user.extra:
        info["extra"] = user.extra
    return info


def review(cluster, user: UserInfo, rt, namespace: str, body: dict) -> dict:
    """The answer to a review of kind ``rt.kind`` posted by ``user``."""
    spec = body.get("spec") or {}
    if rt.kind == "SelfSubjectReview":
        return _answer(rt, None, {"userInfo": user_info(user)})
    if rt.kind == "TokenReview":
        return _answer(rt, spec, _token_status(cluster, spec))
    if rt.kind == "SelfSubjectRulesReview":
        if not spec.get("namespace"):
            raise errors.invalid(rt.kind, rt.group, "", [errors.field_required("spec.namespace")])
        return _answer(rt, spec, rules_status(cluster, user, spec["namespace"]))
    subject = user
    if rt.kind in ("SubjectAccessReview", "LocalSubjectAccessReview"):
        if not spec.get("user") and not spec.get("groups"):
            raise errors.invalid(
                rt.kind,
                rt.group,
                "",
                [errors.field_required("spec.user", "at least one of user or group must be specified")],
            )
        subject = UserInfo(spec.get("user", ""), tuple(spec.get("groups") or ()), spec.get("uid", ""))
    attrs = _attributes(rt, spec, namespace)
    return _answer(rt, spec, {"allowed": cluster.authorizer.allowed(subject, attrs)})


def _attributes(rt, spec: dict, namespace: str) -> Attributes:
    res, non_res = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if bool(res) == bool(non_res):
        raise errors.invalid(
            rt.kind,
            rt.group,
            "",
            [
                errors.field_invalid(
                    "spec.resourceAttributes",
                    res,
                    "exactly one of nonResourceAttributes or resourceAttributes must be specified",
                )
            ],
        )
    if non_res:
        return Attributes(non_res.get("verb", ""), path=non_res.get("path", ""))
    if rt.kind == "LocalSubjectAccessReview" and res.get("namespace", namespace) != namespace:
        raise errors.invalid(
            rt.kind,
            rt.group,
            "",
            [
                errors.field_invalid(
                    "spec.resourceAttributes.namespace", res.get("namespace"), "must match metadata.namespace"
                )
            ],
        )
    return Attributes(
        res.get("verb", ""),
        res.get("namespace", namespace),
        res.get("group", ""),
        res.get("resource", ""),
        res.get("subresource", ""),
        res.get("name", ""),
    )


def _token_status(cluster, spec: dict) -> dict:
    token = spec.get("token") or ""
    try:
        user = cluster.authenticator.authenticate(f"Bearer {token}", None) if token else None
    except errors.ApiError:
        user = None
    if user is None:
        return {"authenticated": False, "error": "invalid bearer token", "user": {}}
    status = {"authenticated": True, "user": user_info(user)}
    if spec.get("audiences"):
        status["audiences"] = list(spec["audiences"])
    return status


def rules_status(cluster, user: UserInfo, namespace: str) -> dict:
    resource_rules, non_resource_rules = [], []
    if user.is_master:
        resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
    store = cluster.store
    with store.lock:
        bindings = [(b, "") for b in store.objects((_RBAC, "clusterrolebindings"))]
        bindings += [(b, namespace) for b in store.objects((_RBAC, "rolebindings"), namespace)]
        for binding, ns in bindings:
            if not binds(binding, user):
                continue
            ref = binding.get("roleRef") or {}
            key = (_RBAC, "clusterroles") if ref.get("kind") == "ClusterRole" else (_RBAC, "roles")
            role = store.get(key, "" if key[1] == "clusterroles" else ns, ref.get("name", ""))
            for rule in (role or {}).get("rules") or []:
                if rule.get("nonResourceURLs"):
                    if not ns:  # non-resource rules only count from cluster-wide bindings
                        non_resource_rules.append({"verbs": rule["verbs"], "nonResourceURLs": rule["nonResourceURLs"]})
                    continue
                entry = {k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
                resource_rules.append(entry)
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
