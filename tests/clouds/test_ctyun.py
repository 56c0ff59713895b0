"""Kind ``ctyun`` against the CCSE emulator, through the provider module and its small client.

One Kubernetes emulator and one CCSE emulator per module (per xdist worker); every test adds its
own cluster ids, and credentials are set per test with monkeypatch, so tests are independent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import urllib.error
import urllib.request
from itertools import count

import pytest
import yaml

from providers.clouds import ctyun, source_for
from providers.clouds.base import CloudError
from providers.clouds.ctyun import CcseApiError, CcseClient
from providers.clouds.ctyun_signing import signed_headers
from providers.dynamic import ClusterLookupProvider
from providers.errors import ErrorCode
from providers.kube import probe
from sandbox.clouds.ctyun import CtyunEmulator

POOL = "bb9fdb42056f11eda1610242ac110002"  # a resource-pool id
OTHER_POOL = "100054c0416811e9a6690242ac110002"
_ids = count(1)


@pytest.fixture(scope="module")
def cloud(kube_api):
    with CtyunEmulator(kube_api) as emulator:
        yield emulator


@pytest.fixture
def env(cloud, cloud_env, monkeypatch):
    cloud_env(cloud)
    monkeypatch.setattr(ctyun, "ATTEMPTS", 3)  # keep exhausted retries short


@pytest.fixture
def cluster_id(cloud):
    """A fresh cluster id; the cluster (if the test adds one) is removed afterwards."""
    cid = f"c{next(_ids):05d}f0a3e6b24d1c9e7a5b3c1d2e4f60"
    yield cid
    for pool in (POOL, OTHER_POOL):
        with contextlib.suppress(KeyError):  # not every test adds it
            cloud.remove_cluster(pool, cid)


def source(cloud, cluster_id, region_id=POOL, **identity):
    return ctyun.source({"region_id": region_id, "cluster_id": cluster_id, **identity}, cloud.endpoint)


def lookup_props(cloud, cluster_id, name="shop", **identity) -> dict:
    return {
        "cluster": name,
        "kind": "ctyun",
        "identity": {"region_id": POOL, "cluster_id": cluster_id, **identity},
        "cloud_endpoint": cloud.endpoint,
        "min_version": "1.19",
    }


def lookup_problems(cloud, cluster_id, name="shop", **identity) -> list[str]:
    """What the cluster lookup (the dynamic provider's check, run at preview) reports."""
    failures = ClusterLookupProvider().check({}, lookup_props(cloud, cluster_id, name, **identity)).failures
    return [failure.reason for failure in failures]


def client(cloud, access_key=None, secret_key=None, region_id=POOL) -> CcseClient:
    return CcseClient(cloud.endpoint, access_key or cloud.access_key, secret_key or cloud.secret_key, region_id)


# --- describe and check ------------------------------------------------------------------------------


def test_describe_running_cluster(cloud, kube_api, env, cluster_id):
    cloud.add_cluster(
        POOL, cluster_id, version="1.29.3", name="shop", cluster_series="cce.managed", network_plugin="cubecni"
    )
    backing = kube_api.cluster(f"ctyun-{cluster_id}")

    description = source(cloud, cluster_id).describe()

    assert (description.kind, description.native_id, description.region) == ("ctyun", cluster_id, POOL)
    assert (description.state, description.running, description.kubernetes_version) == ("running", True, "1.29.3")
    assert description.endpoint == backing.url
    assert base64.b64decode(description.ca_data).decode() == backing.ca_pem
    assert description.flags == {
        "cluster_name": "shop",
        "cluster_series": "cce.managed",
        "serverless": False,
        "network_plugin": "cubecni",
        "cluster_type": 2,
        "public_endpoint": False,
        "endpoint_preference": "private",
    }
    assert ctyun.check(description, "shop") == []
    assert ctyun.bootstrap_checks(description, "shop", "LoadBalancer") == []


def test_not_found_names_cluster_and_region(cloud, env, cluster_id):
    cloud.add_cluster(OTHER_POOL, cluster_id)  # same id, other resource pool

    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()

    assert caught.value.reason == "not-found"
    assert str(caught.value) == f"FF-REG-003 ctyun cluster {cluster_id} not found in {POOL}"


@pytest.mark.parametrize("biz_state", [4, 18])
def test_unsubscribed_clusters_count_as_gone(cloud, env, cluster_id, biz_state):
    cloud.add_cluster(POOL, cluster_id, state=biz_state)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).credentials()
    assert caught.value.reason == "not-found"
    assert str(caught.value) == f"FF-REG-003 ctyun cluster {cluster_id} not found in {POOL}"


