"""The aks kind against the AKS emulator, through azure-identity and azure-mgmt-containerservice."""

from __future__ import annotations

import base64
import pickle

import pytest
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient

from providers import kube
from providers.clouds import aks, kind_problems
from providers.clouds.base import CloudError
from providers.dynamic import ClusterLookupProvider
from providers.errors import ErrorCode
from sandbox.clouds.aks import AksEmulator

SUBSCRIPTION = "6f1c2b9e-0d4a-4c1e-9b7a-2f3e4d5c6b7a"
GROUP = "rg-fleet"
KEY_ID = "https://fleet-kv.vault.azure.net/keys/etcd/0123456789abcdef0123456789abcdef"


@pytest.fixture
def cloud(fresh_kube_api, cloud_env):
    with AksEmulator(fresh_kube_api, operation_seconds=0.1) as emulator:
        yield cloud_env(emulator)


def source(cloud: AksEmulator, name: str = "prod", group: str = GROUP) -> aks.AksSource:
    identity = {"subscription_id": SUBSCRIPTION, "resource_group": group, "cluster_name": name}
    return aks.source(identity, cloud.endpoint)


def raw_client(cloud: AksEmulator, **options) -> ContainerServiceClient:
    credential = DefaultAzureCredential(disable_instance_discovery=True)
    return ContainerServiceClient(credential, SUBSCRIPTION, base_url=cloud.endpoint, retry_total=0, **options)


def lookup_props(cloud: AksEmulator, **extra) -> dict:
    return {
        "cluster": "entra",
        "kind": "aks",
        "min_version": "1.19",
        "cloud_endpoint": cloud.endpoint,
        "identity": {"subscription_id": SUBSCRIPTION, "resource_group": GROUP, "cluster_name": "entra"},
        **extra,
    }


# --- lookup -----------------------------------------------------------------------------------------


def test_describe_reports_state_version_endpoint_and_ca(cloud, fresh_kube_api):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod", version="1.29.4", location="westeurope")
    description = source(cloud).describe()
    backing = fresh_kube_api.cluster("aks-prod")
    assert description.kind == "aks"
    assert (description.state, description.running) == ("Running", True)
    assert description.kubernetes_version == "1.29.4"
    assert description.region == "westeurope"
    assert description.endpoint == backing.url
    assert base64.b64decode(description.ca_data).decode() == backing.ca_pem
    assert description.native_id == (
        f"/subscriptions/{SUBSCRIPTION}/resourcegroups/{GROUP}/providers/"
        "Microsoft.ContainerService/managedClusters/prod"
    )
    assert description.flags == {"disable_local_accounts": False, "azure_key_vault_kms": None, "sku_tier": "Free"}
    assert aks.check(description, "prod") == []


def test_admin_credentials_open_the_backing_cluster(cloud, fresh_kube_api):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod", version="1.28.9")
    info = kube.probe(source(cloud).credentials(), "prod")
    assert info.git_version == "v1.28.9"
    assert info.kube_system_uid == fresh_kube_api.cluster("aks-prod").kube_system_uid


@pytest.mark.parametrize(
    ("provisioning", "power", "state"),
    [
        ("Succeeded", "Stopped", "Stopped"),
        ("Updating", "Running", "Updating"),
        ("Failed", "Running", "Failed"),
    ],
)
def test_a_cluster_that_is_not_running_says_why(cloud, provisioning, power, state):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod", state=provisioning, power_state=power)
    description = source(cloud).describe()
    assert (description.running, description.state) == (False, state)


@pytest.mark.parametrize("group", [GROUP, "rg-elsewhere"])
def test_not_found_names_the_cluster_and_its_resource_group(cloud, group):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    with pytest.raises(CloudError) as caught:
        source(cloud, "staging", group).describe()
    assert caught.value.reason == "not-found"
    assert str(caught.value) == (
        f"FF-REG-003 aks cluster staging not found in resource group {group} (subscription {SUBSCRIPTION})"
    )


