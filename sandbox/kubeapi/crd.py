"""CustomResourceDefinitions: validation, defaulting, status conditions, served types.

The emulator establishes a CRD as soon as it is stored (``NamesAccepted`` and ``Established``
are True in the create response), so its kinds are servable and discoverable right away. Name
conflicts between CRDs are not detected. ``spec.group``, ``spec.scope`` and
``spec.names.plural``/``kind`` are immutable here (upstream only fixes group and scope), which
keeps the storage key of existing objects stable.
"""

from __future__ import annotations

from . import errors, meta
from .resources import SCALE, ResourceType, ScalePaths

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"


def _accepted_names(spec: dict) -> dict:
    names = dict(spec.get("names") or {})
    kind = names.get("kind", "")
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", f"{kind}List")
    return names


def causes(crd: dict, old: dict | None) -> list[dict]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    found = []
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    if not group:
        found.append(errors.field_required("spec.group"))
    elif "." not in group or meta.name_problems("subdomain", group):
        found.append(errors.field_invalid("spec.group", group, "should be a domain with at least one dot"))
    if not plural:
        found.append(errors.field_required("spec.names.plural"))
    elif meta.name_problems("label", plural):
        found.append(errors.field_invalid("spec.names.plural", plural, "must be a DNS-1123 label"))
    if not kind:
        found.append(errors.field_required("spec.names.kind"))
    if names.get("singular") and meta.name_problems("label", names["singular"]):
        found.append(errors.field_invalid("spec.names.singular", names["singular"], "must be a DNS-1123 label"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        found.append(errors.field_not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"]))
    name = crd.get("metadata", {}).get("name")
    if group and plural and name != f"{plural}.{group}":
        found.append(errors.field_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    found += _version_causes(spec.get("versions"))
    if old is not None:
        old_spec = old.get("spec") or {}
        for path, new_value, old_value in (
            ("spec.group", group, old_spec.get("group")),
            ("spec.scope", spec.get("scope"), old_spec.get("scope")),
            ("spec.names.plural", plural, (old_spec.get("names") or {}).get("plural")),
            ("spec.names.kind", kind, (old_spec.get("names") or {}).get("kind")),
        ):
            if new_value != old_value:
                found.append(errors.field_invalid(path, new_value, "field is immutable"))
    return found


def _version_causes(versions) -> list[dict]:
    if not versions or not isinstance(versions, list):
        return [errors.field_required("spec.versions", "must have at least one version")]
    found, seen = [], set()
    for n, version in enumerate(versions):
        vname = version.get("name", "")
        if vname in seen:
            found.append(errors.field_duplicate(f"spec.versions[{n}].name", vname))
        seen.add(vname)
        if meta.name_problems("dns1035", vname):
            found.append(errors.field_invalid(f"spec.versions[{n}].name", vname, "must be a DNS-1035 label"))
        if not isinstance((version.get("schema") or {}).get("openAPIV3Schema"), dict):
            found.append(errors.field_required(f"spec.versions[{n}].schema.openAPIV3Schema", "schemas are required"))
        found += _scale_causes(f"spec.versions[{n}].subresources.scale", (version.get("subresources") or {}))
    if sum(1 for v in versions if v.get("storage")) != 1:
        found.append(
            errors.field_invalid(
                "spec.versions", len(versions), "must have exactly one version marked as storage version"
            )
        )
    return found


# Where each scale path may point, as the API server checks it: a dotted path (no array index) under these roots.
_SCALE_ROOTS = {"specReplicasPath": (".spec.",), "statusReplicasPath": (".status.",)}
_SCALE_ROOTS["labelSelectorPath"] = (".spec.", ".status.")


def _scale_causes(where: str, subresources: dict) -> list[dict]:
    if "scale" not in subresources:
        return []
    scale = subresources["scale"] if isinstance(subresources["scale"], dict) else {}
    found = []
    for key, roots in _SCALE_ROOTS.items():
        path = scale.get(key)
        if path is None:
            if key != "labelSelectorPath":
                found.append(errors.field_required(f"{where}.{key}"))
        elif not isinstance(path, str) or not path.startswith(roots) or "[" in path or path.endswith("."):
            found.append(
                errors.field_invalid(f"{where}.{key}", path, f"should be a json path under {' or '.join(roots)}")
            )
    return found


def _condition(crd: dict, ctype: str, status: str, reason: str, message: str) -> None:
    conditions = crd.setdefault("status", {}).setdefault("conditions", [])
    current = next((c for c in conditions if c.get("type") == ctype), None)
    if current and current.get("status") == status:
        current.update(reason=reason, message=message)
        return
    fresh = {"type": ctype, "status": status, "lastTransitionTime": meta.now(), "reason": reason, "message": message}
    if current:
        conditions[conditions.index(current)] = fresh
    else:
        conditions.append(fresh)


def prepare(crd: dict) -> None:
    """Defaults and status after create or update (what the apiextensions controllers do)."""
    spec = crd.setdefault("spec", {})
    spec["names"] = _accepted_names(spec)
    spec.setdefault("conversion", {"strategy": "None"})
    if not meta.is_deleting(crd) and CLEANUP_FINALIZER not in meta.finalizers(crd):
        crd["metadata"]["finalizers"] = meta.finalizers(crd) + [CLEANUP_FINALIZER]
    status = crd.setdefault("status", {})
    status["acceptedNames"] = _accepted_names(spec)
    storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
    status["storedVersions"] = list(dict.fromkeys((status.get("storedVersions") or []) + [storage]))
    _condition(crd, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
    _condition(crd, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted")


def mark_terminating(crd: dict) -> None:
    _condition(crd, "Terminating", "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress")


def served_types(crd: dict) -> list[ResourceType]:
    spec = crd["spec"]
    names = _accepted_names(spec)
    return [
        ResourceType(
            group=spec["group"],
            version=v["name"],
            kind=names["kind"],
            plural=names["plural"],
            namespaced=spec["scope"] == "Namespaced",
            singular=names["singular"],
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()),
            status="status" in (v.get("subresources") or {}),
            generation=True,
            custom=True,
            list_kind=names["listKind"],
            schema=(v.get("schema") or {}).get("openAPIV3Schema"),
            printer_columns=tuple(v.get("additionalPrinterColumns") or ()),
            storage_version=bool(v.get("storage")),
            terminating=meta.is_deleting(crd),
            **_scale(v.get("subresources") or {}),
        )
        for v in spec["versions"]
        if v.get("served", True)
    ]


def _scale(subresources: dict) -> dict:
    """The scale subresource a version declares, as ResourceType fields."""
    scale = subresources.get("scale")
    if not isinstance(scale, dict):
        return {}
    paths = ScalePaths(scale["specReplicasPath"], scale["statusReplicasPath"], scale.get("labelSelectorPath"))
    return {"extra_subresources": (SCALE,), "scale_paths": paths}
