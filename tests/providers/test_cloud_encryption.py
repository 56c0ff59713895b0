"""CloudEncryptionProvider against the cloud emulators: per kind, enable with the operation polled to its end and
read back; key changes as in-place updates; the EKS rules (irreversible, allow_irreversible, provider-default,
delete leaves the key); drift made in the emulator found by read and shown by diff; CTyun refused; failures and
timeouts coded; and a second create or update with the same inputs making no mutating call.

Every emulator lets an operation end only after it has been polled a few times, so the provider must poll.
"""

from __future__ import annotations

import itertools

import pytest

from providers.dynamic import CloudEncryptionProvider, cloud_encryption
from providers.errors import ClusterAccessError, FleetformError
from sandbox.clouds.ack import AckEmulator
from sandbox.clouds.aks import AksEmulator
from sandbox.clouds.eks import EksEmulator
from sandbox.clouds.gke import GkeEmulator
from sandbox.clouds.tke import TkeEmulator
from sandbox.kubeapi import KubeApiEmulator

EKS_REGION = "eu-west-1"
EKS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
EKS_OTHER_KEY = "arn:aws:kms:eu-west-1:111122223333:key/99999999-12ab-34cd-56ef-1234567890ab"
GKE_PROJECT, GKE_LOCATION = "acme-platform", "europe-west1"
GKE_KEY = f"projects/{GKE_PROJECT}/locations/{GKE_LOCATION}/keyRings/fleet/cryptoKeys/etcd"
GKE_OTHER_KEY = f"projects/{GKE_PROJECT}/locations/{GKE_LOCATION}/keyRings/fleet/cryptoKeys/etcd-2"
AKS_SUBSCRIPTION, AKS_GROUP = "00000000-0000-0000-0000-000000000000", "rg-fleet"
AKS_KEY = "https://fleet-kv.vault.azure.net/keys/etcd/0123abcd"
AKS_OTHER_KEY = "https://fleet-kv.vault.azure.net/keys/etcd/4567ef01"
AKS_VAULT = f"/subscriptions/{AKS_SUBSCRIPTION}/resourceGroups/{AKS_GROUP}/providers/Microsoft.KeyVault/vaults/fleet-kv"
ACK_REGION, TKE_REGION = "cn-hangzhou", "ap-guangzhou"
_numbers = itertools.count(1)


# --- emulators and environment ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kube_api():
    with KubeApiEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def eks_cloud(kube_api):
    with EksEmulator(kube_api) as emulator:
        emulator.update_seconds, emulator.update_polls = 0, 2
        yield emulator


@pytest.fixture(scope="module")
def gke_cloud(kube_api):
    with GkeEmulator(kube_api) as emulator:
        emulator.operation_seconds, emulator.operation_polls = 0, 2
        yield emulator


@pytest.fixture(scope="module")
def aks_cloud(kube_api):
    with AksEmulator(kube_api, operation_seconds=0, operation_polls=1) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def ack_cloud(kube_api):
    with AckEmulator(kube_api, update_seconds=0, update_polls=2, kms_cooldown=0) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def tke_cloud(kube_api):
    with TkeEmulator(kube_api) as emulator:
        emulator.encryption_delay, emulator.encryption_polls = 0, 2
        yield emulator


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    monkeypatch.setattr(cloud_encryption, "POLL_FIRST_SECONDS", 0.02)
    monkeypatch.setattr(cloud_encryption, "POLL_MAX_SECONDS", 0.1)


@pytest.fixture
def logged(monkeypatch):
    """What the provider logs (pulumi.log warn/info), as ``(level, message)``."""
    lines: list[tuple[str, str]] = []
    monkeypatch.setattr(cloud_encryption.pulumi.log, "warn", lambda msg, *a, **k: lines.append(("warn", msg)))
    monkeypatch.setattr(cloud_encryption.pulumi.log, "info", lambda msg, *a, **k: lines.append(("info", msg)))
    return lines


def use(monkeypatch, emulator):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in emulator.environment().items():
        monkeypatch.setenv(name, value)
    return emulator


def props(kind, identity, endpoint, key, *, enabled=True, allow_irreversible=False, version="v1.29.4", timeout=60):
    return {
        "cluster": f"enc-{next(_numbers)}",
        "kind": kind,
        "identity": identity,
        "cloud_endpoint": endpoint,
        "key": key,
        "enabled": enabled,
        "allow_irreversible": allow_irreversible,
        "kubernetes_version": version,
        "timeout_seconds": timeout,
    }


