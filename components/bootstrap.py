"""ClusterBootstrap (公有云集群初始化): the ingress controller and the default StorageClass of one
registered cluster, right for its kind (DOMAIN §2.6, §6).

Ingress, by ``ingress.provider``:

* ``nginx``: the ingress-nginx controller as typed objects (:mod:`components.ingress_nginx`), its
  admission webhook serving a certificate fleetform issues (:class:`~providers.dynamic.WebhookCertificate`),
  the Service annotated for the kind's load balancer and the exposure (§6.2, the kind's
  :class:`~components.spec.IngressSupport`). Upstream retired ingress-nginx in March 2026; fleetform
  keeps its last release for parity with the seed platforms; the stack check warns (V48).
* ``gateway-api``: a ``Gateway`` ``fleetform-gateway`` in ``ingress-gateway`` of the named
  GatewayClass, whose implementation (and the Gateway API CRDs) must already be in the cluster; the
  same load-balancer annotations go to the Service it makes (``spec.infrastructure.annotations``).
* ``cloud-native``: nothing is installed; the cloud's own controller and class are used
  (GKE ``gce``, EKS ``alb`` of the AWS Load Balancer Controller, AKS application routing).
* ``none`` or ``enabled: false``: nothing.

Storage: a :class:`~providers.dynamic.DefaultStorageClass` adopts or creates the kind's class and hands the
default annotation over (§6.4), restoring the previous default on destroy. A member fleetform reaches only
through a ManifestWork gets the class to create (no adoption: nothing there can be read).

Everything reaches the member through :func:`components.delivery.deliver` after the cluster is ``running``.
"""

from __future__ import annotations

import pulumi

from providers.dynamic import DefaultStorageClass, IngressStatus, WebhookCertificate

from . import ingress_nginx, labels
from .cluster import RegisteredCluster
from .delivery import Member, deliver
from .spec import Bootstrap, IngressSettings, StorageSettings

GATEWAY_NAMESPACE = "ingress-gateway"
GATEWAY_NAME = "fleetform-gateway"
GATEWAY_API = "gateway.networking.k8s.io/v1"
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}  # IngressStatus waits for the address, bounded by lb_timeout


