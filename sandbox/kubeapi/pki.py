"""Per-cluster key material: a self-signed CA, the serving certificate for 127.0.0.1 and
localhost, the service-account signing key, and client certificates on demand.

EC P-256 keys keep generation cheap (a cluster is created in milliseconds).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=3650)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _name(common_name: str, organizations=()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: x509.Name,
    public_key,
    issuer_cert: x509.Certificate | None,
    issuer_key,
    *,
    ca: bool,
    usages: list,
    sans: list | None = None,
    validity=_VALIDITY,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject if issuer_cert else subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + validity)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class ClusterPki:
    ca_cert: str
    ca_key: str
    serving_cert: str
    serving_key: str
    sa_key: str

    @classmethod
    def generate(cls, cluster_name: str) -> ClusterPki:
        ca_key, serving_key, sa_key = _new_key(), _new_key(), _new_key()
        ca = _issue(_name(f"{cluster_name}-ca"), ca_key.public_key(), None, ca_key, ca=True, usages=[])
        serving = _issue(
            _name("kube-apiserver"),
            serving_key.public_key(),
            ca,
            ca_key,
            ca=False,
            usages=[ExtendedKeyUsageOID.SERVER_AUTH],
            sans=[
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("localhost"),
                x509.DNSName("kubernetes"),
                x509.DNSName("kubernetes.default.svc"),
            ],
        )
        return cls(_cert_pem(ca), _key_pem(ca_key), _cert_pem(serving), _key_pem(serving_key), _key_pem(sa_key))

    def sa_private_key(self) -> ec.EllipticCurvePrivateKey:
        return serialization.load_pem_private_key(self.sa_key.encode(), None)

    def client_certificate(self, user: str, groups=()) -> tuple[str, str]:
        """A client certificate (CN = user, O = groups) signed by the cluster CA: ``(cert, key)``."""
        ca = x509.load_pem_x509_certificate(self.ca_cert.encode())
        ca_key = serialization.load_pem_private_key(self.ca_key.encode(), None)
        key = _new_key()
        cert = _issue(
            _name(user, groups),
            key.public_key(),
            ca,
            ca_key,
            ca=False,
            usages=[ExtendedKeyUsageOID.CLIENT_AUTH],
            validity=dt.timedelta(days=365),
        )
        return _cert_pem(cert), _key_pem(key)

    def server_context(self) -> ssl.SSLContext:
        """TLS server context that also asks for (optional) client certificates from our CA."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # load_cert_chain only reads files: write the pair to a private temporary file.
        fd, path = tempfile.mkstemp(suffix=".pem")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self.serving_cert + self.serving_key)
            ctx.load_cert_chain(path)
        finally:
            os.unlink(path)
        ctx.load_verify_locations(cadata=self.ca_cert)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx

    def dump(self) -> dict:
        return dict(self.__dict__)
