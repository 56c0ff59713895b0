"""Object metadata helpers: timestamps, UIDs, generated names and name validation rules."""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
import uuid

from . import errors

# Fields of ``metadata`` owned by the server: clients may send them but never set them.
SYSTEM_FIELDS = (
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "managedFields",
    "resourceVersion",
    "selfLink",
)

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

# Characters the API server uses for generateName suffixes (no vowels, no look-alikes).
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> str:
    """RFC 3339 UTC timestamp at second precision, as metav1.Time serialises."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uid() -> str:
    return str(uuid.uuid4())


def generated_name(prefix: str, rng: random.Random) -> str:
    return prefix[:58] + "".join(rng.choice(_SUFFIX_ALPHABET) for _ in range(5))


def name_problems(rule: str, name: str) -> list[str]:
    """Why ``name`` breaks ``rule`` (empty list when valid).

    Rules: ``subdomain`` (DNS-1123 subdomain, most kinds), ``label`` (DNS-1123 label, namespaces),
    ``dns1035`` (services: must start with a letter), ``path`` (RBAC objects: anything usable as
    a URL path segment).
    """
    if rule == "path":
        if name in (".", ".."):
            return [f"may not be '{name}'"]
        return [f"may not contain '{c}'" for c in "/%" if c in name]
    limit, pattern, what = {
        "subdomain": (
            253,
            _SUBDOMAIN,
            "a lowercase RFC 1123 subdomain of lower case alphanumerics, "
            "'-' and '.', starting and ending with an alphanumeric",
        ),
        "label": (
            63,
            _LABEL,
            "a lowercase RFC 1123 label of lower case alphanumerics and '-', starting and ending with an alphanumeric",
        ),
        "dns1035": (
            63,
            _DNS1035,
            "a DNS-1035 label of lower case alphanumerics and '-', starting "
            "with a letter and ending with an alphanumeric",
        ),
    }[rule]
    problems = []
    if len(name) > limit:
        problems.append(f"must be no more than {limit} characters")
    if not pattern.match(name):
        problems.append(f"must be {what} (regex used for validation is '{pattern.pattern[1:-1]}')")
    return problems


def check_name(rule: str, kind: str, group: str, name: str) -> None:
    problems = name_problems(rule, name)
    if problems:
        raise errors.invalid(kind, group, name, [errors.field_invalid("metadata.name", name, p) for p in problems])


_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _key_ok(key: str) -> bool:
    """Label/annotation keys: an optional DNS subdomain prefix and '/', then a qualified name."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and _QUALIFIED_NAME.match(name) is not None


def label_causes(meta: dict) -> list[dict]:
    """422 causes for malformed labels and annotation keys."""
    causes = []
    for key, value in (meta.get("labels") or {}).items():
        if not _key_ok(key):
            causes.append(
                errors.field_invalid(
                    "metadata.labels",
                    key,
                    "name part must consist of alphanumerics, '-', '_' or '.', at most 63 characters",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(
                errors.field_invalid(
                    "metadata.labels",
                    value,
                    "a valid label value must "
                    "be at most 63 alphanumerics, '-', '_' or '.', "
                    "starting and ending with an alphanumeric",
                )
            )
    for key, value in (meta.get("annotations") or {}).items():
        if not _key_ok(key):
            causes.append(
                errors.field_invalid(
                    "metadata.annotations", key, "name part must consist of alphanumerics, '-', '_' or '.'"
                )
            )
        if not isinstance(value, str):
            causes.append(errors.field_invalid(f"metadata.annotations[{key}]", value, "must be a string"))
    return causes


def metadata(obj: dict) -> dict:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    return meta


def finalizers(obj: dict) -> list[str]:
    return list(obj.get("metadata", {}).get("finalizers") or [])


def is_deleting(obj: dict) -> bool:
    return bool(obj.get("metadata", {}).get("deletionTimestamp"))


def without_volatile(obj: dict) -> dict:
    """A copy without what changes on every write (resourceVersion, managedFields times), to
    detect no-op updates, which the API server answers without a new resourceVersion."""
    clone = copy.deepcopy(obj)
    clone.get("metadata", {}).pop("resourceVersion", None)
    for entry in clone.get("metadata", {}).get("managedFields") or []:
        entry.pop("time", None)
    return clone
