"""The ``gke`` kind against the GKE emulator: the provider module and the raw google-cloud-container
client, both over loopback with application-default credentials from the emulator's environment.

One Kubernetes emulator and one GKE emulator per module (per xdist worker); every test adds its own
cluster, so tests are independent.
"""

from __future__ import annotations

import base64
import datetime
import functools
import itertools
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import google.auth
import google.auth.transport.requests
import pytest
import requests
import yaml
from google.api_core import exceptions as api
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1
from requests.adapters import HTTPAdapter

from providers import kube
from providers.clouds import base, gke, sdk_clients
from providers.clouds.base import CloudError
from providers.errors import ClusterAccessError
from sandbox.clouds.gke import GkeEmulator

PROJECT, LOCATION = "demo-project", "europe-west1"
KEY = f"projects/{PROJECT}/locations/{LOCATION}/keyRings/fleet/cryptoKeys/secrets"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def cloud(kube_api):
    with GkeEmulator(kube_api) as emulator:
        yield emulator


@pytest.fixture
def env(cloud, cloud_env):
    """Application-default credentials of the emulator for this test only."""
    return cloud_env(cloud)


def add_cluster(cloud: GkeEmulator, **flags) -> dict:
    identity = {"project": PROJECT, "location": LOCATION, "cluster_name": f"prod-{next(_numbers)}"}
    cloud.add_cluster(**identity, **flags)
    return identity


@pytest.fixture
def identity(env):
    identity = add_cluster(env)
    yield identity
    env.remove_cluster(**identity)


def sdk_client(cloud: GkeEmulator) -> container_v1.ClusterManagerClient:
    credentials, _ = google.auth.default(scopes=gke.SCOPES)
    return container_v1.ClusterManagerClient(
        credentials=credentials, transport="rest", client_options=ClientOptions(api_endpoint=cloud.endpoint)
    )


def resource_name(identity: dict) -> str:
    return f"projects/{identity['project']}/locations/{identity['location']}/clusters/{identity['cluster_name']}"


def wait_until_done(client: container_v1.ClusterManagerClient, name: str) -> container_v1.Operation:
    def done():
        operation = client.get_operation(name=f"projects/{PROJECT}/locations/{LOCATION}/operations/{name}")
        return operation if operation.status == container_v1.Operation.Status.DONE else None

    return kube.wait_for(done, timeout=5, interval=0.1, what=f"operation {name}")


def token_of(kubeconfig: str) -> str:
    return yaml.safe_load(kubeconfig)["users"][0]["user"]["token"]


def expire_the_held_token() -> None:
    """The access token this process holds has run out (as one does after an hour)."""
    gke._credentials().expiry = datetime.datetime(2000, 1, 1)


# --- lookup -------------------------------------------------------------------------------------


def test_describe_reports_state_version_endpoint_and_ca(cloud, kube_api, identity):
    description = gke.source(identity, cloud.endpoint).describe()

    backing = kube_api.cluster(f"gke-{identity['cluster_name']}")
    assert (description.state, description.running) == ("RUNNING", True)
    assert description.kubernetes_version == "1.29.4"
    assert description.endpoint == backing.url
    assert base64.b64decode(description.ca_data).decode() == backing.ca_pem
    assert description.native_id == resource_name(identity)
    assert description.flags == {
        "autopilot": False,
        "private_endpoint": False,
        "database_encryption": "CURRENT_STATE_DECRYPTED",
    }


def test_credentials_open_the_backing_cluster_with_an_oauth_token(cloud, identity):
    kubeconfig = gke.source(identity, cloud.endpoint).credentials()

    info = kube.probe(kubeconfig, identity["cluster_name"])
    assert info.git_version == "v1.29.4"
    token = token_of(kubeconfig)
    assert token.startswith("ya29.")


def test_backing_cluster_refuses_a_token_the_emulator_did_not_issue(cloud, identity):
    config = yaml.safe_load(gke.source(identity, cloud.endpoint).credentials())
    config["users"][0]["user"]["token"] = "ya29.made-up"

    with pytest.raises(ClusterAccessError, match="rejected the credential"):
        kube.probe(yaml.safe_dump(config), identity["cluster_name"], attempts=1)


