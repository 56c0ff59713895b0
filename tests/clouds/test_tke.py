"""Kind ``tke`` against the TKE emulator, through the provider module and the official SDK client.

One Kubernetes emulator and one TKE emulator per module (per xdist worker); every test adds its own
cluster ids, and credentials are set per test with monkeypatch, so tests are independent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import time
import urllib.request
from itertools import count

import pytest
import yaml
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.tke.v20180525 import models, tke_client

from providers.clouds import source_for, tke
from providers.clouds.base import CloudError
from providers.dynamic import ClusterLookupProvider
from providers.errors import ErrorCode
from providers.kube import probe
from sandbox.clouds.tke import TkeEmulator

REGION = "ap-guangzhou"
_ids = count(1)


@pytest.fixture(scope="module")
def cloud(kube_api):
    with TkeEmulator(kube_api) as emulator:
        yield emulator


@pytest.fixture
def env(cloud, cloud_env, monkeypatch):
    cloud_env(cloud)
    monkeypatch.setattr(tke, "ATTEMPTS", 3)  # keep exhausted retries short


@pytest.fixture
def cluster_id(cloud):
    """A fresh cluster id; the cluster (if the test adds one) is removed afterwards."""
    cid = f"cls-t{next(_ids):07d}"
    yield cid
    for region in (REGION, "ap-shanghai"):
        with contextlib.suppress(KeyError):  # not every test adds it
            cloud.remove_cluster(region, cid)


def source(cloud, cluster_id, region=REGION, **identity):
    return tke.source({"region": region, "cluster_id": cluster_id, **identity}, cloud.endpoint)


def lookup_props(cloud, cluster_id, name="shop", **identity) -> dict:
    return {
        "cluster": name,
        "kind": "tke",
        "identity": {"region": REGION, "cluster_id": cluster_id, **identity},
        "cloud_endpoint": cloud.endpoint,
        "min_version": "1.19",
    }


def lookup_problems(cloud, cluster_id, name="shop", **identity) -> list[str]:
    """What the cluster lookup (the dynamic provider's check, run at preview) reports."""
    failures = ClusterLookupProvider().check({}, lookup_props(cloud, cluster_id, name, **identity)).failures
    return [failure.reason for failure in failures]


def raw_client(cloud, secret_id=None, secret_key=None, region=REGION) -> tke_client.TkeClient:
    """The official SDK client on loopback, as CLOUD-APIS §6.1 shows."""
    cred = credential.Credential(secret_id or cloud.secret_id, secret_key or cloud.secret_key)
    endpoint = cloud.endpoint.removeprefix("http://")
    return tke_client.TkeClient(
        cred, region, ClientProfile(httpProfile=HttpProfile(endpoint=endpoint, protocol="http"))
    )


# --- describe and check ------------------------------------------------------------------------------


def test_describe_running_cluster(cloud, kube_api, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id, version="1.28.3", name="shop", cluster_type="INDEPENDENT_CLUSTER")
    backing = kube_api.cluster(f"tke-{cluster_id}")

    description = source(cloud, cluster_id).describe()

    assert (description.kind, description.native_id, description.region) == ("tke", cluster_id, REGION)
    assert (description.state, description.running, description.kubernetes_version) == ("Running", True, "1.28.3")
    assert description.endpoint == backing.url
    assert base64.b64decode(description.ca_data).decode() == backing.ca_pem
    assert description.flags == {
        "cluster_name": "shop",
        "cluster_type": "INDEPENDENT_CLUSTER",
        "cluster_level": "L5",
        "public_endpoint": False,
        "private_endpoint": True,
        "endpoint_preference": "private",
    }
    assert tke.check(description, "shop") == []


def test_not_found_names_cluster_and_region(cloud, env, cluster_id):
    cloud.add_cluster("ap-shanghai", cluster_id)  # same id, other region

    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()

    assert caught.value.reason == "not-found"
    assert str(caught.value) == f"FF-REG-003 tke cluster {cluster_id} not found in {REGION}"


def test_not_found_from_an_action_that_takes_one_id(cloud, env, cluster_id):
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).credentials()
    assert caught.value.reason == "not-found"
    assert str(caught.value) == f"FF-REG-003 tke cluster {cluster_id} not found in {REGION}"


