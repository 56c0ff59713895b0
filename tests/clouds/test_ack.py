"""The ack kind against the ACK emulator, through alibabacloud_cs20151215."""

from __future__ import annotations

import base64
import pickle
import time

import pytest
from alibabacloud_cs20151215.client import Client
from alibabacloud_cs20151215.models import DescribeClusterUserKubeconfigRequest, UpdateKMSEncryptionRequest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import Config

from providers import kube
from providers.clouds import ack
from providers.clouds.base import CloudError, ClusterDescription
from sandbox.clouds.ack import AckEmulator

REGION = "cn-hangzhou"
CLUSTER = "c5f0e1d2c3b4a59687766554433221100"


@pytest.fixture
def cloud(fresh_kube_api, cloud_env):
    with AckEmulator(fresh_kube_api, update_seconds=0.05) as emulator:
        yield cloud_env(emulator)


def source(cloud: AckEmulator, cluster_id: str = CLUSTER, region: str = REGION) -> ack.AckSource:
    return ack.source({"region_id": region, "cluster_id": cluster_id}, cloud.endpoint)


def raw_client(cloud: AckEmulator) -> Client:
    environment = cloud.environment()
    return Client(
        Config(
            access_key_id=environment["ALIBABA_CLOUD_ACCESS_KEY_ID"],
            access_key_secret=environment["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
            region_id=REGION,
            endpoint=cloud.endpoint.removeprefix("http://"),
            protocol="HTTP",
        )
    )


def description(**flags) -> ClusterDescription:
    return ClusterDescription(
        kind="ack",
        native_id=CLUSTER,
        region=REGION,
        state="running",
        running=True,
        kubernetes_version="1.29.4-aliyun.1",
        endpoint="https://127.0.0.1:1",
        ca_data="",
        flags=flags,
    )


# --- lookup -----------------------------------------------------------------------------------------


def test_describe_reports_state_version_endpoint_and_ca(cloud, fresh_kube_api):
    cloud.add_cluster(REGION, CLUSTER, version="1.29.4")
    described = source(cloud).describe()
    backing = fresh_kube_api.cluster(f"ack-{CLUSTER}")
    assert (described.kind, described.native_id, described.region) == ("ack", CLUSTER, REGION)
    assert (described.state, described.running) == ("running", True)
    assert described.kubernetes_version == "1.29.4-aliyun.1"
    assert described.endpoint == backing.url
    assert base64.b64decode(described.ca_data).decode() == backing.ca_pem
    assert described.flags["cluster_type"] == "ManagedKubernetes"
    assert described.flags["cluster_spec"] == "ack.pro.small"
    assert ack.check(described, "prod") == []


def test_user_kubeconfig_opens_the_backing_cluster(cloud, fresh_kube_api):
    cloud.add_cluster(REGION, CLUSTER, version="1.30.1")
    info = kube.probe(source(cloud).credentials(), "prod")
    assert info.git_version == "v1.30.1-aliyun.1"
    assert info.kube_system_uid == fresh_kube_api.cluster(f"ack-{CLUSTER}").kube_system_uid


@pytest.mark.parametrize("state", ["initial", "inactive", "failed"])
def test_a_cluster_that_is_not_running_says_so(cloud, state):
    cloud.add_cluster(REGION, CLUSTER, state=state)
    described = source(cloud).describe()
    assert (described.running, described.state, described.ca_data) == (False, state, "")


def test_not_found_names_the_cluster_and_region(cloud):
    cloud.add_cluster(REGION, CLUSTER)
    with pytest.raises(CloudError) as caught:
        source(cloud, "c0000000000000000000000000000dead").describe()
    assert caught.value.reason == "not-found"
    assert str(caught.value) == "FF-REG-003 ack cluster c0000000000000000000000000000dead not found in cn-hangzhou"


def test_a_cluster_of_another_region_is_not_found_in_this_one(cloud):
    cloud.add_cluster(REGION, CLUSTER)
    with pytest.raises(CloudError) as caught:
        source(cloud, region="cn-beijing").describe()
    assert str(caught.value) == f"FF-REG-003 ack cluster {CLUSTER} not found in cn-beijing"


def test_a_cluster_removed_in_the_cloud_is_gone_with_its_backing_cluster(cloud, fresh_kube_api):
    cloud.add_cluster(REGION, CLUSTER)
    with pytest.raises(KeyError):
        cloud.remove_cluster("cn-beijing", CLUSTER)  # the identity names region and id
    cloud.remove_cluster(REGION, CLUSTER)
    assert f"ack-{CLUSTER}" not in fresh_kube_api
    with pytest.raises(CloudError) as caught:
        source(cloud).describe()
    assert caught.value.reason == "not-found"


# --- error mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "inject", [lambda c: c.throttle_next(2), lambda c: c.fail_next(2, 503)], ids=["throttled", "unavailable"]
)
def test_throttling_and_transient_faults_are_retried(cloud, inject):
    cloud.add_cluster(REGION, CLUSTER)
    inject(cloud)
    assert source(cloud).describe().running


