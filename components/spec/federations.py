"""Federation (DOMAIN §2.5): a Karmada control plane that spans one fleet."""

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from .common import Issue, StrictModel
from .policies import FederationPolicies, workload_issues
from .scalars import DnsLabel, DnsSubdomain, EntityName, HttpsUrl, Quantity, SemVer, duration


class LocalEtcdStorage(StrictModel):
    pvc_size: Quantity = "3Gi"
    storage_class: DnsSubdomain | None = None


class LocalEtcd(StrictModel):
    replicas: Literal[1, 3] = 3
    storage: LocalEtcdStorage = Field(default_factory=LocalEtcdStorage)


class ExternalEtcd(StrictModel):
    endpoints: list[HttpsUrl] = Field(min_length=1)
    secret_ref: DnsSubdomain = Field(description='the Secret with the etcd client certificate, e.g. "etcd-client"')


class FederationEtcd(StrictModel):
    """Either ``local`` (default: 3 replicas, 3Gi) or ``external``."""

    local: LocalEtcd | None = None
    external: ExternalEtcd | None = None

    @model_validator(mode="after")
    def _local_by_default(self) -> "FederationEtcd":
        if self.local is None and self.external is None:
            self.local = LocalEtcd()
        return self


class Federation(StrictModel):
    """DOMAIN §2.5. ``host_kubeconfig`` None means the hub; ``namespace`` defaults to ``fleetform-fed-<name>``;
    ``workloads`` and ``policies`` (spec/policies.py) are what the federation distributes."""

    name: EntityName
    mode: Literal["operator", "existing"] = "operator"
    host_kubeconfig: SecretStr | None = None
    namespace: DnsLabel | None = None
    karmada_version: SemVer | None = None
    api_server_service_type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    api_server_exposure: Literal["internal", "public"] = "internal"
    api_server_external_url: HttpsUrl | None = None
    etcd: FederationEtcd = Field(default_factory=FederationEtcd)
    feature_gates: dict[str, bool] = {}
    failover: bool = False
    member_network_type: Literal["private", "public"] | None = None  # None: private when the member has one
    existing_kubeconfig: SecretStr | None = None
    join_timeout: duration() = timedelta(minutes=10)
    drain_workloads: bool = False
    deletion_protection: bool = True
    workloads: list[dict[str, Any]] = []  # resource templates created as given on the Karmada API
    policies: FederationPolicies = Field(default_factory=FederationPolicies)

    @model_validator(mode="after")
    def _default_namespace(self) -> "Federation":
        if self.namespace is None:
            self.namespace = f"fleetform-fed-{self.name}"
        return self

    def issues(self) -> list[Issue]:
        """Inputs that only make sense together: mode and existing_kubeconfig, ClusterIP and an external URL."""
        found: list[Issue] = []
        if self.mode == "existing" and self.existing_kubeconfig is None:
            found.append(
                Issue(
                    ("existing_kubeconfig",),
                    "field required",
                    "mode existing adopts the Karmada API server this kubeconfig opens",
                )
            )
        elif self.mode == "operator" and self.existing_kubeconfig is not None:
            found.append(Issue(("existing_kubeconfig",), "existing_kubeconfig is only used with mode existing"))
        if self.api_server_service_type == "ClusterIP" and self.api_server_external_url is None:
            found.append(
                Issue(
                    ("api_server_external_url",),
                    "field required",
                    "api_server_service_type ClusterIP "
                    'needs the URL that reaches the API server from outside, e.g. "https://karmada.example.com"',
                )
            )
        if self.etcd.local is not None and self.etcd.external is not None:
            found.append(Issue(("etcd",), "etcd.local and etcd.external are both set", "give exactly one of them"))
        found += workload_issues(self.workloads)
        found += [Issue(("policies",) + i.keys, i.message, i.hint, i.warning) for i in self.policies.issues()]
        return found