def test_cluster_not_running_fails_the_lookup(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id, state="Isolated")
    description = source(cloud, cluster_id).describe()
    assert (description.state, description.running) == ("Isolated", False)
    assert lookup_problems(cloud, cluster_id) == [
        f"FF-REG-004 tke cluster {cluster_id} is in state 'Isolated'; it must be running"
    ]


def test_old_kubernetes_fails_the_lookup(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id, version="1.18.4")
    assert lookup_problems(cloud, cluster_id, name="legacy") == [
        "FF-VER-001 cluster 'legacy' runs Kubernetes 1.18.4; fleetform requires >= 1.19"
    ]


def test_not_found_fails_the_lookup(cloud, env, cluster_id):
    assert lookup_problems(cloud, cluster_id) == [f"FF-REG-003 tke cluster {cluster_id} not found in {REGION}"]


def test_lookup_outputs_come_from_the_backing_cluster(cloud, kube_api, env, cluster_id):
    """The whole lookup: describe, then a kubeconfig whose credential the exec plugin fetches."""
    cloud.add_cluster(REGION, cluster_id, version="1.28.3")
    outputs = ClusterLookupProvider().create(lookup_props(cloud, cluster_id)).outs
    backing = kube_api.cluster(f"tke-{cluster_id}")
    assert (outputs["kubernetes_version"], outputs["cluster_uid"]) == ("v1.28.3", backing.kube_system_uid)
    assert (outputs["endpoint"], outputs["native_id"], outputs["cloud_state"]) == (backing.url, cluster_id, "Running")


def test_public_preference_without_public_endpoint(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id, public_endpoint=False)
    public = source(cloud, cluster_id, public=True)

    description = public.describe()
    assert description.endpoint == ""
    assert list(map(str, tke.check(description, "shop"))) == [
        "FF-CONN-003 cluster 'shop' has no public API endpoint; bind an EIP/public access first or use private"
    ]
    assert lookup_problems(cloud, cluster_id, public=True) == list(map(str, tke.check(description, "shop")))
    with pytest.raises(CloudError) as caught:
        public.credentials()
    assert caught.value.reason == "invalid"
    assert str(caught.value).startswith(f"FF-CONN-003 cluster '{cluster_id}' has no public API endpoint")


def test_private_preference_without_intranet_endpoint(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id, public_endpoint=True, private_endpoint=False)
    description = source(cloud, cluster_id).describe()
    assert list(map(str, tke.check(description, "shop"))) == [
        "cluster 'shop' has no private API endpoint; enable intranet access on the TKE cluster first or use public"
    ]


# --- credentials -------------------------------------------------------------------------------------


@pytest.mark.parametrize("public", [False, True])
def test_credentials_open_the_backing_cluster(cloud, kube_api, env, cluster_id, public):
    cloud.add_cluster(REGION, cluster_id, version="1.27.6", public_endpoint=True)
    kubeconfig = source(cloud, cluster_id, public=public).credentials()

    info = probe(kubeconfig, "shop")

    assert info.git_version == "v1.27.6"
    assert info.kube_system_uid == kube_api.cluster(f"tke-{cluster_id}").kube_system_uid


def test_source_is_picklable(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id)
    restored = pickle.loads(pickle.dumps(source(cloud, cluster_id)))
    assert restored.describe().native_id == cluster_id


def test_missing_identity_fields():
    with pytest.raises(CloudError) as caught:
        source_for("tke", {"region": REGION})
    assert caught.value.code is ErrorCode.KIND_IDENTITY_MISSING
    assert str(caught.value) == "FF-KIND-002 kind tke requires cluster_id; missing: cluster_id"


# --- error mapping and retries -----------------------------------------------------------------------


def test_throttling_is_retried_until_it_passes(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id)
    cloud.throttle_next(2)
    assert source(cloud, cluster_id).describe().running


def test_throttling_that_outlasts_the_retries(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id)
    cloud.throttle_next(tke.ATTEMPTS)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "throttled"
    assert "RequestLimitExceeded" in str(caught.value) and "retry later" in str(caught.value)


