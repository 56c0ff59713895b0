"""WebhookCertificate: a private CA and the serving certificate an admission webhook's Service presents.

Upstream ingress-nginx makes these with two Jobs (kube-webhook-certgen) that write a Secret and patch
the webhook's ``caBundle`` from inside the cluster. fleetform makes them here instead, once, so that the
Secret and the ``caBundle`` are ordinary declared properties: preview shows them, no Job has to run in
the member, and agent members reached only through a ManifestWork get the same objects. The private key
is a secret output (encrypted in state, never printed). The certificate is replaced when its DNS names
change or when less than a tenth of its validity is left at the next ``up``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

from ._props import Props

VALIDITY = datetime.timedelta(days=3650)


@dataclass(frozen=True)
class WebhookCertificateInputs(Props):
    dns_names: list  # the Service's DNS names, the first also the subject's common name


@dataclass(frozen=True)
class WebhookCertificateOutputs(Props):
    ca_pem: str
    cert_pem: str
    key_pem: str  # secret
    not_after: str  # ISO 8601, UTC


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def issue(dns_names: list[str], now: datetime.datetime | None = None) -> WebhookCertificateOutputs:
    """A new CA (EC P-256) and a server certificate for ``dns_names`` signed by it."""
    now = now or datetime.datetime.now(datetime.UTC)
    not_after = now + VALIDITY
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fleetform webhook CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return WebhookCertificateOutputs(_pem(ca), _pem(cert), key_pem, not_after.isoformat(timespec="seconds"))


def renewal_due(not_after: str, now: datetime.datetime | None = None) -> bool:
    """Whether less than a tenth of :data:`VALIDITY` is left (or the date cannot be read)."""
    now = now or datetime.datetime.now(datetime.UTC)
    try:
        expires = datetime.datetime.fromisoformat(not_after)
    except (TypeError, ValueError):
        return True
    return expires - now < VALIDITY / 10


class WebhookCertificateProvider(ResourceProvider):
    repeatable_create = True  # it observes or converges and makes nothing a second create would duplicate

    def diff(self, _id: str, olds: dict, news: dict) -> DiffResult:
        changed = WebhookCertificateInputs.from_props(news).changed(WebhookCertificateInputs.from_props(olds))
        if renewal_due(olds.get("not_after", "")):
            changed.append("not_after")
        return DiffResult(changes=bool(changed), replaces=changed, delete_before_replace=False)

    def create(self, props: dict) -> CreateResult:
        inputs = WebhookCertificateInputs.from_props(props)
        outputs = issue(list(inputs.dns_names))
        return CreateResult(id_=inputs.dns_names[0], outs={**inputs.to_props(), **outputs.to_props()})

    def read(self, id_: str, props: dict) -> ReadResult:
        return ReadResult(id_, props)  # nothing outside state to read

    def delete(self, _id: str, _props: dict) -> None:
        """The key material lives only in state and in the Secret its dependents declare."""


class WebhookCertificate(Resource, module="fleetform", name="WebhookCertificate"):
    """``ca_pem``, ``cert_pem`` and the secret ``key_pem`` for a webhook Service's DNS names."""

    ca_pem: pulumi.Output[str]
    cert_pem: pulumi.Output[str]
    key_pem: pulumi.Output[str]
    not_after: pulumi.Output[str]

    def __init__(self, name: str, *, dns_names: list[str], opts: pulumi.ResourceOptions | None = None):
        props = {"dns_names": dns_names, **WebhookCertificateOutputs.placeholders()}
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=["key_pem"])
        super().__init__(WebhookCertificateProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))