def test_missing_cluster_is_not_found_naming_cluster_and_location(env):
    source = gke.source({"project": PROJECT, "location": LOCATION, "cluster_name": "absent"}, env.endpoint)

    with pytest.raises(CloudError) as raised:
        source.describe()
    assert raised.value.reason == "not-found"
    assert str(raised.value) == f"FF-REG-003 gke cluster absent not found in {LOCATION} (project {PROJECT})"


def test_cluster_that_is_not_running_says_so(env):
    identity = add_cluster(env, state="PROVISIONING")

    description = gke.source(identity, env.endpoint).describe()
    assert (description.state, description.running) == ("PROVISIONING", False)


def test_autopilot_cluster_is_refused_by_check(env, identity):
    autopilot = add_cluster(env, autopilot=True)

    refused = list(map(str, gke.check(gke.source(autopilot, env.endpoint).describe(), "member")))
    assert refused == [
        f"FF-KIND-010 GKE cluster '{autopilot['cluster_name']}' is an Autopilot cluster; "
        "only Standard clusters are supported"
    ]
    assert gke.check(gke.source(identity, env.endpoint).describe(), "member") == []


def test_private_endpoint_and_encryption_flags(env):
    identity = add_cluster(env, private_endpoint=True, database_encryption_key=KEY)

    description = gke.source(identity, env.endpoint).describe()
    assert description.flags["private_endpoint"] is True
    assert description.flags["database_encryption"] == "CURRENT_STATE_ENCRYPTED"


# --- shared SDK clients -------------------------------------------------------------------------


def test_clusters_share_the_credentials_the_client_and_the_token(env, identity, counted):
    defaults, clients = counted(google.auth, "default"), counted(container_v1, "ClusterManagerClient")
    other = add_cluster(env)

    tokens = {token_of(gke.source(each, env.endpoint).credentials()) for each in (identity, other)}

    assert (len(defaults), len(clients), len(tokens)) == (1, 1, 1)


def test_a_token_is_refreshed_once_it_is_no_longer_valid(env, identity):
    source = gke.source(identity, env.endpoint)
    held = token_of(source.credentials())
    assert token_of(source.credentials()) == held

    expire_the_held_token()

    renewed = token_of(source.credentials())
    assert renewed != held
    assert kube.probe(source.credentials(), identity["cluster_name"]).git_version == "v1.29.4"


def test_credentials_changed_in_the_environment_are_read_again(env, identity, monkeypatch, tmp_path, counted):
    defaults = counted(google.auth, "default")
    source = gke.source(identity, env.endpoint)
    key = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
    assert source.describe().running

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))
    with pytest.raises(CloudError) as raised:
        source.describe()
    assert raised.value.reason == "unauthorized"

    shutil.copy(key, tmp_path / "key.json")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "key.json"))
    assert source.describe().running
    assert len(defaults) == 2


def test_concurrent_describes_share_the_client_without_discarding_connections(env, describe_concurrently):
    clusters = [add_cluster(env) for _ in range(24)]
    assert describe_concurrently([gke.source(c, env.endpoint) for c in clusters]) == ["RUNNING"] * len(clusters)


# --- error mapping ------------------------------------------------------------------------------


def test_throttling_is_retried_until_the_call_succeeds(env, identity):
    env.throttle_next(2)

    assert gke.source(identity, env.endpoint).describe().running


def test_throttling_that_outlasts_the_retries_is_reported(env, identity, monkeypatch):
    monkeypatch.setattr(gke, "with_retries", functools.partial(base.with_retries, base_delay=0.01))
    env.throttle_next(5)

    with pytest.raises(CloudError) as raised:
        gke.source(identity, env.endpoint).describe()
    assert raised.value.reason == "throttled"
    assert "429" in str(raised.value)


def test_rejected_credentials_name_what_to_set(env, identity):
    env.deny_next(3)  # google-auth refreshes and retries a 401 twice itself

    with pytest.raises(CloudError) as raised:
        gke.source(identity, env.endpoint).describe()
    assert raised.value.reason == "unauthorized"
    assert "GOOGLE_APPLICATION_CREDENTIALS" in str(raised.value)


def test_missing_credentials_name_what_to_set(env, identity, monkeypatch, tmp_path):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "absent.json"))

    with pytest.raises(CloudError) as raised:
        gke.source(identity, env.endpoint).describe()
    assert raised.value.reason == "unauthorized"
    assert "gcloud auth application-default login" in str(raised.value)