def reasons(result) -> list[tuple[str, str]]:
    return [(failure.property, failure.reason) for failure in result.failures]


def inputs_of(outs: dict) -> dict:
    return {k: outs[k] for k in cloud_encryption.CloudEncryptionInputs.placeholders()}


@pytest.fixture
def eks(monkeypatch, eks_cloud):
    use(monkeypatch, eks_cloud)

    def add(**options) -> dict:
        identity = {"region": EKS_REGION, "cluster_name": f"enc-{next(_numbers)}"}
        eks_cloud.add_cluster(**identity, **options)
        return identity

    return add


@pytest.fixture
def gke(monkeypatch, gke_cloud):
    use(monkeypatch, gke_cloud)

    def add(**options) -> dict:
        identity = {"project": GKE_PROJECT, "location": GKE_LOCATION, "cluster_name": f"enc-{next(_numbers)}"}
        gke_cloud.add_cluster(**identity, **options)
        return identity

    return add


@pytest.fixture
def aks(monkeypatch, aks_cloud):
    use(monkeypatch, aks_cloud)

    def add(**options) -> dict:
        identity = {
            "subscription_id": AKS_SUBSCRIPTION,
            "resource_group": AKS_GROUP,
            "cluster_name": f"enc-{next(_numbers)}",
        }
        aks_cloud.add_cluster(**identity, **options)
        return identity

    return add


@pytest.fixture
def ack(monkeypatch, ack_cloud):
    use(monkeypatch, ack_cloud)

    def add(**options) -> dict:
        identity = {"region_id": ACK_REGION, "cluster_id": f"c{next(_numbers):08d}abc"}
        ack_cloud.add_cluster(**identity, **options)
        return identity

    return add


@pytest.fixture
def tke(monkeypatch, tke_cloud):
    use(monkeypatch, tke_cloud)

    def add(**options) -> dict:
        identity = {"region": TKE_REGION, "cluster_id": f"cls-{next(_numbers):08d}"}
        tke_cloud.add_cluster(**identity, **options)
        return identity

    return add


# --- EKS --------------------------------------------------------------------------------------------------------


def test_eks_enable_polls_the_update_and_reads_the_key_back(eks, eks_cloud, logged):
    identity = eks()
    inputs = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY}, allow_irreversible=True)
    provider = CloudEncryptionProvider()

    assert reasons(provider.check({}, inputs)) == []
    assert any(
        level == "warn" and msg.startswith("FF-ENC-002 ") and "irreversible" in msg and EKS_KEY in msg
        for level, msg in logged
    )
    before = eks_cloud.calls.copy()
    created = provider.create(inputs).outs

    assert (created["state"], created["provider"], created["key_ref"], created["verified"]) == (
        "enabled",
        "aws-kms",
        EKS_KEY,
        True,
    )
    assert created["operation_id"]
    assert eks_cloud.calls["AssociateEncryptionConfig"] - before["AssociateEncryptionConfig"] == 1
    assert eks_cloud.calls["DescribeUpdate"] - before["DescribeUpdate"] >= 3  # two InProgress, then Successful

    calls = eks_cloud.calls.copy()
    assert provider.create(inputs).outs["state"] == "enabled"  # a second create: nothing to do
    assert provider.update("eks/x", created, inputs).outs["verified"] is True
    assert eks_cloud.calls["AssociateEncryptionConfig"] == calls["AssociateEncryptionConfig"]


def test_eks_association_needs_allow_irreversible(eks, eks_cloud):
    identity = eks()
    inputs = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY})
    expected = "FF-ENC-014 EKS secrets encryption is irreversible; set allow_irreversible=true to proceed"

    assert reasons(CloudEncryptionProvider().check({}, inputs)) == [("allow_irreversible", expected)]
    calls = eks_cloud.calls["AssociateEncryptionConfig"]
    with pytest.raises(ClusterAccessError, match=expected):
        CloudEncryptionProvider().create(inputs)
    assert eks_cloud.calls["AssociateEncryptionConfig"] == calls