def test_cluster_not_running_fails_the_lookup(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id, state=2)
    description = source(cloud, cluster_id).describe()
    assert (description.state, description.running, description.ca_data) == ("stopped", False, "")
    assert lookup_problems(cloud, cluster_id) == [
        f"FF-REG-004 ctyun cluster {cluster_id} is in state 'stopped'; it must be running"
    ]


def test_old_kubernetes_fails_the_lookup(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id, version="1.18.4")
    assert lookup_problems(cloud, cluster_id, name="legacy") == [
        "FF-VER-001 cluster 'legacy' runs Kubernetes 1.18.4; fleetform requires >= 1.19"
    ]


def test_not_found_fails_the_lookup(cloud, env, cluster_id):
    assert lookup_problems(cloud, cluster_id) == [f"FF-REG-003 ctyun cluster {cluster_id} not found in {POOL}"]


def test_lookup_outputs_come_from_the_backing_cluster(cloud, kube_api, env, cluster_id):
    """The whole lookup: describe, then a kubeconfig whose credential the exec plugin fetches."""
    cloud.add_cluster(POOL, cluster_id, version="1.29.3", public_endpoint=True)
    outputs = ClusterLookupProvider().create(lookup_props(cloud, cluster_id, public=True)).outs
    backing = kube_api.cluster(f"ctyun-{cluster_id}")
    assert (outputs["kubernetes_version"], outputs["cluster_uid"]) == ("v1.29.3", backing.kube_system_uid)
    assert (outputs["endpoint"], outputs["native_id"], outputs["cloud_state"]) == (backing.url, cluster_id, "running")


def test_public_preference_without_eip(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id, public_endpoint=False)
    public = source(cloud, cluster_id, public=True)

    description = public.describe()
    assert description.endpoint == "" and not description.flags["public_endpoint"]
    assert list(map(str, ctyun.check(description, "shop"))) == [
        "FF-CONN-003 cluster 'shop' has no public API endpoint; bind an EIP/public access first or use private"
    ]
    assert lookup_problems(cloud, cluster_id, public=True) == list(map(str, ctyun.check(description, "shop")))
    with pytest.raises(CloudError) as caught:
        public.credentials()
    assert caught.value.reason == "invalid"
    assert str(caught.value).startswith(f"FF-CONN-003 cluster '{cluster_id}' has no public API endpoint")


def test_serverless_and_calico_bootstrap_rules(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id, cluster_series="sce.standard", network_plugin="calico")
    description = source(cloud, cluster_id).describe()
    assert description.flags["serverless"] and description.flags["network_plugin"] == "calico"
    assert list(map(str, ctyun.bootstrap_checks(description, "edge", "LoadBalancer"))) == [
        "FF-BOOT-001 ingress/storage bootstrap is not supported on CTyun SCE clusters",
        "FF-ING-002 CTyun cluster 'edge' uses calico, which has no LoadBalancer Services; "
        "set ingress.service_type=HostPort",
    ]
    assert list(map(str, ctyun.bootstrap_checks(description, "edge", "HostPort"))) == [
        "FF-BOOT-001 ingress/storage bootstrap is not supported on CTyun SCE clusters"
    ]


def test_encryption_is_refused_with_v34(cloud, env, cluster_id):
    cluster = source(cloud, cluster_id)
    for call in (cluster.encryption_status, lambda: cluster.enable_encryption({"resource": "shop-etcd"})):
        with pytest.raises(CloudError) as caught:
            call()
        assert caught.value.reason == "invalid"
        assert str(caught.value).startswith("FF-ENC-001 etcd/Secret encryption is not supported for kind ctyun")
    assert "Remove EtcdEncryption 'shop-etcd' or set enabled=false" in str(caught.value)


# --- credentials -------------------------------------------------------------------------------------