def test_expired_credentials_say_how_to_log_in_again(env, identity):
    expire_the_held_token()
    env.revoke_credentials()
    try:
        with pytest.raises(CloudError) as raised:
            gke.source(identity, env.endpoint).credentials()
    finally:
        env.revoke_credentials(False)
    assert raised.value.reason == "expired"
    assert "GKE credentials expired" in str(raised.value)
    assert "gcloud auth application-default login" in str(raised.value)


# --- encryption ---------------------------------------------------------------------------------


def test_enable_encryption_runs_an_operation_until_secrets_are_encrypted(env, identity, monkeypatch):
    source = gke.source(identity, env.endpoint)
    monkeypatch.setattr(env, "operation_seconds", 60)

    started = source.enable_encryption({"key_name": KEY})
    assert started["status"] == "RUNNING" and started["operation"].startswith("operation-")
    assert source.describe().state == "RECONCILING"
    assert source.encryption_status()["pending"] is True

    env.operation_seconds = 0
    done = kube.wait_for(lambda: source.encryption_status()["enabled"], timeout=5, interval=0.1, what="encryption")
    assert done is True
    assert source.encryption_status() == {
        "enabled": True,
        "key": KEY,
        "state": "CURRENT_STATE_ENCRYPTED",
        "pending": False,
        "errors": [],
    }
    assert source.describe().state == "RUNNING"
    assert source.enable_encryption({"key_name": KEY})["operation"] is None  # already so: no call


def test_key_outside_the_cluster_region_is_refused(env, identity):
    with pytest.raises(CloudError, match="FF-ENC-005") as raised:
        gke.source(identity, env.endpoint).enable_encryption(
            {"key_name": "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k"}
        )
    assert raised.value.reason == "invalid"


@pytest.mark.parametrize(
    "key_name, location, ok",
    [
        (KEY, LOCATION, True),
        (KEY, f"{LOCATION}-b", True),  # a zonal cluster uses its region's keys
        (KEY, "us-east1", False),
        ("not-a-key", LOCATION, False),
    ],
)
def test_check_key(key_name, location, ok):
    assert (gke.check_key(key_name, location) == []) is ok


# --- the emulator through the raw SDK -----------------------------------------------------------


def test_raw_client_sees_gke_shapes(env, identity, monkeypatch):
    monkeypatch.setattr(env, "operation_seconds", 60)
    with sdk_client(env) as client:
        cluster = client.get_cluster(name=resource_name(identity))
        listed = client.list_clusters(parent=f"projects/{PROJECT}/locations/{LOCATION}")
        operation = client.update_cluster(
            name=resource_name(identity),
            update={
                "desired_database_encryption": {
                    "state": container_v1.DatabaseEncryption.State.ENCRYPTED,
                    "key_name": KEY,
                }
            },
        )
        with pytest.raises(api.BadRequest, match="incompatible operation"):
            client.update_cluster(
                name=resource_name(identity),
                update={"desired_database_encryption": {"state": container_v1.DatabaseEncryption.State.DECRYPTED}},
            )
        env.operation_seconds = 0
        finished = wait_until_done(client, operation.name)
        encrypted = client.get_cluster(name=resource_name(identity)).database_encryption
        with pytest.raises(api.NotFound) as missing:
            client.get_cluster(name=f"projects/{PROJECT}/locations/{LOCATION}/clusters/absent")

    assert cluster.status == container_v1.Cluster.Status.RUNNING
    assert cluster.master_auth.cluster_ca_certificate and cluster.endpoint.startswith("127.0.0.1:")
    assert identity["cluster_name"] in [c.name for c in listed.clusters]
    assert operation.operation_type == container_v1.Operation.Type.UPDATE_CLUSTER
    assert operation.status == container_v1.Operation.Status.RUNNING
    assert finished.end_time
    assert encrypted.state == container_v1.DatabaseEncryption.State.ENCRYPTED
    assert encrypted.current_state == container_v1.DatabaseEncryption.CurrentState.CURRENT_STATE_ENCRYPTED
    assert missing.value.code == 404