def test_throttling_that_outlasts_the_retries_is_reported(cloud):
    cloud.add_cluster(REGION, CLUSTER)
    cloud.throttle_next(10)
    with pytest.raises(CloudError) as caught:
        source(cloud).credentials()
    assert caught.value.reason == "throttled"
    assert "Throttling.User" in str(caught.value)


def test_an_unknown_access_key_names_the_variables_to_set(cloud):
    """Alibaba answers an unknown AccessKey with 404: the code decides, not the status."""
    cloud.add_cluster(REGION, CLUSTER)
    cloud.deny_next(1)
    with pytest.raises(CloudError) as caught:
        source(cloud).describe()
    assert caught.value.reason == "unauthorized"
    assert "InvalidAccessKeyId.NotFound" in str(caught.value)
    assert "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET" in str(caught.value)


def test_a_wrong_secret_fails_the_signature_check(cloud, monkeypatch):
    cloud.add_cluster(REGION, CLUSTER)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")
    with pytest.raises(CloudError) as caught:
        source(cloud).credentials()
    assert caught.value.reason == "unauthorized"
    assert "SignatureDoesNotMatch" in str(caught.value) and "ALIBABA_CLOUD_ACCESS_KEY_SECRET" in str(caught.value)


# --- shared SDK clients -----------------------------------------------------------------------------


def test_clusters_share_one_client(cloud, counted):
    clients = counted(ack, "Client")
    other = CLUSTER.replace("c5", "d6", 1)
    for cluster_id in (CLUSTER, other):
        cloud.add_cluster(REGION, cluster_id)

    assert all(source(cloud, cluster_id).describe().running for cluster_id in (CLUSTER, other))

    assert len(clients) == 1


def test_a_secret_changed_in_the_environment_gets_a_new_client(cloud, monkeypatch, counted):
    clients = counted(ack, "Client")
    cloud.add_cluster(REGION, CLUSTER)
    assert source(cloud).describe().running

    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-the-secret")

    with pytest.raises(CloudError) as caught:
        source(cloud).describe()
    assert "SignatureDoesNotMatch" in str(caught.value)
    assert len(clients) == 2


# --- the emulator follows the ROA API, checked with the raw SDK -------------------------------------


def test_raw_sdk_reads_detail_kubeconfig_and_errors(cloud):
    cloud.add_cluster(REGION, CLUSTER, name="prod", cluster_spec="ack.standard")
    client = raw_client(cloud)
    detail = client.describe_cluster_detail(CLUSTER).body
    assert (detail.name, detail.state, detail.current_version) == ("prod", "running", "1.29.4-aliyun.1")
    assert (detail.cluster_type, detail.cluster_spec, detail.region_id) == ("ManagedKubernetes", "ack.standard", REGION)
    assert detail.master_url.startswith('{"api_server_endpoint": "https://127.0.0.1:')
    request = DescribeClusterUserKubeconfigRequest(private_ip_address=True, temporary_duration_minutes=30)
    kubeconfig = client.describe_cluster_user_kubeconfig(CLUSTER, request).body
    assert kubeconfig.config.startswith("apiVersion: v1") and kubeconfig.expiration.endswith("Z")
    with pytest.raises(ClientException) as caught:
        client.describe_cluster_user_kubeconfig(
            CLUSTER, DescribeClusterUserKubeconfigRequest(temporary_duration_minutes=5)
        )
    assert (caught.value.status_code, caught.value.code) == (400, "InvalidParameter")
    with pytest.raises(ClientException) as caught:
        client.describe_cluster_detail("c0000000000000000000000000000dead")
    assert (caught.value.status_code, caught.value.code) == (404, "ErrorClusterNotFound")
    assert caught.value.request_id


