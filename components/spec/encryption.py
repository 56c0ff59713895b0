"""EtcdEncryption (DOMAIN §2.7, §7): the per-kind key inputs, what each kind offers, and the static checks of a key
against the cluster it encrypts (V38, V39, the ARN region of EKS, the idc settings)."""

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from typing import Literal

from pydantic import Field, SecretStr

from .common import Issue, StrictModel
from .scalars import DnsLabel, EnvVarName, duration, matching


@dataclass(frozen=True)
class EncryptionSupport:
    """What a kind offers for etcd/Secret encryption at rest (§7.1, V34-V37)."""

    unsupported_reason: str | None = None  # set: the kind offers no encryption at all (V34)
    reversible: bool = True  # False: once a key is associated it can be neither removed nor changed (EKS, V36)
    key_required: bool = True  # False: the stack may name no key (EKS >= 1.28 has a provider key; idc makes its own)
    required_tier: str | None = None  # the cluster offering encryption needs, checked at lookup (ACK Pro, V37)

    @property
    def supported(self) -> bool:
        return self.unsupported_reason is None


_KMS_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:kms:([a-z0-9-]+):\d{12}:(?:key|alias)/[A-Za-z0-9/_-]+")
_GKE_KEY = re.compile(r"projects/[^/]+/locations/([^/]+)/keyRings/[^/]+/cryptoKeys/[^/]+")
_VAULT_KEY = re.compile(r"https://[A-Za-z0-9-]+\.vault\.[a-z.]+/keys/[A-Za-z0-9-]+/[A-Za-z0-9]+")
_VAULT_ID = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/"
    r"[^/]+",
    re.IGNORECASE,
)


class EncryptionBase(StrictModel):
    """EtcdEncryption (§2.7) inputs shared by every kind; the key shape is per kind."""

    enabled: bool = True
    reencrypt_existing: bool = True
    allow_irreversible: bool = False


class CtyunEncryption(EncryptionBase):
    """Accepted so that V34 can explain why CTyun encryption is impossible, instead of an unknown-key error."""


class EksKey(StrictModel):
    key_arn: str = Field(description='a KMS key ARN, e.g. "arn:aws:kms:eu-west-1:111122223333:key/<key-id>"')


class EksEncryption(EncryptionBase):
    key: EksKey | None = None  # None on EKS >= 1.28: the AWS-owned default key (V35)

    def key_issues(self, region: str) -> list[Issue]:
        """The key must be a KMS key of the cluster's own region."""
        if self.key is None:
            return []
        match = _KMS_ARN.fullmatch(self.key.key_arn)
        if match is not None and match.group(1) == region:
            return []
        return [
            Issue(
                ("key", "key_arn"),
                f"key_arn '{self.key.key_arn}' is not a KMS key ARN in the cluster's region {region}",
                f'e.g. "arn:aws:kms:{region}:111122223333:key/<id>"',
            )
        ]


class GkeKey(StrictModel):
    key_name: str = Field(description='e.g. "projects/<p>/locations/<region>/keyRings/<ring>/cryptoKeys/<key>"')


class GkeEncryption(EncryptionBase):
    key: GkeKey | None = Field(None, description="key: {key_name: projects/<p>/locations/<region>/...}")

    def key_issues(self, project: str, location: str) -> list[Issue]:
        """V38: the key must live in the cluster's region (a zonal cluster's region is its zone minus the suffix)."""
        if self.key is None:
            return []
        region = re.sub(r"-[a-z]$", "", location)
        match = _GKE_KEY.fullmatch(self.key.key_name)
        if match is not None and match.group(1) == region:
            return []
        return [
            Issue(
                ("key", "key_name"),
                f"FF-ENC-005 GKE key '{self.key.key_name}' must be a Cloud KMS key in location {region}",
                f'e.g. "projects/{project}/locations/{region}/keyRings/<ring>/cryptoKeys/<key>"',
            )
        ]


class AksKey(StrictModel):
    key_id: str = Field(description='e.g. "https://<vault>.vault.azure.net/keys/<name>/<version>"')
    key_vault_network_access: Literal["Public", "Private"] = "Public"
    key_vault_resource_id: str | None = Field(
        None, description='e.g. "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>"'
    )


