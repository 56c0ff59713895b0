"""FleetPermission (DOMAIN §2.8): Kubernetes RBAC pushed to every member of a fleet or to one cluster."""

import re
from typing import Any, Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from .common import Issue, StrictModel, invalid
from .scalars import DNS_LABEL, EntityName

PERMISSION_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
ROLES = ("admin", "operator", "developer", "restricted", "custom")
_EXTRA_VERB = re.compile(r"[a-z][a-z0-9]*")


class Subject(StrictModel):
    kind: Literal["User", "Group", "ServiceAccount"]
    name: str = Field(min_length=1)
    namespace: str | None = None


class ResourceRef(StrictModel):
    api_group: str = ""  # "" is the core group
    resource: str = Field(min_length=1)


class PermissionRule(StrictModel):
    verbs: list[str] = Field(min_length=1)
    resources: list[ResourceRef] = Field(min_length=1)

    @field_validator("resources", mode="before", json_schema_input_type=list[ResourceRef] | Literal["*"])
    @classmethod
    def _star_means_everything(cls, value: object) -> object:
        """``"*"`` is shorthand for every resource of every API group (RBAC's own ``*``)."""
        return [{"api_group": "*", "resource": "*"}] if value == "*" else value


class FleetPermission(StrictModel):
    """DOMAIN §2.8. ``namespaces`` ``["*"]`` (or ``"*"``) means cluster-wide."""

    name: EntityName
    fleet: str | None = None
    cluster: str | None = None
    subjects: list[Subject] = []
    role: Literal["admin", "operator", "developer", "restricted", "custom"]
    rules: list[PermissionRule] = []
    extra_verbs: list[str] = []
    namespaces: list[str] = ["*"]
    create_missing_namespaces: bool = False

    @field_validator("role", mode="wrap")
    @classmethod
    def _known_role(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            name = info.data.get("name", "?")
            raise invalid(
                f"FF-PERM-001 permission '{name}': unknown role {value!r}", f"allowed: {', '.join(ROLES)}"
            ) from None

    @field_validator("namespaces", mode="before", json_schema_input_type=list[str] | Literal["*"])
    @classmethod
    def _star_is_cluster_wide(cls, value: object) -> object:
        return ["*"] if value == "*" else value

    def targets(self) -> list[str]:
        """The target keys that are set; V43 wants exactly one of ``fleet`` and ``cluster``."""
        return [key for key in ("fleet", "cluster") if getattr(self, key) is not None]

    def issues(self) -> list[Issue]:
        """V43 on the permission's own inputs; whether its target exists is a rule of the whole stack."""
        found: list[Issue] = []

        def fail(keys: tuple[str | int, ...], detail: str, hint: str = "") -> None:
            found.append(Issue(keys, f"FF-PERM-001 permission '{self.name}': {detail}", hint))

        targets = self.targets()
        if len(targets) != 1:
            fail((), f"set exactly one target, fleet or cluster (got {' and '.join(targets) or 'none'})")
        self._check_subjects(fail)
        self._check_rules(fail)
        self._check_namespaces(fail)
        return found

    def _check_subjects(self, fail: Any) -> None:
        if not self.subjects:
            fail(("subjects",), "needs at least one subject", "e.g. [{kind: Group, name: platform-team}]")
        for k, subject in enumerate(self.subjects):
            if subject.kind == "ServiceAccount" and subject.namespace is None:
                fail(("subjects", k, "namespace"), f"ServiceAccount subject '{subject.name}' needs a namespace")
            elif subject.kind != "ServiceAccount" and subject.namespace is not None:
                fail(("subjects", k, "namespace"), f"{subject.kind} subject '{subject.name}' has no namespace")

    def _check_rules(self, fail: Any) -> None:
        if self.role == "custom" and not self.rules:
            fail(("rules",), "role custom needs rules", "e.g. [{verbs: [get, list], resources: [{resource: pods}]}]")
        elif self.role != "custom" and self.rules:
            fail(("rules",), f"rules are only used with role custom, not {self.role}")
        for k, verb in enumerate(self.extra_verbs):
            if not _EXTRA_VERB.fullmatch(verb):
                fail(("extra_verbs", k), f"extra verb '{verb}' is not a lowercase identifier", 'e.g. "escalate"')
        allowed = (*PERMISSION_VERBS, *self.extra_verbs)
        for r, rule in enumerate(self.rules):
            for v, verb in enumerate(rule.verbs):
                if verb not in allowed:
                    fail(
                        ("rules", r, "verbs", v),
                        f"verb '{verb}' is not allowed",
                        f"allowed: {', '.join(allowed)}; add others to extra_verbs",
                    )

    def _check_namespaces(self, fail: Any) -> None:
        if "*" in self.namespaces and len(self.namespaces) > 1:
            fail(("namespaces",), '"*" (all namespaces) cannot be combined with namespace names')
            return
        for k, namespace in enumerate(self.namespaces):
            if namespace != "*" and not re.fullmatch(DNS_LABEL, namespace):
                fail(("namespaces", k), f"namespace '{namespace}' is not a valid namespace name", 'e.g. "payments"')
