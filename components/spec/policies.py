"""What a federation distributes (DOMAIN §2.9): ``workloads`` (resource templates created on the Karmada
API) and ``policies`` (``propagation`` and ``override``), under ``fleetform:federations[].``.

The fields mirror the helpers of :mod:`components.policies`. A model checks its own inputs
(:meth:`issues`); whether the clusters it names are members of the federation's fleet (V45) is a rule
across entities (rules.py).
"""

from typing import Any, Literal

from pydantic import Field

from .common import Issue, StrictModel
from .scalars import DnsLabel, DnsSubdomain

STORAGE_CLASS_KINDS = ("PersistentVolumeClaim", "StatefulSet")


class ResourceSelector(StrictModel):
    """Which resource templates a policy applies to: kind, and a name or labels."""

    api_version: str = Field(description='e.g. "apps/v1"')
    kind: str = Field(description='e.g. "Deployment"')
    name: DnsSubdomain | None = None
    namespace: DnsLabel | None = None
    label_selector: dict[str, str] | None = Field(None, description="matchLabels")


class DividedReplicas(StrictModel):
    """``{divided: {cluster: weight}}``: replicas split by static weights (each ≥ 1)."""

    divided: dict[str, int] = Field(min_length=1)


class PropagationPolicy(StrictModel):
    """A Karmada PropagationPolicy (``namespace`` set) or ClusterPropagationPolicy (no namespace)."""

    name: DnsSubdomain
    namespace: DnsLabel | None = None
    selectors: list[ResourceSelector] = Field(min_length=1)
    clusters: list[str] | None = None
    fleet: str | None = None
    replicas: Literal["duplicated"] | DividedReplicas = "duplicated"
    tolerations_seconds: int = Field(300, ge=0)
    conflict_resolution: Literal["Abort", "Overwrite"] = "Abort"
    propagate_deps: bool = True
    priority: int = 0

    def named_clusters(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every cluster the policy names, with its key path relative to the policy."""
        named: list[tuple[tuple[str | int, ...], str]] = [
            (("clusters", i), c) for i, c in enumerate(self.clusters or [])
        ]
        if isinstance(self.replicas, DividedReplicas):
            named += [(("replicas", "divided", c), c) for c in self.replicas.divided]
        return named

    def issues(self) -> list[Issue]:
        found: list[Issue] = []
        if (self.clusters is None) == (self.fleet is None):
            found.append(
                Issue(
                    (), "give exactly one of clusters and fleet", "clusters: [names] or fleet: <the federation's fleet>"
                )
            )
        if isinstance(self.replicas, DividedReplicas):
            for cluster, weight in self.replicas.divided.items():
                if weight < 1:
                    found.append(
                        Issue(
                            ("replicas", "divided", cluster), "FF-POL-003 weight must be a positive integer", "e.g. 1"
                        )
                    )
                elif self.clusters is not None and cluster not in self.clusters:
                    found.append(
                        Issue(("replicas", "divided", cluster), f"cluster '{cluster}' is not in this policy's clusters")
                    )
        return found


class OverrideRule(StrictModel):
    """What to change in the templates for the target ``clusters``; at least one overrider."""

    clusters: list[str] = Field(min_length=1)
    image_registry: str | None = Field(None, description='e.g. "123456789012.dkr.ecr.eu-west-1.amazonaws.com"')
    image_tag: str | None = None
    storage_class: DnsSubdomain | None = None
    labels: dict[str, str] | None = None

    def issues(self) -> list[Issue]:
        if any(v is not None for v in (self.image_registry, self.image_tag, self.storage_class, self.labels)):
            return []
        return [Issue((), "an override rule changes nothing", "set image_registry, image_tag, storage_class or labels")]


class OverridePolicy(StrictModel):
    """A Karmada OverridePolicy (``namespace`` set) or ClusterOverridePolicy."""

    name: DnsSubdomain
    namespace: DnsLabel | None = None
    selectors: list[ResourceSelector] = Field(min_length=1)
    rules: list[OverrideRule] = Field(min_length=1)

    def named_clusters(self) -> list[tuple[tuple[str | int, ...], str]]:
        return [
            (("rules", i, "clusters", j), c) for i, rule in enumerate(self.rules) for j, c in enumerate(rule.clusters)
        ]

    def issues(self) -> list[Issue]:
        found = [
            Issue(("rules", i) + issue.keys, issue.message, issue.hint)
            for i, r in enumerate(self.rules)
            for issue in r.issues()
        ]
        kinds = {s.kind for s in self.selectors}
        for i, rule in enumerate(self.rules):
            if rule.storage_class is not None and not kinds & set(STORAGE_CLASS_KINDS):
                found.append(
                    Issue(
                        ("rules", i, "storage_class"),
                        "storage_class overrides PersistentVolumeClaims and StatefulSets only",
                        "select one of those kinds in this policy",
                    )
                )
        return found


class FederationPolicies(StrictModel):
    propagation: list[PropagationPolicy] = []
    override: list[OverridePolicy] = []

    def issues(self) -> list[Issue]:
        found: list[Issue] = []
        for section, policies in (("propagation", self.propagation), ("override", self.override)):
            seen: set[tuple[str | None, str]] = set()
            for i, policy in enumerate(policies):
                found += [Issue((section, i) + issue.keys, issue.message, issue.hint) for issue in policy.issues()]
                key = (policy.namespace, policy.name)
                if key in seen:
                    found.append(Issue((section, i, "name"), f"{section} policy '{policy.name}' is declared twice"))
                seen.add(key)
        return found


def workload_issues(workloads: list[dict[str, Any]]) -> list[Issue]:
    """Each template needs apiVersion, kind and metadata.name (and is created as given on the Karmada API)."""
    found: list[Issue] = []
    for i, obj in enumerate(workloads):
        for key in ("apiVersion", "kind"):
            if not isinstance(obj.get(key), str):
                found.append(
                    Issue(("workloads", i, key), "field required", "e.g. apiVersion: apps/v1, kind: Deployment")
                )
        if not isinstance((obj.get("metadata") or {}).get("name"), str):
            found.append(Issue(("workloads", i, "metadata", "name"), "field required"))
    return found