class AksEncryption(EncryptionBase):
    key: AksKey | None = Field(None, description="key: {key_id: https://<vault>.vault.azure.net/keys/<name>/<version>}")

    def key_issues(self) -> list[Issue]:
        """V39."""
        key, issues = self.key, []
        if key is None:
            return issues
        vault_id_hint = AksKey.model_fields["key_vault_resource_id"].description or ""
        if not _VAULT_KEY.fullmatch(key.key_id):
            issues.append(
                Issue(
                    ("key", "key_id"),
                    f"FF-ENC-006 AKS KMS settings invalid: key_id '{key.key_id}' is not a versioned Key Vault key URI",
                    'e.g. "https://<vault>.vault.azure.net/keys/<name>/<version>"',
                )
            )
        if key.key_vault_network_access == "Private" and key.key_vault_resource_id is None:
            issues.append(
                Issue(
                    ("key", "key_vault_resource_id"),
                    "FF-ENC-006 AKS KMS settings invalid: key_vault_network_access Private needs key_vault_resource_id",
                    vault_id_hint,
                )
            )
        elif key.key_vault_resource_id is not None and not _VAULT_ID.fullmatch(key.key_vault_resource_id):
            issues.append(
                Issue(
                    ("key", "key_vault_resource_id"),
                    "FF-ENC-006 AKS KMS settings invalid: "
                    f"key_vault_resource_id '{key.key_vault_resource_id}' is not a Key Vault resource ID",
                    vault_id_hint,
                )
            )
        return issues


class AckKey(StrictModel):
    kms_key_id: str = Field(min_length=1, description='a KMS key id, e.g. "key-hzz62f1cb66fa42qo1234"')


class AckEncryption(EncryptionBase):
    key: AckKey | None = Field(None, description="key: {kms_key_id: key-...}")


class TkeKey(StrictModel):
    kms_key_id: str = Field(min_length=1, description='a KMS key id, e.g. "23e80852-1e38-11e9-b129-5cb9019b4b01"')
    kms_region: str | None = None  # None: the cluster's region


class TkeEncryption(EncryptionBase):
    key: TkeKey | None = Field(None, description="key: {kms_key_id: <id>, kms_region: <region>}")


class KmsPlugin(StrictModel):
    name: DnsLabel
    endpoint: str = Field(description='a unix socket, e.g. "unix:///var/run/kmsplugin/socket.sock"')
    timeout: duration() = timedelta(seconds=3)


HostKeyFingerprint = matching(
    r"SHA256:[A-Za-z0-9+/]{43}", "SHA256 host key fingerprint", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
)
KUBEADM_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"


