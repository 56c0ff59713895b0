"""Pulumi dynamic providers: thin adapters from CRUD onto the cloud sources and the Kubernetes
client, one module per resource, each with typed inputs and outputs.

Every provider lives in an importable module so that dill pickles it by reference (the SDK embeds
the pickle in every resource's ``__provider`` input), and builds its clients inside each call.
"""

from .api_discovery import ApiDiscovery, ApiDiscoveryProvider
from .cloud_encryption import CloudEncryption, CloudEncryptionProvider
from .cluster_lookup import ClusterLookup, ClusterLookupProvider
from .federation_member_status import FederationMemberStatus, FederationMemberStatusProvider
from .fleet_membership import FleetMembership, FleetMembershipProvider
from .fleet_status import FleetStatus, FleetStatusProvider
from .idc_encryption import IdcEncryption, IdcEncryptionProvider
from .ingress_status import IngressStatus, IngressStatusProvider
from .karmada_control_plane import KarmadaControlPlane, KarmadaControlPlaneProvider
from .manifest_work_status import ManifestWorkStatus, ManifestWorkStatusProvider
from .permission_status import PermissionStatus, PermissionStatusProvider
from .policy_status import PolicyStatus, PolicyStatusProvider
from .registration_status import RegistrationStatus, RegistrationStatusProvider
from .service_account_credential import ServiceAccountCredential, ServiceAccountCredentialProvider
from .storage_class import DefaultStorageClass, DefaultStorageClassProvider
from .webhook_certificate import WebhookCertificate, WebhookCertificateProvider

__all__ = [
    "ApiDiscovery",
    "ApiDiscoveryProvider",
    "CloudEncryption",
    "CloudEncryptionProvider",
    "ClusterLookup",
    "ClusterLookupProvider",
    "DefaultStorageClass",
    "DefaultStorageClassProvider",
    "IngressStatus",
    "IngressStatusProvider",
    "FederationMemberStatus",
    "FederationMemberStatusProvider",
    "KarmadaControlPlane",
    "KarmadaControlPlaneProvider",
    "ManifestWorkStatus",
    "ManifestWorkStatusProvider",
    "PolicyStatus",
    "PolicyStatusProvider",
    "FleetMembership",
    "FleetMembershipProvider",
    "FleetStatus",
    "FleetStatusProvider",
    "IdcEncryption",
    "IdcEncryptionProvider",
    "PermissionStatus",
    "PermissionStatusProvider",
    "RegistrationStatus",
    "RegistrationStatusProvider",
    "ServiceAccountCredential",
    "ServiceAccountCredentialProvider",
    "WebhookCertificate",
    "WebhookCertificateProvider",
]