def test_local_accounts_disabled_needs_a_bootstrap_kubeconfig(cloud):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "entra", disable_local_accounts=True)
    src = source(cloud, "entra")
    description = src.describe()  # the user credential (kubelogin) still carries server and CA
    assert description.running and description.ca_data
    assert list(map(str, aks.check(description, "entra"))) == [
        "FF-KIND-011 AKS cluster 'entra' disables local accounts; supply bootstrap_kubeconfig with an Entra "
        "identity that is cluster-admin"
    ]
    with pytest.raises(CloudError) as caught:
        src.credentials()
    assert caught.value.reason == "invalid"
    assert "disable local accounts" in str(caught.value)


# --- error mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inject", [lambda c: c.throttle_next(2), lambda c: c.fail_next(2, 503)], ids=["throttled", "unavailable"]
)
def test_throttling_and_transient_faults_are_retried(cloud, inject):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    inject(cloud)
    assert source(cloud).describe().running


def test_a_rejected_token_names_the_variables_to_set(cloud):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    cloud.deny_next(1)
    with pytest.raises(CloudError) as caught:
        source(cloud).describe()
    assert caught.value.reason == "unauthorized"
    assert "InvalidAuthenticationToken" in str(caught.value)
    assert "set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET or run az login" in str(caught.value)


def test_a_wrong_client_secret_is_reported_with_the_entra_error(cloud, monkeypatch):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-the-secret")
    with pytest.raises(CloudError) as caught:
        source(cloud).credentials()
    assert caught.value.reason == "unauthorized"
    assert "AADSTS7000215" in str(caught.value)
    assert "AZURE_CLIENT_SECRET" in str(caught.value)


# --- shared SDK clients -----------------------------------------------------------------------------


def test_clusters_share_the_credential_and_the_client(cloud, counted):
    credentials, clients = counted(aks, "DefaultAzureCredential"), counted(aks, "ContainerServiceClient")
    for name in ("prod", "staging"):
        cloud.add_cluster(SUBSCRIPTION, GROUP, name)

    assert all(source(cloud, name).describe().running for name in ("prod", "staging"))

    assert (len(credentials), len(clients)) == (1, 1)


def test_a_secret_changed_in_the_environment_gets_a_new_credential(cloud, monkeypatch, counted):
    credentials = counted(aks, "DefaultAzureCredential")
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    assert source(cloud).describe().running

    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-the-secret")

    with pytest.raises(CloudError) as caught:
        source(cloud).describe()
    assert "AADSTS7000215" in str(caught.value)  # the held token would have been accepted
    assert len(credentials) == 2


def test_concurrent_describes_share_the_client_without_discarding_connections(cloud, describe_concurrently):
    names = [f"prod-{number}" for number in range(24)]
    for name in names:
        cloud.add_cluster(SUBSCRIPTION, GROUP, name)
    assert describe_concurrently([source(cloud, name) for name in names]) == ["Running"] * len(names)


# --- the emulator follows ARM, checked with the raw SDK ---------------------------------------------


def test_raw_sdk_reads_the_resource_credentials_and_errors(cloud):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod", version="1.30.2", sku_tier="Standard")
    with raw_client(cloud, credential_scopes=[f"{cloud.endpoint}/.default"]) as client:
        cluster = client.managed_clusters.get(GROUP, "prod")
        assert (cluster.provisioning_state, cluster.power_state.code) == ("Succeeded", "Running")
        assert (cluster.kubernetes_version, cluster.current_kubernetes_version) == ("1.30", "1.30.2")
        assert cluster.sku.tier == "Standard" and cluster.e_tag
        admin = client.managed_clusters.list_cluster_admin_credentials(GROUP, "prod")
        assert admin.kubeconfigs[0].name == "clusterAdmin"
        assert admin.kubeconfigs[0].value.startswith(b"apiVersion: v1")  # the SDK decoded the base64
        with pytest.raises(ResourceNotFoundError) as caught:
            client.managed_clusters.get(GROUP, "missing")
        assert caught.value.error.code == "ResourceNotFound"