def test_eks_refuses_to_change_or_disable_an_associated_key(eks, eks_cloud):
    identity = eks(encryption_key_arn=EKS_KEY)
    provider = CloudEncryptionProvider()
    rekey = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_OTHER_KEY}, allow_irreversible=True)
    off = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY}, enabled=False)

    [(field, reason)] = reasons(provider.check({}, rekey))
    assert field == "key" and reason.startswith(
        f"FF-ENC-002 EKS secrets encryption on '{rekey['cluster']}' cannot be disabled or re-keyed once associated"
    )
    assert EKS_KEY in reason  # the fix names the key EKS keeps
    [(field, reason)] = reasons(provider.check({}, off))
    assert field == "enabled" and reason.startswith("FF-ENC-002 ")
    with pytest.raises(ClusterAccessError, match="FF-ENC-002"):
        provider.create(rekey)
    # the same key as the cluster's needs no call, and so no allow_irreversible
    same = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY})
    assert reasons(provider.check({}, same)) == []
    assert provider.create(same).outs["verified"] is True


def test_eks_without_a_key_is_provider_default_from_128(eks, eks_cloud):
    recent, old = eks(version="1.29.4"), eks(version="1.27.9")
    provider = CloudEncryptionProvider()
    calls = eks_cloud.calls["AssociateEncryptionConfig"]

    default = props("eks", recent, eks_cloud.endpoint, None, version="v1.29.4-eks-1a2b3c")
    assert reasons(provider.check({}, default)) == []
    outs = provider.create(default).outs
    assert (outs["state"], outs["provider"], outs["key_ref"], outs["verified"]) == (
        "provider-default",
        "provider-default",
        "",
        False,
    )
    assert outs["state_reason"] == "FF-ENC-I01 EKS 1.29 already encrypts Kubernetes API data with an AWS-owned key"
    assert eks_cloud.calls["AssociateEncryptionConfig"] == calls

    too_old = props("eks", old, eks_cloud.endpoint, None, version="v1.27.9-eks-1a2b3c")
    assert reasons(provider.check({}, too_old)) == [
        ("key", "FF-ENC-013 EKS 1.27 needs key_arn to enable secrets encryption")
    ]


def test_eks_delete_leaves_the_key_associated_and_says_so(eks, eks_cloud, logged):
    identity = eks()
    inputs = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY}, allow_irreversible=True)
    provider = CloudEncryptionProvider()
    outs = provider.create(inputs).outs
    logged.clear()

    provider.delete("eks/x", outs)

    [(level, message)] = logged
    assert level == "warn" and message.startswith("FF-ENC-002 ") and "fleetform only forgets" in message
    from providers.clouds import eks as eks_kind

    assert eks_kind.source(identity, eks_cloud.endpoint).encryption_status()["key"] == EKS_KEY


def test_eks_failed_update_is_coded(eks, eks_cloud):
    identity = eks()
    eks_cloud.fail_next_update("AccessDenied", "The cluster role may not use the key.")
    inputs = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY}, allow_irreversible=True)
    with pytest.raises(FleetformError, match="FF-ENC-022 EKS encryption update .* failed: .*AccessDenied"):
        CloudEncryptionProvider().create(inputs)


def test_eks_timeout_is_coded_and_names_the_update(eks, eks_cloud, monkeypatch):
    identity = eks()
    monkeypatch.setattr(eks_cloud, "update_polls", 10_000)
    inputs = props("eks", identity, eks_cloud.endpoint, {"key_arn": EKS_KEY}, allow_irreversible=True, timeout=1)
    with pytest.raises(
        FleetformError, match=r"FF-ENC-023 EKS encryption on '.*' is still enabling after 1s \(operation "
    ):
        CloudEncryptionProvider().create(inputs)


# --- GKE --------------------------------------------------------------------------------------------------------