class ClusterBootstrap(pulumi.ComponentResource):
    """Outputs ``ingress`` (``{class, address, state}``, and ``reason`` where fleetform watches it), ``storage_class``, ``previous_default_storage_class``,
    ``state`` and ``state_reason`` (ready | adopted | installing | degraded)."""

    def __init__(self, cluster: RegisteredCluster, spec: Bootstrap, opts: pulumi.ResourceOptions | None = None):
        name = cluster.spec.name
        super().__init__("fleetform:index:ClusterBootstrap", name, None, opts)
        self.cluster = cluster
        self._labels = {**labels.common(cluster.hub.name, cluster=name), "fleetform.io/component": "bootstrap"}
        self.ingress = self._ingress(spec.ingress) if spec.ingress.enabled else _nothing("disabled")
        self.storage_class, self.previous_default_storage_class, storage_state = (
            self._storage(spec.storage, spec.adopt_existing)
            if spec.storage.enabled
            else (pulumi.Output.from_input(""), pulumi.Output.from_input(""), pulumi.Output.from_input("disabled"))
        )
        self.state = pulumi.Output.all(self.ingress["state"], storage_state).apply(_overall)
        self.register_outputs(
            {
                "ingress": self.ingress,
                "storage_class": self.storage_class,
                "previous_default_storage_class": self.previous_default_storage_class,
                "state": self.state,
            }
        )

    # -- ingress ---------------------------------------------------------------------------------
    def _ingress(self, settings: IngressSettings) -> dict[str, pulumi.Output[str]]:
        support = self.cluster.spec.INGRESS
        if settings.provider == "none":
            return _nothing("disabled")
        if settings.provider == "cloud-native":
            return {
                "class": pulumi.Output.from_input(support.cloud_native_class or ""),
                "address": pulumi.Output.from_input(""),
                "state": pulumi.Output.from_input("adopted"),
            }
        annotations = support.service_annotations(settings)
        service_type = support.service_type(settings)
        if settings.provider == "gateway-api":
            objects, service, workload = self._gateway(settings, annotations), "", ""
            namespace = GATEWAY_NAMESPACE
        else:
            objects = self._nginx(settings, service_type, annotations)
            namespace, service = ingress_nginx.NAMESPACE, ingress_nginx.SERVICE_NAME
            workload = f"{'DaemonSet' if service_type == 'HostPort' else 'Deployment'}/{ingress_nginx.DEPLOYMENT_NAME}"
        status_class = settings.gateway_class if settings.provider == "gateway-api" else settings.class_name
        member = self.cluster.member
        delivered = deliver(f"{self.cluster.spec.name}-ingress", member, objects, owner="ingress", parent=self)
        status = IngressStatus(
            f"{self.cluster.spec.name}-ingress-status",
            kubeconfig=self.cluster.reader_kubeconfig(),
            cluster=self.cluster.spec.name,
            namespace=namespace,
            service=service,
            workload=workload,
            class_name=status_class,
            service_type=service_type,
            annotations=annotations,
            host_port=ingress_nginx.HOST_PORTS["http"] if service_type == "HostPort" else 0,
            make_default=settings.make_default and settings.provider == "nginx",
            gateway=GATEWAY_NAME if settings.provider == "gateway-api" else "",
            timeout_seconds=int(settings.lb_timeout.total_seconds()),
            delivery_state=delivered.state if not member.reachable else "",
            opts=pulumi.ResourceOptions(parent=self, depends_on=delivered.resources),
        )
        return {
            "class": pulumi.Output.from_input(status_class),
            "address": status.address,
            "state": status.state,
            "reason": status.state_reason,
        }

    def _nginx(self, settings: IngressSettings, service_type: str, annotations: dict[str, str]) -> dict[str, dict]:
        admission = f"{ingress_nginx.SERVICE_NAME}-admission.{ingress_nginx.NAMESPACE}.svc"
        certificate = WebhookCertificate(
            f"{self.cluster.spec.name}-ingress-webhook-certificate",
            dns_names=[admission, f"{admission}.cluster.local"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return ingress_nginx.render(
            class_name=settings.class_name,
            make_default=settings.make_default,
            service_type=service_type,
            service_annotations={**annotations, **SKIP_AWAIT},
            labels=self._labels,
            webhook_ca=certificate.ca_pem,
            webhook_cert=certificate.cert_pem,
            webhook_key=certificate.key_pem,
        )

    def _gateway(self, settings: IngressSettings, annotations: dict[str, str]) -> dict[str, dict]:
        return {
            "gateway-namespace": {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": GATEWAY_NAMESPACE, "labels": self._labels},
            },
            "gateway": {
                "apiVersion": GATEWAY_API,
                "kind": "Gateway",
                "metadata": {"name": GATEWAY_NAME, "namespace": GATEWAY_NAMESPACE, "labels": self._labels},
                "spec": {
                    "gatewayClassName": settings.gateway_class,
                    "listeners": [{"name": "http", "protocol": "HTTP", "port": 80}],
                    **({"infrastructure": {"annotations": annotations}} if annotations else {}),
                },
            },
        }

    # -- storage ---------------------------------------------------------------------------------
    def _storage(self, settings: StorageSettings, adopt_existing: bool):
        spec = self.cluster.spec
        defaults = spec.STORAGE
        provisioner = settings.provisioner or defaults.provisioner or ""
        parameters = settings.parameters if settings.parameters is not None else defaults.parameters
        class_name = settings.class_name or defaults.class_name
        creatable = bool(provisioner) and parameters is not None
        member: Member = self.cluster.member
        if not member.reachable:
            return self._storage_by_work(settings, class_name, provisioner, parameters, creatable)
        storage = DefaultStorageClass(
            f"{spec.name}-storage",
            kubeconfig=self.cluster.reader_kubeconfig(),
            cluster=spec.name,
            class_name=class_name,
            provisioner=provisioner,
            parameters=dict(parameters or {}),
            reclaim_policy=settings.reclaim_policy,
            volume_binding_mode=settings.volume_binding_mode,
            allow_volume_expansion=settings.allow_volume_expansion,
            make_default=settings.make_default,
            adopt_existing=adopt_existing,
            adopt=list(defaults.adopt) if settings.class_name is None else [],
            adopt_default=defaults.adopt_default and settings.class_name is None,
            create=creatable,
            labels=self._labels,
            # and on the lookup: a cluster gone from its cloud reads as deleted, and this leaves the state with it
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*member.ready, *filter(None, [self.cluster.lookup])]),
        )
        return storage.storage_class, storage.previous_default, storage.state

    def _storage_by_work(self, settings: StorageSettings, class_name: str, provisioner: str, parameters, creatable):
        name = self.cluster.spec.name
        if not creatable:
            pulumi.log.warn(
                f"FF-STOR-W02 cluster '{name}' is reached only through a ManifestWork, so an existing StorageClass "
                "cannot be adopted; give storage.provisioner and storage.parameters to have one created",
                self,
            )
            return pulumi.Output.from_input(""), pulumi.Output.from_input(""), pulumi.Output.from_input("pending")
        storage_class = {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": class_name,
                "labels": self._labels,
                "annotations": {"storageclass.kubernetes.io/is-default-class": str(settings.make_default).lower()},
            },
            "provisioner": provisioner,
            "parameters": dict(parameters),
            "reclaimPolicy": settings.reclaim_policy,
            "volumeBindingMode": settings.volume_binding_mode,
            "allowVolumeExpansion": settings.allow_volume_expansion,
        }
        delivered = deliver(
            f"{name}-storage", self.cluster.member, {"class": storage_class}, owner="storage", parent=self
        )
        state = delivered.state.apply(lambda work: "ready" if work == "available" else "installing")
        return pulumi.Output.from_input(class_name), pulumi.Output.from_input(""), state


def _nothing(state: str) -> dict[str, pulumi.Output[str]]:
    return {
        "class": pulumi.Output.from_input(""),
        "address": pulumi.Output.from_input(""),
        "state": pulumi.Output.from_input(state),
    }


def _overall(states: list[str]) -> str:
    """The bootstrap's state from its parts: the worst of them (§2.6)."""
    order = ("degraded", "pending", "installing", "ready", "adopted", "disabled")
    present = [s for s in states if s in order]
    return min(present, key=order.index) if present else "ready"