# --- encryption -------------------------------------------------------------------------------------


def test_enable_encryption_updates_then_returns_to_running(cloud):
    cloud.add_cluster(REGION, CLUSTER)
    src = source(cloud)
    assert src.enable_encryption({"kms_key_id": "key-hzz1234"}) == {
        "enabled": True,
        "key": "key-hzz1234",
        "status_code": 200,
    }
    assert cloud.kms(CLUSTER) == {"kms_key_id": "key-hzz1234", "disable_encryption": False}
    assert src.encryption_status() == {"enabled": None, "key": None, "state": "updating"}
    time.sleep(0.1)
    assert src.encryption_status()["state"] == "running"


def test_a_second_kms_change_within_five_minutes_is_refused(cloud):
    cloud.add_cluster(REGION, CLUSTER)
    src = source(cloud)
    src.enable_encryption({"kms_key_id": "key-hzz1234"})
    time.sleep(0.1)  # back to running, still inside the cool-down
    with pytest.raises(CloudError) as caught:
        src.enable_encryption({"kms_key_id": "key-hzz5678"})
    assert (caught.value.reason, str(caught.value)) == (
        "unavailable",
        "FF-ENC-004 ACK rejected the change (409): wait 5 minutes after the previous KMS update",
    )


def test_raw_sdk_kms_update_has_no_body_and_needs_a_running_cluster(cloud):
    cloud.add_cluster(REGION, CLUSTER, state="upgrading")
    with pytest.raises(ClientException) as caught:
        raw_client(cloud).update_kmsencryption(CLUSTER, UpdateKMSEncryptionRequest(kms_key_id="key-1"))
    assert (caught.value.status_code, caught.value.code) == (400, "ErrorClusterState")
    cloud.add_cluster(REGION, CLUSTER)
    response = raw_client(cloud).update_kmsencryption(CLUSTER, UpdateKMSEncryptionRequest(kms_key_id="key-1"))
    assert response.status_code == 200 and not hasattr(response, "body")
    assert cloud.kms(CLUSTER) == {"kms_key_id": "key-1", "disable_encryption": False}


@pytest.mark.parametrize(
    ("flags", "shown"),
    [
        ({"cluster_type": "ManagedKubernetes", "cluster_spec": "ack.standard"}, "ack.standard"),
        ({"cluster_type": "Kubernetes", "cluster_spec": ""}, "Kubernetes"),
    ],
)
def test_secret_encryption_needs_ack_pro(flags, shown):
    assert list(map(str, ack.check_encryption(description(**flags), "prod"))) == [
        f"FF-ENC-003 ACK cluster 'prod' is {shown}; Secret encryption needs ACK Pro (ack.pro.small)"
    ]
    pro = description(cluster_type="ManagedKubernetes", cluster_spec="ack.pro.small")
    assert ack.check_encryption(pro, "prod") == []


# --- plumbing ---------------------------------------------------------------------------------------


def test_the_source_pickles():
    src = ack.source({"region_id": REGION, "cluster_id": CLUSTER}, "http://127.0.0.1:1")
    assert pickle.loads(pickle.dumps(src)) == src


def test_a_new_emulator_on_the_same_directory_keeps_endpoint_credentials_and_clusters(fresh_kube_api, tmp_path):
    first = AckEmulator(fresh_kube_api, tmp_path).start()
    first.add_cluster(REGION, CLUSTER)
    endpoint, environment = first.endpoint, first.environment()
    first.stop()
    second = AckEmulator(fresh_kube_api, tmp_path).start()
    try:
        assert (second.endpoint, second.environment()) == (endpoint, environment)
        assert second.cluster(CLUSTER)["cluster_id"] == CLUSTER
    finally:
        second.stop()


def test_concurrent_describes_share_the_client_without_discarding_connections(cloud, describe_concurrently):
    ids = [f"c{number:031x}" for number in range(24)]
    for cid in ids:
        cloud.add_cluster(REGION, cid)
    states = describe_concurrently([source(cloud, cid) for cid in ids])
    assert states == [states[0]] * len(ids) and states[0]
