"""EtcdEncryption (etcd 加密): Secrets encrypted at rest on one registered cluster (DOMAIN §2.7, §7).

* Cloud kinds (EKS, GKE, AKS, ACK, TKE): the cloud's own KMS envelope encryption, enabled through its
  API with the user's key and read back (:class:`~providers.dynamic.CloudEncryption`). EKS is
  irreversible: the stack must say ``allow_irreversible`` (V36); the resource is protected while its cluster
  has ``deletion_protection``, and deleting it never touches the key (it cannot be removed).
* idc: an ``EncryptionConfiguration`` written to every control-plane host over SSH, the API server
  restarted with it, existing Secrets rewritten and a canary checked; keys rotate by themselves when
  ``rotation_interval`` has passed (:class:`~providers.dynamic.IdcEncryption`).

A kind without the capability (CTyun) never gets here: the stack check refuses it (V34, FF-ENC-001).
"""

from __future__ import annotations

import pulumi

from providers.dynamic import CloudEncryption, IdcEncryption

from .cluster import RegisteredCluster


class EtcdEncryption(pulumi.ComponentResource):
    """Outputs ``state``, ``provider``, ``keyRef`` (never key material), ``verified``, and for idc
    ``keyRevision``, ``lastRotatedAt``, ``rotationDue`` (:attr:`summary`, as the stack output shows them)."""

    def __init__(
        self,
        cluster: RegisteredCluster,
        *,
        cloud_endpoint: str | None = None,
        ssh_access: dict | None = None,  # idc over SSH: hosts, port, user, private_key text, known_hosts, layout
        opts: pulumi.ResourceOptions | None = None,
    ):
        spec = cluster.spec
        super().__init__("fleetform:index:EtcdEncryption", spec.name, None, opts)
        settings = spec.encryption
        after_registration = pulumi.ResourceOptions(parent=self, depends_on=cluster.member.ready)
        if spec.kind == "idc":
            idc = settings.idc
            resource = IdcEncryption(
                f"{spec.name}-encryption",
                cluster=spec.name,
                kubeconfig=cluster.reader_kubeconfig(),
                provider=idc.provider,
                resources=list(idc.resources),
                rotation_interval_seconds=int(idc.rotation_interval.total_seconds()),
                kms=_kms(idc.kms),
                node_access=idc.node_access,
                ssh=_secret_key(ssh_access),
                enabled=settings.enabled,
                reencrypt_existing=settings.reencrypt_existing,
                etcd_backup=idc.etcd_backup,
                opts=after_registration,
            )
        else:
            key = getattr(settings, "key", None)
            # An irreversible key is protected like its cluster (deletion_protection): removing the declaration
            # could never take the key off anyway; the provider's delete only forgets it, with a warning.
            irreversible = not spec.ENCRYPTION.reversible and key is not None and spec.deletion_protection
            resource = CloudEncryption(
                f"{spec.name}-encryption",
                cluster=spec.name,
                kind=spec.kind,
                identity={**spec.identity(), **spec.lookup_options()},
                cloud_endpoint=cloud_endpoint,
                key=key.model_dump() if key is not None else None,
                enabled=settings.enabled,
                allow_irreversible=settings.allow_irreversible,
                kubernetes_version=cluster.kubernetes_version,
                opts=pulumi.ResourceOptions.merge(after_registration, pulumi.ResourceOptions(protect=irreversible)),
            )
        self.provider = resource.active_provider if spec.kind == "idc" else resource.provider
        self.state, self.key_ref, self.verified = resource.state, resource.key_ref, resource.verified
        self.summary: dict[str, pulumi.Output] = {
            "state": self.state,
            "provider": self.provider,
            "keyRef": self.key_ref,
            "verified": self.verified,
        }
        if spec.kind == "idc":  # the engine's own keys rotate (DOMAIN §2.7)
            self.summary |= {
                "keyRevision": resource.key_revision,
                "lastRotatedAt": resource.last_rotated_at,
                "rotationDue": resource.rotation_due,
            }
        self.register_outputs(self.summary)


def _secret_key(access: dict | None) -> dict | None:
    """The SSH access with its private key marked secret (the whole input is secret in the resource too)."""
    if access is None:
        return None
    return {**access, "private_key": pulumi.Output.secret(access["private_key"])}


def _kms(kms) -> dict | None:
    if kms is None:
        return None
    return {"name": kms.name, "endpoint": kms.endpoint, "timeout_seconds": int(kms.timeout.total_seconds())}