def test_internal_errors_are_retried(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id)
    cloud.fail_next(2, "InternalError")
    assert source(cloud, cluster_id).describe().running


def test_other_failures_are_not_retried(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id)
    cloud.fail_next(1, "FailedOperation")
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "invalid" and "FailedOperation" in str(caught.value)
    assert source(cloud, cluster_id).describe().running  # the one fault was used up by one call


@pytest.mark.parametrize(
    "variable, code",
    [
        ("TENCENTCLOUD_SECRET_KEY", "AuthFailure.SignatureFailure"),
        ("TENCENTCLOUD_SECRET_ID", "AuthFailure.SecretIdNotFound"),
    ],
)
def test_wrong_api_key_says_what_to_set(cloud, env, cluster_id, monkeypatch, variable, code):
    cloud.add_cluster(REGION, cluster_id)
    monkeypatch.setenv(variable, "AKIDnotthekey")
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "unauthorized"
    assert code in str(caught.value)
    assert "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY" in str(caught.value)


def test_clusters_share_one_client(cloud, env, cluster_id, counted):
    clients = counted(tke.tke_client, "TkeClient")
    other = cluster_id.replace("cls-t", "cls-u")
    for each in (cluster_id, other):
        cloud.add_cluster(REGION, each)
    try:
        assert all(source(cloud, each).describe().running for each in (cluster_id, other))
    finally:
        cloud.remove_cluster(REGION, other)

    assert len(clients) == 1


def test_a_key_changed_in_the_environment_gets_a_new_client(cloud, env, cluster_id, monkeypatch, counted):
    clients = counted(tke.tke_client, "TkeClient")
    cloud.add_cluster(REGION, cluster_id)
    assert source(cloud, cluster_id).describe().running

    monkeypatch.setenv("TENCENTCLOUD_SECRET_KEY", "not-the-key")

    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert "AuthFailure.SignatureFailure" in str(caught.value)
    assert len(clients) == 2


def test_no_credentials_at_all(cloud, cluster_id, monkeypatch, tmp_path):
    for name in (
        "TENCENTCLOUD_SECRET_ID",
        "TENCENTCLOUD_SECRET_KEY",
        "TKE_REGION",
        "TKE_PROVIDER_ID",
        "TKE_WEB_IDENTITY_TOKEN_FILE",
        "TKE_ROLE_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.tencentcloud/credentials
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "unauthorized"
    assert "no Tencent Cloud credentials found" in str(caught.value)
    assert "set TENCENTCLOUD_SECRET_ID and TENCENTCLOUD_SECRET_KEY" in str(caught.value)


def test_cam_denial_is_forbidden(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id)
    cloud.deny_next(1)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "forbidden"
    assert "tke:DescribeClusters" in str(caught.value) and "CAM policy" in str(caught.value)


def test_unreachable_api_is_unavailable(env, cluster_id):
    closed = tke.source({"region": REGION, "cluster_id": cluster_id}, "http://127.0.0.1:9")
    with pytest.raises(CloudError) as caught:
        closed.describe()
    assert caught.value.reason == "unavailable" and "http://127.0.0.1:9" in str(caught.value)


# --- encryption --------------------------------------------------------------------------------------


def test_enable_encryption_and_poll_until_opened(cloud, env, cluster_id, monkeypatch):
    monkeypatch.setattr(cloud, "encryption_delay", 0.3)
    cloud.add_cluster(REGION, cluster_id)
    cluster = source(cloud, cluster_id)
    assert cluster.encryption_status() == {"enabled": False, "state": "Closed", "error": ""}

    answer = cluster.enable_encryption({"key_id": "kms-123"})

    assert answer["submitted"] and answer["request_id"]
    assert cluster.encryption_status()["state"] == "Opening"
    deadline = time.monotonic() + 5
    while not cluster.encryption_status()["enabled"]:
        assert time.monotonic() < deadline, "encryption never opened"
        time.sleep(0.1)
    assert cluster.encryption_status() == {"enabled": True, "state": "Opened", "error": ""}


def test_enable_encryption_refused_without_kms(cloud, env, cluster_id):
    cloud.add_cluster(REGION, cluster_id, kms_authorized=False)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).enable_encryption({})
    assert caught.value.reason == "invalid"
    assert str(caught.value).startswith("FF-ENC-007 TKE refused EnableEncryptionProtection: FailedOperation: KMS")