def test_gke_enable_rekey_and_a_second_update_without_a_call(gke, gke_cloud):
    identity = gke()
    provider = CloudEncryptionProvider()
    inputs = props("gke", identity, gke_cloud.endpoint, {"key_name": GKE_KEY})
    assert reasons(provider.check({}, inputs)) == []

    before = gke_cloud.calls.copy()
    outs = provider.create(inputs).outs
    assert (outs["state"], outs["provider"], outs["key_ref"], outs["verified"]) == ("enabled", "gcp-kms", GKE_KEY, True)
    assert outs["operation_id"].startswith("operation-")
    assert gke_cloud.calls["UpdateCluster"] - before["UpdateCluster"] == 1
    assert gke_cloud.calls["GetOperation"] - before["GetOperation"] >= 3

    rekeyed = {**inputs, "key": {"key_name": GKE_OTHER_KEY}}
    diff = provider.diff("gke/x", outs, rekeyed)
    assert (diff.changes, diff.replaces) == (True, [])
    outs = provider.update("gke/x", outs, rekeyed).outs
    assert (outs["state"], outs["key_ref"], outs["verified"]) == ("enabled", GKE_OTHER_KEY, True)
    assert gke_cloud.calls["UpdateCluster"] - before["UpdateCluster"] == 2

    assert provider.diff("gke/x", outs, rekeyed).changes is False
    provider.update("gke/x", outs, rekeyed)
    provider.create(rekeyed)
    assert gke_cloud.calls["UpdateCluster"] - before["UpdateCluster"] == 2  # nothing more to do: no call


def test_gke_drift_is_read_and_diffs_against_the_declaration(gke, gke_cloud):
    identity = gke()
    provider = CloudEncryptionProvider()
    inputs = props("gke", identity, gke_cloud.endpoint, {"key_name": GKE_KEY})
    outs = provider.create(inputs).outs
    assert provider.diff("gke/x", outs, inputs).changes is False

    gke_cloud.set_database_encryption(**identity, key_name=GKE_OTHER_KEY)
    read = provider.read("gke/x", outs)
    assert (read.outs["state"], read.outs["key_ref"], read.outs["verified"]) == ("enabled", GKE_OTHER_KEY, False)
    assert read.inputs["key"] == {"key_name": GKE_OTHER_KEY}
    assert provider.diff("gke/x", read.outs, inputs).changes is True

    gke_cloud.set_database_encryption(**identity, key_name=None)
    read = provider.read("gke/x", outs)
    assert (read.outs["state"], read.outs["provider"], read.inputs["enabled"]) == ("disabled", "none", False)
    assert provider.diff("gke/x", read.outs, inputs).changes is True
    restored = provider.update("gke/x", read.outs, inputs).outs  # the update the diff plans puts it back
    assert (restored["state"], restored["key_ref"], restored["verified"]) == ("enabled", GKE_KEY, True)


def test_gke_checks_the_key_location_without_a_call(gke, gke_cloud):
    identity = gke()
    before = gke_cloud.calls.copy()
    inputs = props(
        "gke", identity, gke_cloud.endpoint, {"key_name": "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k"}
    )
    assert reasons(CloudEncryptionProvider().check({}, inputs)) == [
        (
            "key",
            "FF-ENC-005 GKE key 'projects/p/locations/us-east1/keyRings/r/cryptoKeys/k' must be a Cloud KMS key in "
            "location europe-west1",
        )
    ]
    assert gke_cloud.calls == before


def test_gke_failed_operation_is_ff_enc_020(gke, gke_cloud):
    identity = gke()
    gke_cloud.fail_next_operation("Cloud KMS key is disabled.")
    inputs = props("gke", identity, gke_cloud.endpoint, {"key_name": GKE_KEY})
    with pytest.raises(FleetformError, match="FF-ENC-020 GKE encryption update failed: .*Cloud KMS key is disabled"):
        CloudEncryptionProvider().create(inputs)


def test_gke_disable_when_declared_off(gke, gke_cloud):
    identity = gke(database_encryption_key=GKE_KEY)
    inputs = props("gke", identity, gke_cloud.endpoint, {"key_name": GKE_KEY}, enabled=False)
    outs = CloudEncryptionProvider().create(inputs).outs
    assert (outs["state"], outs["provider"], outs["verified"]) == ("disabled", "none", False)
    from providers.clouds import gke as gke_kind

    assert gke_kind.source(identity, gke_cloud.endpoint).encryption_status()["state"] == "CURRENT_STATE_DECRYPTED"


def test_an_unreachable_cloud_defers_the_check_to_apply(gke, logged):
    identity = gke()
    inputs = props("gke", identity, "http://127.0.0.1:9", {"key_name": GKE_KEY})
    assert reasons(CloudEncryptionProvider().check({}, inputs)) == []
    assert any(level == "warn" and msg.startswith("FF-GEN-W01 check deferred to apply") for level, msg in logged)


