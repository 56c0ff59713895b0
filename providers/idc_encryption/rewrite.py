"""Phase 5: every object of the configured resources written back unchanged (DOMAIN §7.3, the equivalent of
``kubectl get secrets -A -o json | kubectl replace -f -``), so that each API server stores it again with the new
write key. An unchanged write is not a no-op here: the API server's storage rewrites a value that its first
provider did not write (upstream marks it *stale*).

Resource names are upstream's: ``secrets`` (core group), ``<plural>.<group>``, ``*.<group>``, ``*.`` (every
core resource) and ``*.*``; they are resolved through discovery. Lists are paged; a conflict re-reads the
object and writes again; an object deleted meanwhile is skipped.
"""

from __future__ import annotations

from urllib.parse import quote

from ..errors import ErrorCode
from .apiserver import ApiServer
from .errors import IdcEncryptionError

PAGE = 500
CONFLICT_RETRIES = 5


def _matches(pattern: str, group: str, plural: str) -> bool:
    name, _, pattern_group = pattern.partition(".")
    if name == "*":
        return pattern_group in ("*", group)
    return name == plural and pattern_group == group


def resolve(api: ApiServer, resources: tuple[str, ...]) -> list[tuple[str, str, str, bool]]:
    """``(base path, plural, apiVersion, namespaced)`` of each served resource the names cover, that can be
    listed and updated."""
    versions = [("", "v1", "/api/v1")]
    for group in api.call("GET", "/apis")[1].get("groups") or []:
        preferred = group["preferredVersion"]["version"]
        versions.append((group["name"], preferred, f"/apis/{group['name']}/{preferred}"))
    found = []
    for group, version, base in versions:
        if not any(pattern.partition(".")[2] in ("*", group) for pattern in resources):
            continue
        for resource in api.call("GET", base)[1].get("resources") or []:
            plural, verbs = resource["name"], set(resource.get("verbs") or ())
            if "/" in plural or not {"list", "update"} <= verbs:
                continue
            if any(_matches(pattern, group, plural) for pattern in resources):
                api_version = f"{group}/{version}" if group else version
                found.append((base, plural, api_version, bool(resource.get("namespaced"))))
    return found


def rewrite(api: ApiServer, resources: tuple[str, ...]) -> int:
    """Write back every object; returns how many. Raises FF-ENC-031 naming the objects that failed."""
    count, failures = 0, []
    for base, plural, api_version, namespaced in resolve(api, resources):
        kind, token = None, ""
        while True:
            _, page = api.call(
                "GET", f"{base}/{plural}", query={"limit": PAGE, **({"continue": token} if token else {})}
            )
            kind = kind or (page.get("kind") or "").removesuffix("List")
            for item in page.get("items") or []:
                metadata = item["metadata"]
                path = base + (f"/namespaces/{quote(metadata['namespace'])}" if namespaced else "")
                path += f"/{plural}/{quote(metadata['name'])}"
                error = _write_back(api, path, {**item, "apiVersion": api_version, "kind": kind})
                if error:
                    failures.append(f"{path}: {error}")
                else:
                    count += 1
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                break
    if failures:
        shown = "; ".join(failures[:5]) + (f" and {len(failures) - 5} more" if len(failures) > 5 else "")
        raise IdcEncryptionError(
            ErrorCode.ENC_PHASE_FAILED, f"{api.cluster}: {len(failures)} object(s) could not be rewritten: {shown}"
        )
    return count


def _write_back(api: ApiServer, path: str, obj: dict) -> str:
    """ "" when written (or gone meanwhile), else why not."""
    for _ in range(CONFLICT_RETRIES):
        status, answer = api.call("PUT", path, obj, ok=(200, 201, 404, 409, 422))
        if status in (200, 201, 404):
            return ""
        if status == 422:
            return answer.get("message", "invalid")
        status, fresh = api.call("GET", path, ok=(200, 404))
        if status == 404:
            return ""
        obj = {**fresh, "apiVersion": obj["apiVersion"], "kind": obj["kind"]}
    return f"still conflicting after {CONFLICT_RETRIES} attempts"