# --- the emulator through the raw SDK and raw HTTP -------------------------------------------------------


def test_raw_sdk_describe_clusters(cloud, cluster_id):
    cloud.add_cluster(REGION, cluster_id, version="1.30.0", cluster_type="MANAGED_CLUSTER")
    request = models.DescribeClustersRequest()
    request.ClusterIds = [cluster_id]

    answer = raw_client(cloud).DescribeClusters(request)

    assert answer.TotalCount == 1 and answer.RequestId
    (cluster,) = answer.Clusters
    assert (cluster.ClusterId, cluster.ClusterVersion, cluster.ClusterStatus, cluster.ClusterType) == (
        cluster_id,
        "1.30.0",
        "Running",
        "MANAGED_CLUSTER",
    )


def test_raw_sdk_error_shape_and_unknown_id(cloud, cluster_id):
    request = models.DescribeClustersRequest()
    request.ClusterIds = [cluster_id]
    assert raw_client(cloud).DescribeClusters(request).TotalCount == 0

    request = models.DescribeClusterKubeconfigRequest()
    request.ClusterId = cluster_id
    with pytest.raises(TencentCloudSDKException) as caught:
        raw_client(cloud).DescribeClusterKubeconfig(request)
    assert caught.value.get_code() == "InvalidParameter.ClusterNotFound"
    assert caught.value.get_request_id()


def test_raw_kubeconfig_of_a_disabled_endpoint_points_at_the_default_domain(cloud, cluster_id):
    cloud.add_cluster(REGION, cluster_id, public_endpoint=False)
    request = models.DescribeClusterKubeconfigRequest()
    request.ClusterId, request.IsExtranet = cluster_id, True

    config = yaml.safe_load(raw_client(cloud).DescribeClusterKubeconfig(request).Kubeconfig)

    assert config["clusters"][0]["cluster"]["server"] == f"https://{cluster_id}.ccs.tencent-cloud.com"


def test_raw_http_with_a_forged_signature(cloud):
    body = b"{}"
    request = urllib.request.Request(
        cloud.endpoint + "/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-TC-Action": "DescribeClusters",
            "X-TC-Version": "2018-05-25",
            "X-TC-Region": REGION,
            "X-TC-Timestamp": str(int(time.time())),
            "Authorization": f"TC3-HMAC-SHA256 Credential={cloud.secret_id}/"
            f"{time.strftime('%Y-%m-%d', time.gmtime())}/tke/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={'0' * 64}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        answer = json.loads(response.read())["Response"]
    assert answer["Error"]["Code"] == "AuthFailure.SignatureFailure"
    assert answer["RequestId"]


# --- persistence -------------------------------------------------------------------------------------


def test_a_new_emulator_on_the_same_data_dir_answers_as_before(kube_api, cluster_id, cloud_env, tmp_path):
    with TkeEmulator(kube_api, tmp_path) as first:
        first.add_cluster(REGION, cluster_id, version="1.28.3", public_endpoint=True)
        environment = first.environment()
    with TkeEmulator(kube_api, tmp_path) as second:
        assert second.environment() == environment
        cloud_env(second)
        description = tke.source({"region": REGION, "cluster_id": cluster_id}, second.endpoint).describe()
        assert description.kubernetes_version == "1.28.3" and description.flags["public_endpoint"]
        second.remove_cluster(REGION, cluster_id)


def test_concurrent_describes_share_the_client_without_discarding_connections(
    cloud, env, describe_concurrently, clusters_added
):
    ids = [f"cls-p{next(_ids):07d}" for _ in range(24)]
    with clusters_added(cloud, REGION, ids):
        states = describe_concurrently([source(cloud, cid) for cid in ids])
    assert states == [states[0]] * len(ids) and states[0]
