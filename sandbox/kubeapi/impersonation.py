"""Impersonation headers (``kubectl --as``/``--as-group``/``--as-uid``), as the API server's filter.

The caller must be allowed the ``impersonate`` verb on each thing it asks for: ``users`` (or
``serviceaccounts`` in the account's namespace for ``system:serviceaccount:<ns>:<name>``),
``groups``, ``uids`` and ``userextras/<key>``, all in the core group. The request then runs as
the impersonated user: the given groups plus ``system:authenticated`` (a service account without
groups gets its ``system:serviceaccounts`` groups). Groups without a user are refused.
"""

from __future__ import annotations

from . import errors
from .auth import Attributes
from .users import AUTHENTICATED, UserInfo

USER = "impersonate-user"
GROUP = "impersonate-group"
UID = "impersonate-uid"
EXTRA = "impersonate-extra-"
_SA_PREFIX = "system:serviceaccount:"


def _values(header: str | None) -> list[str]:
    return [v.strip() for v in (header or "").split(",") if v.strip()]


def impersonated(authorizer, caller: UserInfo, headers: dict[str, str]) -> UserInfo:
    """The user a request runs as: ``caller``, or whom its headers name once allowed."""
    name = headers.get(USER, "")
    groups = _values(headers.get(GROUP))
    uid = headers.get(UID, "")
    extra = {k[len(EXTRA) :]: _values(v) for k, v in headers.items() if k.startswith(EXTRA)}
    if not name:
        if groups or uid or extra:
            raise errors.internal_error("requested impersonation of groups, uid or extra without a user")
        return caller
    if name.startswith(_SA_PREFIX) and name.count(":") == 3:
        namespace, account = name[len(_SA_PREFIX) :].split(":")
        wanted = [Attributes("impersonate", namespace, "", "serviceaccounts", "", account)]
        if not groups:
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    else:
        wanted = [Attributes("impersonate", "", "", "users", "", name)]
    wanted += [Attributes("impersonate", "", "", "groups", "", g) for g in groups]
    if uid:
        wanted.append(Attributes("impersonate", "", "", "uids", "", uid))
    for key, values in extra.items():
        wanted += [Attributes("impersonate", "", "", "userextras", key, v) for v in values]
    for attrs in wanted:
        authorizer.check(caller, attrs)
    if name != "system:anonymous" and AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return UserInfo(name, tuple(groups), uid, extra)