# --- AKS --------------------------------------------------------------------------------------------------------


def test_aks_enable_rekey_access_switch_and_idempotence(aks, aks_cloud):
    identity = aks()
    provider = CloudEncryptionProvider()
    key = {"key_id": AKS_KEY, "key_vault_network_access": "Public", "key_vault_resource_id": None}
    inputs = props("aks", identity, aks_cloud.endpoint, key)
    assert reasons(provider.check({}, inputs)) == []

    before = aks_cloud.calls.copy()
    outs = provider.create(inputs).outs
    assert (outs["state"], outs["provider"], outs["key_ref"], outs["verified"]) == (
        "enabled",
        "azure-keyvault",
        AKS_KEY,
        True,
    )
    assert outs["operation_id"]
    assert aks_cloud.calls["PUT managedCluster"] - before["PUT managedCluster"] == 1
    assert aks_cloud.calls["GET operation"] - before["GET operation"] >= 2  # InProgress once, then Succeeded

    rekeyed = {**inputs, "key": {**key, "key_id": AKS_OTHER_KEY}}
    assert (provider.diff("aks/x", outs, rekeyed).changes, provider.diff("aks/x", outs, rekeyed).replaces) == (
        True,
        [],
    )
    outs = provider.update("aks/x", outs, rekeyed).outs
    assert (outs["key_ref"], outs["verified"]) == (AKS_OTHER_KEY, True)
    assert aks_cloud.calls["PUT managedCluster"] - before["PUT managedCluster"] == 2

    private = {
        **rekeyed,
        "key": {**rekeyed["key"], "key_vault_network_access": "Private", "key_vault_resource_id": AKS_VAULT},
    }
    outs = provider.update("aks/x", outs, private).outs  # AKS needs KMS off to switch: disable, then enable
    kms = aks_cloud.cluster(**identity)["properties"]["securityProfile"]["azureKeyVaultKms"]
    assert (kms["enabled"], kms["keyVaultNetworkAccess"], kms["keyVaultResourceId"]) == (True, "Private", AKS_VAULT)
    assert outs["verified"] is True
    assert aks_cloud.calls["PUT managedCluster"] - before["PUT managedCluster"] == 4

    provider.update("aks/x", outs, private)
    provider.create(private)
    assert aks_cloud.calls["PUT managedCluster"] - before["PUT managedCluster"] == 4


def test_aks_drift_is_read(aks, aks_cloud):
    identity = aks()
    provider = CloudEncryptionProvider()
    inputs = props("aks", identity, aks_cloud.endpoint, {"key_id": AKS_KEY})
    outs = provider.create(inputs).outs

    aks_cloud.set_kms(**identity, kms={"enabled": True, "keyId": AKS_OTHER_KEY, "keyVaultNetworkAccess": "Public"})
    read = provider.read("aks/x", outs)
    assert (read.outs["key_ref"], read.outs["verified"], read.inputs["key"]["key_id"]) == (
        AKS_OTHER_KEY,
        False,
        AKS_OTHER_KEY,
    )
    assert provider.diff("aks/x", read.outs, inputs).changes is True


def test_aks_invalid_settings_fail_the_preview(aks, aks_cloud):
    identity = aks()
    inputs = props("aks", identity, aks_cloud.endpoint, {"key_id": AKS_KEY, "key_vault_network_access": "Private"})
    assert reasons(CloudEncryptionProvider().check({}, inputs)) == [
        ("key", "FF-ENC-006 AKS KMS settings invalid: key_vault_network_access Private needs key_vault_resource_id")
    ]


# --- ACK --------------------------------------------------------------------------------------------------------