def test_errors_use_googles_envelope(env):
    request = urllib.request.Request(f"{env.endpoint}/v1/projects/{PROJECT}/locations/{LOCATION}/clusters/absent")
    with pytest.raises(urllib.error.HTTPError) as unauthenticated:
        urllib.request.urlopen(request, timeout=5)
    assert unauthenticated.value.code == 401
    assert json.loads(unauthenticated.value.read())["error"]["status"] == "UNAUTHENTICATED"

    credentials, _ = google.auth.default(scopes=gke.SCOPES)
    credentials.refresh(google.auth.transport.requests.Request())
    request.add_header("Authorization", f"Bearer {credentials.token}")
    with pytest.raises(urllib.error.HTTPError) as not_found:
        urllib.request.urlopen(request, timeout=5)
    error = json.loads(not_found.value.read())["error"]
    assert error == {
        "code": 404,
        "status": "NOT_FOUND",
        "message": f"Not found: projects/{PROJECT}/locations/{LOCATION}/clusters/absent.",
    }


def test_clusters_persist_across_emulator_restarts(kube_api, tmp_path, cloud_env):
    first = GkeEmulator(kube_api, tmp_path).start()
    identity = add_cluster(first)
    endpoint = first.endpoint
    first.stop()

    with GkeEmulator(kube_api, tmp_path) as second:
        cloud_env(second)
        assert second.endpoint == endpoint
        assert gke.source(identity, second.endpoint).describe().running
        second.remove_cluster(**identity)


# --- every location at once, as gcloud lists -----------------------------------------------------


@pytest.fixture
def spread(env):
    """Clusters of one project in two locations, and one of another project."""
    clusters = [
        {"project": PROJECT, "location": LOCATION, "cluster_name": f"spread-{next(_numbers)}"},
        {"project": PROJECT, "location": "us-east1", "cluster_name": f"spread-{next(_numbers)}"},
        {"project": "other-project", "location": LOCATION, "cluster_name": f"spread-{next(_numbers)}"},
    ]
    for identity in clusters:
        env.add_cluster(**identity)
    yield clusters
    for identity in clusters:
        env.remove_cluster(**identity)


def test_listing_location_dash_answers_every_location_of_the_project(env, spread):
    with sdk_client(env) as client:
        every = client.list_clusters(parent=f"projects/{PROJECT}/locations/-").clusters
        one = client.list_clusters(parent=f"projects/{PROJECT}/locations/us-east1").clusters

    ours = {c["cluster_name"] for c in spread}
    assert {(c.name, c.location) for c in every if c.name in ours} == {
        (spread[0]["cluster_name"], LOCATION),
        (spread[1]["cluster_name"], "us-east1"),
    }
    assert [c.name for c in one if c.name in ours] == [spread[1]["cluster_name"]]


@pytest.mark.skipif(shutil.which("gcloud") is None, reason="the gcloud CLI is not installed on this machine")
def test_gcloud_container_clusters_list_sees_every_location(env, spread, tmp_path):
    """The real gcloud, pointed at the emulator the way a user points it at a private endpoint."""
    credentials, _ = google.auth.default(scopes=gke.SCOPES)
    credentials.refresh(google.auth.transport.requests.Request())
    token_file = tmp_path / "access-token"
    token_file.write_text(credentials.token)
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER": f"{env.endpoint}/",
    }
    command = ["gcloud", "container", "clusters", "list", "--project", PROJECT, "--format", "json"]
    result = subprocess.run(
        [*command, "--access-token-file", str(token_file)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    ours = {c["cluster_name"] for c in spread}
    listed = {(c["name"], c["location"], c["status"]) for c in json.loads(result.stdout) if c["name"] in ours}
    assert listed == {
        (spread[0]["cluster_name"], LOCATION, "RUNNING"),
        (spread[1]["cluster_name"], "us-east1", "RUNNING"),
    }


def test_widening_the_pool_keeps_an_adapter_the_sdk_mounted():
    """With client certificates on, google-auth mounts its own adapter for https: it must stay, or the
    certificate is no longer sent."""

    class CertificateAdapter(HTTPAdapter):
        pass

    session = requests.Session()
    mounted = CertificateAdapter()
    session.mount("https://", mounted)
    sdk_clients.widen_pool(session)
    assert session.get_adapter("https://container.mtls.googleapis.com") is mounted
    assert session.get_adapter("http://127.0.0.1:1")._pool_maxsize == sdk_clients.POOL_CONNECTIONS
