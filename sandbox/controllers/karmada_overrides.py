"""Karmada's override manager: what a resource template becomes in one member cluster.

The policies that apply to a template are its namespace's ``OverridePolicy`` objects and every
``ClusterOverridePolicy`` whose ``resourceSelectors`` match it (see :mod:`.karmada_selectors`).
Cluster-wide policies are applied first, then namespaced ones (so these win); within each, the
least specific selector match first (kind only, then label selector, then name, so the most
specific wins), then by name. A policy's
rules are ``spec.overrideRules[{targetCluster, overriders}]`` plus the legacy top-level
``targetCluster``/``overriders`` pair; a rule without ``targetCluster`` applies to every cluster.

Overriders, in upstream's order:

* ``imageOverrider[{predicate.path?, component, operator, value}]``: without a predicate, the
  ``image`` of every container (not init containers) of a Pod, or of the pod template of a
  Deployment, ReplicaSet, StatefulSet, DaemonSet or Job. The image is split as upstream splits it
  (the first path element is the registry only when it holds a ``.`` or ``:`` or is ``localhost``;
  no ``docker.io`` defaulting). ``Registry`` and ``Repository``: ``add`` appends ``value``,
  ``replace`` sets it, ``remove`` drops the component; ``Tag``: ``add`` appends to the tag,
  ``replace`` sets the tag (or digest, for a ``sha256:`` value), ``remove`` drops it;
* ``labelsOverrider`` / ``annotationsOverrider[{operator, value{}}]``: ``add`` sets the keys,
  ``replace`` and ``remove`` act on keys already present only;
* ``plaintext[{path, operator, value}]``: a JSON patch (``add``/``replace``/``remove``).

Not emulated: ``commandOverrider``, ``argsOverrider``, ``fieldOverrider``, ``targetCluster``
field selectors, and ``OverridePolicy`` ``overrideRules`` applied to dependencies. An overrider
that cannot apply (a JSON-patch path that does not exist) fails the whole manifest, as upstream.
"""

from __future__ import annotations

import copy
import re

from . import karmada_selectors as selectors

KINDS_WITH_POD_TEMPLATE = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")


class OverrideError(Exception):
    pass


def policies_for(template: dict, cluster_policies: list[dict], namespaced: list[dict]) -> list[dict]:
    """The override policies that apply to ``template``, in the order they apply."""

    def ranked(policies: list[dict]) -> list[dict]:
        scored = [(selectors.best_match(p, template), p) for p in policies]
        matched = [(score, p) for score, p in scored if score is not None]
        return [p for _, p in sorted(matched, key=lambda sp: (sp[0], sp[1]["metadata"]["name"]))]

    namespace = template["metadata"].get("namespace", "")
    own = [p for p in namespaced if p["metadata"].get("namespace") == namespace]
    return ranked(cluster_policies) + ranked(own)


def overridden(template: dict, cluster: dict, policies: list[dict]) -> dict:
    """``template`` as it is to be applied in ``cluster`` (a Cluster object)."""
    obj = copy.deepcopy(template)
    for policy in policies:
        spec = policy.get("spec") or {}
        rules = list(spec.get("overrideRules") or [])
        if spec.get("overriders"):
            rules.append({"targetCluster": spec.get("targetCluster"), "overriders": spec["overriders"]})
        for rule in rules:
            if rule.get("targetCluster") is None or selectors.cluster_matches(cluster, rule["targetCluster"]):
                _apply(obj, rule.get("overriders") or {})
    return obj


def _apply(obj: dict, overriders: dict) -> None:
    for image in overriders.get("imageOverrider") or []:
        for path in _image_paths(obj, image.get("predicate")):
            _set(obj, path, _image(_get(obj, path), image))
    for field, overrides in (("labels", "labelsOverrider"), ("annotations", "annotationsOverrider")):
        for overrider in overriders.get(overrides) or []:
            _map_override(obj.setdefault("metadata", {}), field, overrider)
    for patch in overriders.get("plaintext") or []:
        _json_patch(obj, patch)