def test_ack_enable_waits_for_running_and_cannot_verify_the_key(ack, ack_cloud):
    identity = ack()
    provider = CloudEncryptionProvider()
    inputs = props("ack", identity, ack_cloud.endpoint, {"kms_key_id": "key-hzz1234"})
    assert reasons(provider.check({}, inputs)) == []

    before = ack_cloud.calls.copy()
    outs = provider.create(inputs).outs
    assert (outs["state"], outs["provider"], outs["key_ref"], outs["verified"]) == (
        "enabled",
        "alibaba-kms",
        "key-hzz1234",
        False,
    )
    assert "ACK reports neither the state nor the key" in outs["state_reason"]
    assert ack_cloud.kms(identity["cluster_id"]) == {"kms_key_id": "key-hzz1234", "disable_encryption": False}
    assert ack_cloud.cluster(identity["cluster_id"])["state"] == "running"
    assert ack_cloud.calls["UpdateKMSEncryption"] - before["UpdateKMSEncryption"] == 1
    assert ack_cloud.calls["DescribeClusterDetail"] - before["DescribeClusterDetail"] >= 3

    rekeyed = {**inputs, "key": {"kms_key_id": "key-hzz5678"}}
    assert provider.diff("ack/x", outs, rekeyed).replaces == []
    outs = provider.update("ack/x", outs, rekeyed).outs
    assert outs["key_ref"] == "key-hzz5678"
    assert ack_cloud.kms(identity["cluster_id"])["kms_key_id"] == "key-hzz5678"
    assert ack_cloud.calls["UpdateKMSEncryption"] - before["UpdateKMSEncryption"] == 2

    provider.update("ack/x", outs, rekeyed)  # recorded as done: no call
    assert ack_cloud.calls["UpdateKMSEncryption"] - before["UpdateKMSEncryption"] == 2

    ack_cloud.set_kms(identity["cluster_id"], None)  # ACK's API shows nothing of it: refresh cannot see it
    assert provider.read("ack/x", outs).outs["state"] == "enabled"


def test_ack_below_pro_fails_the_preview(ack, ack_cloud):
    identity = ack(cluster_spec="ack.standard")
    inputs = props("ack", identity, ack_cloud.endpoint, {"kms_key_id": "key-hzz1234"})
    assert reasons(CloudEncryptionProvider().check({}, inputs)) == [
        (
            "identity",
            f"FF-ENC-003 ACK cluster '{inputs['cluster']}' is ack.standard; Secret encryption needs ACK Pro "
            "(ack.pro.small)",
        )
    ]
    with pytest.raises(ClusterAccessError, match="FF-ENC-003"):
        CloudEncryptionProvider().create(inputs)
    assert ack_cloud.kms(identity["cluster_id"]) is None


def test_ack_cool_down_is_ff_enc_004(ack, ack_cloud, monkeypatch):
    identity = ack()
    provider = CloudEncryptionProvider()
    inputs = props("ack", identity, ack_cloud.endpoint, {"kms_key_id": "key-hzz1234"})
    outs = provider.create(inputs).outs
    monkeypatch.setattr(ack_cloud, "kms_cooldown", 300)
    with pytest.raises(FleetformError, match="FF-ENC-004 ACK rejected the change"):
        provider.update("ack/x", outs, {**inputs, "key": {"kms_key_id": "key-hzz5678"}})


# --- TKE --------------------------------------------------------------------------------------------------------


def test_tke_enable_rekey_by_disable_then_enable(tke, tke_cloud):
    identity = tke()
    provider = CloudEncryptionProvider()
    key = {"kms_key_id": "kms-1111", "kms_region": TKE_REGION}
    inputs = props("tke", identity, tke_cloud.endpoint, key)
    assert reasons(provider.check({}, inputs)) == []

    before = tke_cloud.calls.copy()
    outs = provider.create(inputs).outs
    assert (outs["state"], outs["provider"], outs["key_ref"], outs["verified"]) == (
        "enabled",
        "tencent-kms",
        "kms-1111",
        False,
    )
    assert "TKE does not report the key" in outs["state_reason"]
    assert tke_cloud.encryption(**identity)["key_id"] == "kms-1111"
    assert tke_cloud.calls["EnableEncryptionProtection"] - before["EnableEncryptionProtection"] == 1
    assert tke_cloud.calls["DescribeEncryptionStatus"] - before["DescribeEncryptionStatus"] >= 3

    rekeyed = {**inputs, "key": {**key, "kms_key_id": "kms-2222"}}
    assert (provider.diff("tke/x", outs, rekeyed).changes, provider.diff("tke/x", outs, rekeyed).replaces) == (True, [])
    outs = provider.update("tke/x", outs, rekeyed).outs
    assert (outs["state"], outs["key_ref"]) == ("enabled", "kms-2222")
    assert tke_cloud.encryption(**identity)["key_id"] == "kms-2222"
    assert tke_cloud.calls["DisableEncryptionProtection"] - before["DisableEncryptionProtection"] == 1
    assert tke_cloud.calls["EnableEncryptionProtection"] - before["EnableEncryptionProtection"] == 2

    provider.update("tke/x", outs, rekeyed)
    assert tke_cloud.calls["EnableEncryptionProtection"] - before["EnableEncryptionProtection"] == 2


