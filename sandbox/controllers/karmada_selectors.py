"""How Karmada policies select: resource selectors, cluster affinities, label selectors, tolerations.

* A resource selector ``{apiVersion, kind, namespace?, name?, labelSelector?}`` matches a template
  of that apiVersion and kind, in that namespace when given, of that name when given (then the
  label selector is ignored, as upstream), else whose labels the label selector matches. A match by
  name is the most specific (3), by label selector next (2), by kind only the least (1).
* A cluster affinity ``{clusterNames, exclude, labelSelector}`` matches a ``Cluster`` listed in
  ``clusterNames`` (when given), not in ``exclude``, whose labels match ``labelSelector`` (when
  given). ``fieldSelector`` (provider, region, zone) is not emulated and matches every cluster.
* Tolerations and taints follow Kubernetes: a toleration with ``operator: Exists`` and no key
  tolerates every taint; an empty effect tolerates every effect.
"""

from __future__ import annotations

from datetime import datetime


def labels_match(labels: dict, selector: dict | None) -> bool:
    """A ``metav1.LabelSelector`` (``matchLabels``, ``matchExpressions``); None matches all."""
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def selector_match(selector: dict, template: dict) -> int | None:
    """How specifically one resource selector matches ``template`` (3, 2, 1), or None."""
    meta = template["metadata"]
    if selector.get("apiVersion") != template.get("apiVersion") or selector.get("kind") != template.get("kind"):
        return None
    if selector.get("namespace") and selector["namespace"] != meta.get("namespace", ""):
        return None
    if selector.get("name"):
        return 3 if selector["name"] == meta["name"] else None
    if selector.get("labelSelector") is not None:
        return 2 if labels_match(meta.get("labels") or {}, selector["labelSelector"]) else None
    return 1


def best_match(policy: dict, template: dict) -> int | None:
    """The most specific match of any of ``policy``'s resource selectors, or None."""
    scores = [selector_match(s, template) for s in (policy.get("spec") or {}).get("resourceSelectors") or []]
    found = [s for s in scores if s is not None]
    return max(found) if found else None


def cluster_matches(cluster: dict, affinity: dict | None) -> bool:
    if not affinity:
        return True
    name = cluster["metadata"]["name"]
    if affinity.get("clusterNames") and name not in affinity["clusterNames"]:
        return False
    if name in (affinity.get("exclude") or []):
        return False
    return labels_match(cluster["metadata"].get("labels") or {}, affinity.get("labelSelector"))


def tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def toleration_ends(taint: dict, tolerations: list[dict]) -> float | None:
    """When (epoch seconds) ``tolerations`` stop tolerating ``taint``, judged by the first one that
    tolerates it (as upstream's taint manager does): the taint's ``timeAdded`` when none does, None
    when it has no ``tolerationSeconds`` (for ever), else ``timeAdded`` plus those seconds."""
    first = next((t for t in tolerations if tolerates(t, taint)), None)
    added = _epoch(taint.get("timeAdded"))
    if first is None:
        return added
    if first.get("tolerationSeconds") is None:
        return None
    return added + max(0, first["tolerationSeconds"])


def _epoch(timestamp: str | None) -> float:
    if not timestamp:
        return 0.0
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