def test_a_token_for_another_audience_is_refused(cloud):
    """The credential scope must follow the endpoint: the SDK's default scope is ARM's."""
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    with raw_client(cloud) as client, pytest.raises(ClientAuthenticationError) as caught:
        client.managed_clusters.get(GROUP, "prod")
    assert caught.value.error.code == "InvalidAuthenticationTokenAudience"


# --- encryption -------------------------------------------------------------------------------------


def test_enable_encryption_puts_the_kms_settings_and_waits(cloud):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    src = source(cloud)
    assert src.encryption_status()["enabled"] is False
    result = src.enable_encryption({"key_id": KEY_ID})
    assert (result["enabled"], result["key"], result["provisioning_state"]) == (True, KEY_ID, "Succeeded")
    kms = cloud.cluster(SUBSCRIPTION, GROUP, "prod")["properties"]["securityProfile"]["azureKeyVaultKms"]
    assert kms == {"enabled": True, "keyId": KEY_ID, "keyVaultNetworkAccess": "Public"}
    assert src.describe().flags["azure_key_vault_kms"]["key_id"] == KEY_ID


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ({"key_id": "https://fleet-kv.vault.azure.net/keys/etcd"}, "is not a versioned Key Vault key URI"),
        ({"key_id": KEY_ID, "key_vault_network_access": "Private"}, "Private needs key_vault_resource_id"),
    ],
)
def test_invalid_kms_settings_fail_before_any_call(cloud, key, problem):
    cloud.add_cluster(SUBSCRIPTION, GROUP, "prod")
    [message] = map(str, aks.check_encryption_key(key))
    assert message.startswith("FF-ENC-006 AKS KMS settings invalid: ") and problem in message
    cloud.deny_next(1)  # would fail the first call, had there been one
    with pytest.raises(CloudError) as caught:
        source(cloud).enable_encryption(key)
    assert (caught.value.reason, str(caught.value)) == ("invalid", message)


# --- plumbing ---------------------------------------------------------------------------------------


def test_the_source_pickles():
    src = aks.source(
        {"subscription_id": SUBSCRIPTION, "resource_group": GROUP, "cluster_name": "prod"}, "https://127.0.0.1:1"
    )
    assert pickle.loads(pickle.dumps(src)) == src


def test_a_new_emulator_on_the_same_directory_keeps_endpoint_credentials_and_clusters(fresh_kube_api, tmp_path):
    first = AksEmulator(fresh_kube_api, tmp_path).start()
    first.add_cluster(SUBSCRIPTION, GROUP, "prod")
    endpoint, environment = first.endpoint, first.environment()
    first.stop()
    second = AksEmulator(fresh_kube_api, tmp_path).start()
    try:
        assert (second.endpoint, second.environment()) == (endpoint, environment)
        assert second.cluster(SUBSCRIPTION, GROUP, "prod")["name"] == "prod"
    finally:
        second.stop()


def test_local_accounts_disabled_is_waived_by_a_bootstrap_kubeconfig(cloud, fresh_kube_api):
    """V12 through the code: the lookup drops FF-KIND-011 (and only it) when a kubeconfig is supplied."""
    cloud.add_cluster(SUBSCRIPTION, GROUP, "entra", disable_local_accounts=True)
    (problem,) = kind_problems("aks", source(cloud, "entra").describe(), "entra")
    assert problem.code is ErrorCode.KIND_LOCAL_ACCOUNTS_DISABLED
    (failure,) = ClusterLookupProvider().check({}, lookup_props(cloud)).failures
    assert failure.reason == str(problem)
    bootstrap = fresh_kube_api.cluster("aks-entra").kubeconfig()
    assert ClusterLookupProvider().check({}, lookup_props(cloud, kubeconfig=bootstrap)).failures == []
    too_new = lookup_props(cloud, kubeconfig=bootstrap, min_version="1.99")
    assert [f.reason for f in ClusterLookupProvider().check({}, too_new).failures] == [
        "FF-VER-001 cluster 'entra' runs Kubernetes 1.29.4; fleetform requires >= 1.99"
    ]