class SshAccess(StrictModel):
    """How the engine reaches every control-plane host (``node_access: ssh``, §7.2).

    The private key comes from exactly one source; files and variables keep it out of stack files and are read
    only when the program needs it. Host keys are always checked (a known_hosts file, pinned fingerprints, or
    both): an unknown host key is never accepted, because the engine writes encryption keys to these hosts.
    """

    hosts: list[str] = Field(min_length=1, description='control-plane hosts, e.g. ["10.0.0.11", "10.0.0.12"]')
    port: int = Field(22, ge=1, le=65535)
    user: str = Field(min_length=1, description='a user that may write the layout paths, e.g. "root"')
    private_key: SecretStr | None = None
    private_key_file: str | None = Field(None, description='a path, e.g. "~/.ssh/fleetform_ed25519"')
    private_key_env: EnvVarName | None = None
    known_hosts_file: str | None = Field(None, description='a path, e.g. "~/.ssh/known_hosts"')
    host_key_fingerprints: list[HostKeyFingerprint] = Field(
        default_factory=list, description="as `ssh-keygen -lf <host key>.pub` prints them, one per host key"
    )
    manifest_path: str = Field(KUBEADM_MANIFEST, description="the kube-apiserver static-pod manifest")
    config_dir: str = Field("/etc/kubernetes/enc", description="where the EncryptionConfiguration is written")

    def key_sources(self) -> list[str]:
        """The private-key keys that are set."""
        return [key for key in ("private_key", "private_key_file", "private_key_env") if getattr(self, key) is not None]

    def access_issues(self) -> list[Issue]:
        """One key source, a host-key check, distinct hosts, and layout paths kubelet will not misread."""
        issues, given = [], self.key_sources()
        if len(given) != 1:
            issues.append(
                Issue(
                    (given[1],) if given else ("private_key",),
                    f"{', '.join(given)} are set together" if given else "field required",
                    "give exactly one of private_key, private_key_file or private_key_env, e.g. private_key_env: "
                    '"FLEETFORM_SSH_KEY"',
                )
            )
        if self.known_hosts_file is None and not self.host_key_fingerprints:
            issues.append(
                Issue(
                    ("known_hosts_file",),
                    "host keys must be checked: set known_hosts_file or host_key_fingerprints",
                    'e.g. known_hosts_file: "~/.ssh/known_hosts", or host_key_fingerprints: ["SHA256:..."] from '
                    "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on each host",
                )
            )
        duplicates = sorted({host for host in self.hosts if self.hosts.count(host) > 1})
        if duplicates:
            issues.append(Issue(("hosts",), f"hosts are listed twice: {', '.join(duplicates)}", "list each host once"))
        issues += self._layout_issues()
        return issues

    def _layout_issues(self) -> list[Issue]:
        issues = []
        for key in ("manifest_path", "config_dir"):
            path = PurePosixPath(getattr(self, key))
            if not path.is_absolute() or ".." in path.parts:
                default = type(self).model_fields[key].default
                issues.append(Issue((key,), f"'{path}' is not an absolute path without '..'", f'e.g. "{default}"'))
        manifest, config = PurePosixPath(self.manifest_path), PurePosixPath(self.config_dir)
        if not issues and manifest.suffix not in (".yaml", ".yml", ".json"):
            issues.append(
                Issue(
                    ("manifest_path",), f"'{manifest}' is not a static-pod manifest file", f'e.g. "{KUBEADM_MANIFEST}"'
                )
            )
        if not issues and config == manifest.parent:
            issues.append(
                Issue(
                    ("config_dir",),
                    f"config_dir '{config}' is the static-pod directory; kubelet would read the files there as pods",
                    'use a directory of its own, e.g. "/etc/kubernetes/enc"',
                )
            )
        return issues


class IdcEncryptionSettings(StrictModel):
    """§2.7 ``idc.*`` and §7.2: the EncryptionConfiguration the engine writes on kubeadm control planes."""

    provider: Literal["aesgcm", "secretbox", "aescbc", "kms"] = "aesgcm"
    resources: list[str] = Field(["secrets"], min_length=1)
    rotation_interval: duration("24h") = timedelta(hours=168)
    kms: KmsPlugin | None = None
    node_access: Literal["privileged-pod", "ssh"] = "privileged-pod"
    ssh: SshAccess | None = None
    etcd_backup: Literal["engine", "confirmed"] = "engine"


class IdcEncryption(EncryptionBase):
    idc: IdcEncryptionSettings = Field(default_factory=IdcEncryptionSettings)

    def settings_issues(self) -> list[Issue]:
        """Inputs that only make sense together (kms, ssh), and a warning for the weakest provider."""
        settings, issues = self.idc, []
        if settings.provider == "kms" and settings.kms is None:
            issues.append(
                Issue(("idc", "kms"), "field required", "provider kms needs {name, endpoint: unix:///...sock}")
            )
        elif settings.provider != "kms" and settings.kms is not None:
            issues.append(Issue(("idc", "kms"), "kms is only used with provider kms"))
        if settings.kms is not None and not settings.kms.endpoint.startswith("unix:///"):
            issues.append(
                Issue(
                    ("idc", "kms", "endpoint"),
                    f"'{settings.kms.endpoint}' is not a unix socket",
                    KmsPlugin.model_fields["endpoint"].description or "",
                )
            )
        if settings.node_access == "ssh" and settings.ssh is None:
            issues.append(
                Issue(
                    ("idc", "ssh"),
                    "field required",
                    "node_access ssh needs {hosts, user, private_key_file (or private_key_env), known_hosts_file}",
                )
            )
        elif settings.node_access != "ssh" and settings.ssh is not None:
            issues.append(Issue(("idc", "ssh"), "ssh is only used with node_access ssh"))
        elif settings.ssh is not None:
            issues += [issue._replace(keys=("idc", "ssh", *issue.keys)) for issue in settings.ssh.access_issues()]
        if settings.provider == "aescbc":
            issues.append(
                Issue(
                    ("idc", "provider"),
                    "aescbc is the weakest local provider",
                    "prefer aesgcm or secretbox",
                    warning=True,
                )
            )
        return issues