@pytest.mark.parametrize("public", [False, True])
def test_credentials_open_the_backing_cluster(cloud, kube_api, env, cluster_id, public):
    cloud.add_cluster(POOL, cluster_id, version="1.27.8", public_endpoint=True)
    kubeconfig = source(cloud, cluster_id, public=public).credentials()

    info = probe(kubeconfig, "shop")

    assert info.git_version == "v1.27.8"
    assert info.kube_system_uid == kube_api.cluster(f"ctyun-{cluster_id}").kube_system_uid


def test_source_is_picklable(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id)
    restored = pickle.loads(pickle.dumps(source(cloud, cluster_id, public=False)))
    assert restored.describe().native_id == cluster_id


def test_missing_identity_fields():
    with pytest.raises(CloudError) as caught:
        source_for("ctyun", {"cluster_id": "abc"})
    assert caught.value.code is ErrorCode.KIND_IDENTITY_MISSING
    assert str(caught.value) == "FF-KIND-002 kind ctyun requires region_id; missing: region_id"


# --- error mapping and retries -----------------------------------------------------------------------


def test_throttling_is_retried_until_it_passes(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id)
    cloud.throttle_next(2)
    assert source(cloud, cluster_id).describe().running


def test_throttling_that_outlasts_the_retries(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id)
    cloud.throttle_next(ctyun.ATTEMPTS)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "throttled" and "retry later" in str(caught.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_failures_are_retried(cloud, env, cluster_id, status):
    cloud.add_cluster(POOL, cluster_id)
    cloud.fail_next(2, status)
    assert source(cloud, cluster_id).describe().running


def test_wrong_secret_key_says_what_to_set(cloud, env, cluster_id, monkeypatch):
    cloud.add_cluster(POOL, cluster_id)
    monkeypatch.setenv("CTYUN_SK", "not-the-secret")
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "unauthorized"
    assert "EOP_SIGNATURE_INVALID" in str(caught.value)
    assert "set CTYUN_AK and CTYUN_SK to a valid AccessKey pair" in str(caught.value)


def test_unknown_access_key(cloud, env, cluster_id, monkeypatch):
    monkeypatch.setenv("CTYUN_AK", "0" * 32)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "unauthorized" and "CTYUN_AK" in str(caught.value)


def test_clusters_share_one_client(cloud, env, cluster_id, counted):
    clients = counted(ctyun, "CcseClient")
    other = cluster_id.replace("c", "d", 1)
    for each in (cluster_id, other):
        cloud.add_cluster(POOL, each)
    try:
        assert all(source(cloud, each).describe().running for each in (cluster_id, other))
    finally:
        cloud.remove_cluster(POOL, other)

    assert len(clients) == 1


def test_a_key_changed_in_the_environment_gets_a_new_client(cloud, env, cluster_id, monkeypatch, counted):
    clients = counted(ctyun, "CcseClient")
    cloud.add_cluster(POOL, cluster_id)
    assert source(cloud, cluster_id).describe().running

    monkeypatch.setenv("CTYUN_SK", "not-the-secret")

    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert "EOP_SIGNATURE_INVALID" in str(caught.value)
    assert len(clients) == 2


def test_no_credentials_at_all(cloud, cluster_id, monkeypatch):
    monkeypatch.delenv("CTYUN_AK", raising=False)
    monkeypatch.delenv("CTYUN_SK", raising=False)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "unauthorized"
    assert str(caught.value).startswith("no CTyun credentials: set CTYUN_AK and CTYUN_SK")


def test_iam_denial_is_forbidden(cloud, env, cluster_id):
    cloud.add_cluster(POOL, cluster_id)
    cloud.deny_next(1)
    with pytest.raises(CloudError) as caught:
        source(cloud, cluster_id).describe()
    assert caught.value.reason == "forbidden"
    assert "CTIAM_0005" in str(caught.value) and "IAM" in str(caught.value)


def test_unreachable_api_is_unavailable(env, cluster_id):
    closed = ctyun.source({"region_id": POOL, "cluster_id": cluster_id}, "http://127.0.0.1:9")
    with pytest.raises(CloudError) as caught:
        closed.describe()
    assert caught.value.reason == "unavailable" and "http://127.0.0.1:9" in str(caught.value)


# --- the emulator through the raw client and raw HTTP ----------------------------------------------------


def test_raw_client_detail_and_kubeconfig(cloud, cluster_id):
    cloud.add_cluster(POOL, cluster_id, version="1.31.6", public_endpoint=True, network_plugin="cubecni")

    detail = client(cloud).get(f"/v2/cce/clusters/{cluster_id}")
    kubeconfig = client(cloud).get(f"/v2/cce/clusters/{cluster_id}/certificate/kubeconfig", {"isPublic": True})

    assert (detail["clusterId"], detail["bizState"], detail["clusterVersion"]) == (cluster_id, 1, "1.31.6")
    assert (detail["eip"], detail["networkPlugin"], detail["resPoolId"]) == ("127.0.0.1", "cubecni", POOL)
    assert yaml.safe_load(kubeconfig["kubeConfig"])["users"][0]["user"]["client-certificate-data"]
    assert kubeconfig["expireDate"]


def test_raw_client_signs_awkward_query_strings(cloud, cluster_id):
    """Unknown parameters are ignored by the API, but they are signed: spaces, unicode, sorting."""
    cloud.add_cluster(POOL, cluster_id)
    params = {"zeta": "a b", "alpha": "集群/1", "isPublic": False}
    assert client(cloud).get(f"/v2/cce/clusters/{cluster_id}/certificate/kubeconfig", params)["kubeConfig"]


def test_raw_client_error_envelope(cloud, cluster_id):
    with pytest.raises(CcseApiError) as caught:
        client(cloud).get(f"/v2/cce/clusters/{cluster_id}")
    assert caught.value.status == 400 and "不存在" in caught.value.message


def test_raw_http_with_a_forged_signature(cloud, cluster_id):
    cloud.add_cluster(POOL, cluster_id)
    headers = signed_headers(cloud.access_key, "not-the-secret", "")
    headers["regionId"] = POOL
    request = urllib.request.Request(f"{cloud.endpoint}/v2/cce/clusters/{cluster_id}", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401
    envelope = json.loads(caught.value.read())
    assert envelope["statusCode"] == 900 and envelope["error"] == "EOP_SIGNATURE_INVALID"


def test_raw_http_signed_for_another_query(cloud, cluster_id):
    """The signature covers the query: replaying it with isPublic flipped is refused."""
    cloud.add_cluster(POOL, cluster_id, public_endpoint=True)
    headers = signed_headers(cloud.access_key, cloud.secret_key, "isPublic=false")
    headers["regionId"] = POOL
    url = f"{cloud.endpoint}/v2/cce/clusters/{cluster_id}/certificate/kubeconfig?isPublic=true"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)
    assert caught.value.code == 401


def test_raw_http_with_a_stale_date(cloud, cluster_id):
    headers = signed_headers(cloud.access_key, cloud.secret_key, "", date="20200101T000000Z")
    headers["regionId"] = POOL
    request = urllib.request.Request(f"{cloud.endpoint}/v2/cce/clusters/{cluster_id}", headers=headers)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 401 and json.loads(caught.value.read())["error"] == "EOP_DATE_EXPIRED"


# --- persistence -------------------------------------------------------------------------------------


def test_a_new_emulator_on_the_same_data_dir_answers_as_before(kube_api, cluster_id, cloud_env, tmp_path):
    with CtyunEmulator(kube_api, tmp_path) as first:
        first.add_cluster(POOL, cluster_id, version="1.29.3", public_endpoint=True, network_plugin="cubecni")
        environment = first.environment()
    with CtyunEmulator(kube_api, tmp_path) as second:
        assert second.environment() == environment
        cloud_env(second)
        cluster = ctyun.source({"region_id": POOL, "cluster_id": cluster_id, "public": True}, second.endpoint)
        assert cluster.describe().flags["network_plugin"] == "cubecni"
        assert probe(cluster.credentials(), "shop").git_version == "v1.29.3"
        second.remove_cluster(POOL, cluster_id)


def test_concurrent_describes_share_the_client_without_discarding_connections(
    cloud, env, describe_concurrently, clusters_added
):
    ids = [f"c{next(_ids):05d}f0a3e6b24d1c9e7a5b3c1d2e4f61" for _ in range(24)]
    with clusters_added(cloud, POOL, ids):
        states = describe_concurrently([source(cloud, cid) for cid in ids])
    assert states == [states[0]] * len(ids) and states[0]