def test_tke_turned_off_outside_fleetform_is_drift(tke, tke_cloud):
    identity = tke()
    provider = CloudEncryptionProvider()
    inputs = props("tke", identity, tke_cloud.endpoint, {"kms_key_id": "kms-1111", "kms_region": TKE_REGION})
    outs = provider.create(inputs).outs

    tke_cloud.set_encryption(**identity, key_id=None)
    read = provider.read("tke/x", outs)
    assert (read.outs["state"], read.inputs["enabled"]) == ("disabled", False)
    assert provider.diff("tke/x", read.outs, inputs).changes is True
    restored = provider.update("tke/x", read.outs, inputs).outs
    assert restored["state"] == "enabled" and tke_cloud.encryption(**identity)["status"] == "Opened"


def test_tke_already_opened_is_adopted_without_a_call(tke, tke_cloud, logged):
    identity = tke()
    tke_cloud.set_encryption(**identity, key_id="kms-1111")
    inputs = props("tke", identity, tke_cloud.endpoint, {"kms_key_id": "kms-1111", "kms_region": TKE_REGION})
    calls = tke_cloud.calls["EnableEncryptionProtection"]
    outs = CloudEncryptionProvider().create(inputs).outs
    assert (outs["state"], outs["verified"]) == ("enabled", False)
    assert tke_cloud.calls["EnableEncryptionProtection"] == calls
    assert any(level == "warn" and "does not report with which key" in msg for level, msg in logged)


def test_tke_refusal_is_ff_enc_007(tke, tke_cloud):
    identity = tke(kms_authorized=False)
    inputs = props("tke", identity, tke_cloud.endpoint, {"kms_key_id": "kms-1111", "kms_region": TKE_REGION})
    with pytest.raises(FleetformError, match="FF-ENC-007 TKE refused EnableEncryptionProtection: FailedOperation"):
        CloudEncryptionProvider().create(inputs)


# --- kinds without the capability ------------------------------------------------------------------------------


def test_ctyun_is_refused_and_never_skipped():
    inputs = props("ctyun", {"region_id": "bb9fdb42056f11eda1610242ac110002", "cluster_id": "c-1234"}, "", None)
    [(field, reason)] = reasons(CloudEncryptionProvider().check({}, inputs))
    assert field == "kind"
    assert reason == (
        "FF-ENC-001 etcd/Secret encryption is not supported for kind ctyun: CTyun CCE offers no KMS or "
        f"secret-encryption API and its control-plane hosts are not reachable. Remove EtcdEncryption "
        f"'{inputs['cluster']}' or set enabled=false"
    )
    with pytest.raises(ClusterAccessError, match="FF-ENC-001"):
        CloudEncryptionProvider().create(inputs)

    off = {**inputs, "enabled": False}  # the fix the message names
    assert reasons(CloudEncryptionProvider().check({}, off)) == []
    assert CloudEncryptionProvider().create(off).outs["state"] == "disabled"


def test_a_missing_key_is_refused_where_one_is_needed(tke, tke_cloud):
    identity = tke()
    inputs = props("tke", identity, tke_cloud.endpoint, None)
    assert reasons(CloudEncryptionProvider().check({}, inputs)) == [
        ("key", "FF-ENC-013 TKE needs key.kms_key_id to enable secrets encryption")
    ]


def test_delete_of_a_reversible_kind_leaves_encryption_on(gke, gke_cloud, logged):
    identity = gke()
    provider = CloudEncryptionProvider()
    outs = provider.create(props("gke", identity, gke_cloud.endpoint, {"key_name": GKE_KEY})).outs
    calls = gke_cloud.calls["UpdateCluster"]
    logged.clear()
    provider.delete("gke/x", outs)
    assert gke_cloud.calls["UpdateCluster"] == calls
    [(level, message)] = logged
    assert level == "info" and "stays on" in message and "enabled: false" in message