def _image_paths(obj: dict, predicate: dict | None) -> list[list]:
    if predicate and predicate.get("path"):
        return [_pointer(predicate["path"])]
    if obj.get("kind") == "Pod":
        prefix = ["spec"]
    elif obj.get("kind") in KINDS_WITH_POD_TEMPLATE:
        prefix = ["spec", "template", "spec"]
    else:
        return []
    containers = _get(obj, [*prefix, "containers"]) or []
    return [[*prefix, "containers", i, "image"] for i in range(len(containers))]


def _image(image: str, overrider: dict) -> str:
    name, tag, digest = _split_reference(str(image or ""))
    registry, repository = _split_registry(name)
    value, operator = str(overrider.get("value") or ""), overrider.get("operator")
    component = overrider.get("component")
    if component == "Registry":
        registry = {"add": registry + value, "replace": value, "remove": ""}.get(operator, registry)
    elif component == "Repository":
        repository = {"add": repository + value, "replace": value, "remove": ""}.get(operator, repository)
    elif component == "Tag":
        if operator in ("add", "replace"):
            new = (tag or digest if operator == "add" else "") + value
            tag, digest = ("", new) if _DIGEST.match(new) else (new, "")
        elif operator == "remove":
            tag, digest = ("", digest) if tag else ("", "")
    full = f"{registry}/{repository}" if registry else repository
    return f"{full}:{tag}" if tag else f"{full}@{digest}" if digest else full


def _split_reference(image: str) -> tuple[str, str, str]:
    """``(name, tag, digest)`` of an image reference."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest
    return name, "", digest


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost"):
        return first, rest
    return "", name


def _map_override(metadata: dict, field: str, overrider: dict) -> None:
    current = metadata.get(field) or {}
    values = overrider.get("value") or {}
    operator = overrider.get("operator")
    if operator == "add":
        current = {**current, **values}
    elif operator == "replace":
        current = {k: values.get(k, v) for k, v in current.items()}
    elif operator == "remove":
        current = {k: v for k, v in current.items() if k not in values}
    if current:
        metadata[field] = current
    else:
        metadata.pop(field, None)


def _json_patch(obj: dict, patch: dict) -> None:
    path, operator = _pointer(str(patch.get("path") or "")), patch.get("operator")
    if not path:
        raise OverrideError(f"plaintext overrider path {patch.get('path')!r} names no field")
    parent = _get(obj, path[:-1])
    last = path[-1]
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if operator == "add" and 0 <= index <= len(parent):
            parent.insert(index, copy.deepcopy(patch.get("value")))
        elif operator in ("replace", "remove") and 0 <= index < len(parent):
            parent[index : index + 1] = [copy.deepcopy(patch.get("value"))] if operator == "replace" else []
        else:
            raise OverrideError(f"plaintext overrider: cannot {operator} {patch.get('path')}")
    elif isinstance(parent, dict) and (operator == "add" or last in parent):
        if operator == "remove":
            del parent[last]
        else:
            parent[last] = copy.deepcopy(patch.get("value"))
    else:
        raise OverrideError(f"plaintext overrider: cannot {operator} {patch.get('path')}")


def _pointer(path: str) -> list:
    """A JSON pointer as keys (list indices stay strings until used)."""
    if not path.startswith("/"):
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _get(obj, path: list):
    for key in path:
        if isinstance(obj, list):
            try:
                obj = obj[int(key)]
            except (ValueError, IndexError):
                raise OverrideError(f"no element {key} in a list of {len(obj)}") from None
        elif isinstance(obj, dict) and key in obj:
            obj = obj[key]
        else:
            raise OverrideError(f"no field {key!r}")
    return obj


def _set(obj, path: list, value) -> None:
    parent = _get(obj, path[:-1])
    if isinstance(parent, list):
        parent[int(path[-1])] = value
    else:
        parent[path[-1]] = value
