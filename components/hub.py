"""Hub (管控实例): the OCM hub cluster every registration lands on (DOMAIN §2.2)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from providers.dynamic import ClusterLookup

from . import labels, ocm
from .spec import MIN_KUBERNETES_VERSION
from .spec import Hub as HubSpec

AGENT_BOOTSTRAP_NAMESPACE = "open-cluster-management"


class Hub(pulumi.ComponentResource):
    """Looks the hub cluster up, installs the OCM registration CRDs when asked, and prepares the
    namespaces registrations use. ``ready`` lists what a registration must wait for."""

    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    api_url: pulumi.Output[str]
    ca_bundle: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(
        self,
        spec: HubSpec,
        kubeconfig: pulumi.Input[str],
        agent_endpoint: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("fleetform:index:Hub", spec.name, None, opts)
        self.name = spec.name
        self.spec = spec
        self.kubeconfig = pulumi.Output.secret(kubeconfig)
        child = pulumi.ResourceOptions(parent=self)
        self.lookup = ClusterLookup(
            f"{spec.name}-lookup",
            cluster=spec.name,
            kind="idc",
            kubeconfig=self.kubeconfig,
            min_version=MIN_KUBERNETES_VERSION,
            opts=child,
        )
        self.api_url = self.lookup.endpoint
        self.ca_bundle = self.lookup.ca_bundle
        self.agent_endpoint = agent_endpoint
        self.provider = k8s.Provider(
            f"{spec.name}-hub",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.lookup]),
        )
        on_hub = pulumi.ResourceOptions(parent=self, provider=self.provider, protect=spec.deletion_protection)
        common = labels.common(spec.name)
        owned = labels.field_manager("hub")
        self.ready: list[pulumi.Resource] = []
        if spec.ocm == "install":
            for crd in ocm.CRDS:
                self.ready.append(
                    k8s.apiextensions.v1.CustomResourceDefinition(
                        f"{spec.name}-crd-{crd.plural}",
                        metadata={"name": crd.name, "labels": common, "annotations": owned},
                        spec=crd.spec(),
                        opts=on_hub,
                    )
                )
        for namespace in (labels.SYSTEM_NAMESPACE, AGENT_BOOTSTRAP_NAMESPACE):
            self.ready.append(
                k8s.core.v1.Namespace(
                    f"{spec.name}-ns-{namespace}",
                    metadata={"name": namespace, "labels": common, "annotations": owned},
                    opts=on_hub,
                )
            )
        self.register_outputs({"api_url": self.api_url, "ca_bundle": self.ca_bundle})
