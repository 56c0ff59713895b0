"""The ``eks`` kind against the EKS emulator (moto behind a proxy): the provider module and raw
boto3 clients, both over loopback with the emulator's dummy keys in the environment.

One Kubernetes emulator and one EKS emulator per module (per xdist worker); every test adds its own
cluster, so tests are independent.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import shutil
import ssl
import subprocess
import urllib.parse
import urllib.request
from datetime import timedelta

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError

from providers import kube
from providers.clouds import base, eks, sdk_clients
from providers.clouds.base import CloudError
from providers.errors import ClusterAccessError
from sandbox.clouds.eks import EksEmulator

REGION = "eu-west-1"
KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def cloud(kube_api):
    with EksEmulator(kube_api) as emulator:
        yield emulator


@pytest.fixture
def env(cloud, cloud_env, monkeypatch):
    """The emulator's keys for this test only, and nothing else of the host's AWS set-up."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return cloud_env(cloud)


def add_cluster(cloud: EksEmulator, **options) -> dict:
    identity = {"region": REGION, "cluster_name": f"prod-{next(_numbers)}"}
    cloud.add_cluster(**identity, **options)
    return identity


@pytest.fixture
def identity(env):
    identity = add_cluster(env)
    yield identity
    env.remove_cluster(**identity)


def eks_client(cloud: EksEmulator):
    return boto3.client("eks", region_name=REGION, endpoint_url=cloud.endpoint)


def token_of(kubeconfig: str) -> str:
    return yaml.safe_load(kubeconfig)["users"][0]["user"]["token"]


# --- lookup -------------------------------------------------------------------------------------


def test_describe_reports_state_version_endpoint_and_ca(cloud, kube_api, identity):
    description = eks.source(identity, cloud.endpoint).describe()

    backing = kube_api.cluster(f"eks-{identity['cluster_name']}")
    assert (description.state, description.running) == ("ACTIVE", True)
    assert description.kubernetes_version == "1.29"  # EKS reports major.minor
    assert description.endpoint == backing.url
    assert base64.b64decode(description.ca_data).decode() == backing.ca_pem
    assert description.native_id == f"arn:aws:eks:{REGION}:{cloud.account_id}:cluster/{identity['cluster_name']}"
    assert description.flags == {"encryption_config": False, "encryption_key_arn": None}


def test_credentials_open_the_backing_cluster_with_an_sts_token(cloud, identity):
    kubeconfig = eks.source(identity, cloud.endpoint).credentials()

    assert kube.probe(kubeconfig, identity["cluster_name"]).git_version == "v1.29.4"
    token = token_of(kubeconfig)
    url = base64.urlsafe_b64decode(token.removeprefix(eks.TOKEN_PREFIX) + "==").decode()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert token.startswith("k8s-aws-v1.") and not token.endswith("=")
    assert query["Action"] == ["GetCallerIdentity"] and query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["host;x-k8s-aws-id"]


def test_token_for_one_cluster_does_not_open_another(env, identity):
    other = add_cluster(env)
    config = yaml.safe_load(eks.source(other, env.endpoint).credentials())
    config["users"][0]["user"]["token"] = token_of(eks.source(identity, env.endpoint).credentials())

    with pytest.raises(ClusterAccessError, match="rejected the credential"):
        kube.probe(yaml.safe_dump(config), other["cluster_name"], attempts=1)


def test_assumed_role_credentials_open_the_cluster_as_that_role(env, identity):
    role = f"arn:aws:iam::{env.account_id}:role/fleet-admin"
    source = eks.source({**identity, "assume_role_arn": role}, env.endpoint)

    kubeconfig = source.credentials()
    assert kube.probe(kubeconfig, identity["cluster_name"]).git_version == "v1.29.4"
    caller = env.token_caller(token_of(kubeconfig), identity["cluster_name"])
    assert caller.startswith(f"arn:aws:sts::{env.account_id}:assumed-role/fleet-admin/")


def token_url(token: str) -> urllib.parse.SplitResult:
    return urllib.parse.urlsplit(base64.urlsafe_b64decode(token.removeprefix(eks.TOKEN_PREFIX) + "==").decode())


def test_tokens_are_presigned_for_the_regional_sts_host_not_for_an_endpoint_override(env, identity):
    """The EKS endpoint is overridden and ``AWS_ENDPOINT_URL_STS`` points at the emulator, yet the token
    names the regional STS host, the one an EKS authenticator accepts."""
    assert os.environ["AWS_ENDPOINT_URL_STS"] == env.endpoint

    token = token_of(eks.source(identity, env.endpoint).credentials())

    url = token_url(token)
    assert (url.scheme, url.netloc) == ("https", f"sts.{REGION}.amazonaws.com")
    assert env.token_caller(token, identity["cluster_name"]) == f"arn:aws:iam::{env.account_id}:user/fleetform-sandbox"


def test_a_configured_sts_endpoint_names_the_host_tokens_are_presigned_for(env, identity, monkeypatch):
    monkeypatch.setenv(eks.STS_ENDPOINT_VARIABLE, "https://sts.private.example")

    token = token_of(eks.source(identity, env.endpoint).credentials())

    assert token_url(token).netloc == "sts.private.example"
    assert env.token_caller(token, identity["cluster_name"]) is None  # this authenticator trusts AWS's STS only


def test_a_token_presigned_for_another_host_is_refused_like_eks_does(env, identity):
    session = boto3.session.Session(region_name=REGION)
    sts = session.client("sts", endpoint_url=env.endpoint)  # the emulator itself, not an STS host
    sts.meta.events.register(
        "before-sign.sts.GetCallerIdentity",
        lambda request, **_: request.headers.__setitem__(eks.CLUSTER_ID_HEADER, identity["cluster_name"]),
    )
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    token = eks.TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")

    assert env.token_caller(token, identity["cluster_name"]) is None


@pytest.mark.skipif(shutil.which("aws") is None, reason="the aws CLI is not installed on this machine")
def test_aws_eks_get_token_opens_the_cluster_with_a_raw_request(env, identity, tmp_path):
    """The real ``aws eks get-token``, run as a user would (keys in the environment, no endpoint
    settings), makes a token the emulated cluster accepts on a plain HTTPS request."""
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = ["aws", "eks", "get-token", "--cluster-name", identity["cluster_name"], "--region", REGION]
    result = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    token = json.loads(result.stdout)["status"]["token"]

    description = eks.source(identity, env.endpoint).describe()
    context = ssl.create_default_context(cadata=base64.b64decode(description.ca_data).decode())
    request = urllib.request.Request(f"{description.endpoint}/version", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        assert json.load(answer)["gitVersion"] == "v1.29.4"
    assert token_url(token).netloc == f"sts.{REGION}.amazonaws.com"


def test_missing_cluster_is_not_found_naming_cluster_and_region(env, identity):
    elsewhere = eks.source({"region": "eu-central-1", "cluster_name": identity["cluster_name"]}, env.endpoint)

    with pytest.raises(CloudError) as raised:
        elsewhere.describe()
    assert raised.value.reason == "not-found"
    assert str(raised.value) == f"FF-REG-003 eks cluster {identity['cluster_name']} not found in eu-central-1"


def test_cluster_that_is_not_running_says_so(env):
    identity = add_cluster(env, state="CREATING")

    description = eks.source(identity, env.endpoint).describe()
    assert (description.state, description.running) == ("CREATING", False)
    assert eks.check(description, "member") == []  # no EKS-specific preview rule


# --- shared SDK clients -------------------------------------------------------------------------


def test_clusters_share_one_session_and_one_eks_client(env, identity, counted):
    clients, sessions = counted(boto3.session.Session, "client"), counted(boto3.session, "Session")
    other = add_cluster(env)

    for each in (identity, other):
        kubeconfig = eks.source(each, env.endpoint).credentials()
        assert env.token_caller(token_of(kubeconfig), each["cluster_name"]) is not None

    assert len(sessions) == 1
    assert [client.meta.service_model.service_name for client in clients] == ["eks", "sts", "sts"]  # STS: per token


def test_keys_changed_in_the_environment_sign_with_a_new_session(env, identity, monkeypatch, counted):
    sessions = counted(boto3.session, "Session")
    source = eks.source(identity, env.endpoint)
    assert env.token_caller(token_of(source.credentials()), identity["cluster_name"]) is not None

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")

    assert env.token_caller(token_of(source.credentials()), identity["cluster_name"]) is None
    assert len(sessions) == 2


def test_assumed_role_keys_are_kept_until_they_near_their_expiry(env, identity, monkeypatch, counted):
    clients, sessions = counted(boto3.session.Session, "client"), counted(boto3.session, "Session")
    role = f"arn:aws:iam::{env.account_id}:role/fleet-admin"
    source = eks.source({**identity, "assume_role_arn": role}, env.endpoint)

    source.describe()
    source.describe()
    assert len(sessions) == 2  # the standard chain's and the role's: the role's keys last an hour

    monkeypatch.setattr(sdk_clients, "RENEW_BEFORE", timedelta(hours=2))  # now they are near their expiry
    source.describe()
    assert len(sessions) == 3
    assert [client.meta.service_model.service_name for client in clients].count("eks") == 2

    kubeconfig = source.credentials()  # renews again, and signs with the newest keys
    newest_key = sessions[-1].get_credentials().access_key
    assert urllib.parse.parse_qs(token_url(token_of(kubeconfig)).query)["X-Amz-Credential"][0].startswith(newest_key)
    assert env.token_caller(token_of(kubeconfig), identity["cluster_name"]).startswith(
        f"arn:aws:sts::{env.account_id}:assumed-role/fleet-admin/"
    )


# --- error mapping ------------------------------------------------------------------------------


def test_throttling_is_retried_until_the_call_succeeds(env, identity):
    env.throttle_next(2)

    assert eks.source(identity, env.endpoint).describe().running


def test_throttling_that_outlasts_the_retries_is_reported(env, identity, monkeypatch):
    monkeypatch.setattr(eks, "with_retries", functools.partial(base.with_retries, base_delay=0.01))
    env.throttle_next(5)  # with_retries makes 5 attempts; botocore's own retries are off

    with pytest.raises(CloudError) as raised:
        eks.source(identity, env.endpoint).describe()
    assert raised.value.reason == "throttled"
    assert "ThrottlingException" in str(raised.value)
    assert eks.source(identity, env.endpoint).describe().running  # the queue is used up


def test_server_faults_are_retried(env, identity):
    env.fail_next(2, "ServiceUnavailableException")

    assert eks.source(identity, env.endpoint).describe().running


def test_rejected_credentials_name_what_to_set(env, identity):
    env.deny_next()

    with pytest.raises(CloudError) as raised:
        eks.source(identity, env.endpoint).describe()
    assert raised.value.reason == "unauthorized"
    assert "UnrecognizedClientException" in str(raised.value)
    assert "AWS_PROFILE" in str(raised.value) and "AWS_ACCESS_KEY_ID" in str(raised.value)


def test_missing_credentials_name_what_to_set(env, identity, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))

    with pytest.raises(CloudError) as raised:
        eks.source(identity, env.endpoint).describe()
    assert raised.value.reason == "unauthorized"
    assert "AWS_ACCESS_KEY_ID" in str(raised.value)


def test_access_denied_names_the_permission(env, identity):
    env.fail_next(1, "AccessDeniedException")

    with pytest.raises(CloudError) as raised:
        eks.source(identity, env.endpoint).describe()
    assert raised.value.reason == "forbidden"
    assert "eks:DescribeCluster" in str(raised.value)


# --- encryption ---------------------------------------------------------------------------------


def test_enable_encryption_runs_an_update_until_secrets_are_encrypted(env, identity, monkeypatch):
    source = eks.source(identity, env.endpoint)
    monkeypatch.setattr(env, "update_seconds", 60)

    started = source.enable_encryption({"key_arn": KEY_ARN})
    assert started["status"] == "InProgress" and started["operation"]
    assert source.describe().state == "UPDATING"
    assert source.encryption_status() == {
        "enabled": False,
        "key": None,
        "operation": {"id": started["operation"], "status": "InProgress", "errors": []},
    }

    env.update_seconds = 0
    kube.wait_for(lambda: source.encryption_status()["enabled"], timeout=5, interval=0.1, what="encryption")
    assert source.encryption_status()["operation"]["status"] == "Successful"
    assert source.describe().flags == {"encryption_config": True, "encryption_key_arn": KEY_ARN}
    assert source.enable_encryption({"key_arn": KEY_ARN})["operation"] is None  # already so: no call
    with pytest.raises(CloudError, match="FF-ENC-002"):
        source.enable_encryption({"key_arn": KEY_ARN.replace("1234abcd", "99999999")})


def test_without_a_key_new_versions_use_the_provider_default(env):
    recent, old = add_cluster(env, version="1.29.4"), add_cluster(env, version="1.27.9")

    assert eks.source(recent, env.endpoint).enable_encryption({})["status"] == "provider-default"
    with pytest.raises(CloudError, match="FF-ENC-013 EKS 1.27 needs key_arn"):
        eks.source(old, env.endpoint).enable_encryption({})


# --- the emulator through the raw SDK -----------------------------------------------------------


def test_raw_client_sees_eks_shapes(env, identity, monkeypatch):
    client, name = eks_client(env), identity["cluster_name"]
    monkeypatch.setattr(env, "update_seconds", 60)

    cluster = client.describe_cluster(name=name)["cluster"]
    assert cluster["status"] == "ACTIVE" and cluster["version"] == "1.29"
    assert cluster["endpoint"].startswith("https://127.0.0.1:")
    assert base64.b64decode(cluster["certificateAuthority"]["data"]).startswith(b"-----BEGIN CERTIFICATE-----")
    assert name in client.list_clusters()["clusters"]

    config = [{"resources": ["secrets"], "provider": {"keyArn": KEY_ARN}}]
    update = client.associate_encryption_config(clusterName=name, encryptionConfig=config)["update"]
    assert (update["type"], update["status"]) == ("AssociateEncryptionConfig", "InProgress")
    assert client.list_updates(name=name)["updateIds"] == [update["id"]]
    with pytest.raises(ClientError) as busy:
        client.associate_encryption_config(clusterName=name, encryptionConfig=config)
    assert busy.value.response["Error"]["Code"] == "ResourceInUseException"

    env.update_seconds = 0
    kube.wait_for(
        lambda: client.describe_update(name=name, updateId=update["id"])["update"]["status"] == "Successful",
        timeout=5,
        interval=0.1,
        what="update",
    )
    assert client.describe_cluster(name=name)["cluster"]["encryptionConfig"] == config
    with pytest.raises(ClientError) as again:
        client.associate_encryption_config(clusterName=name, encryptionConfig=config)
    assert again.value.response["Error"]["Code"] == "InvalidRequestException"

    with pytest.raises(ClientError) as missing:
        client.describe_cluster(name="absent")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_clusters_persist_across_emulator_restarts(kube_api, tmp_path, cloud_env):
    first = EksEmulator(kube_api, tmp_path).start()
    identity = add_cluster(first, encryption_key_arn=KEY_ARN)
    endpoint, account = first.endpoint, first.account_id
    first.stop()

    with EksEmulator(kube_api, tmp_path) as second:
        cloud_env(second)
        description = eks.source(identity, second.endpoint).describe()
        assert second.endpoint == endpoint
        assert description.native_id == f"arn:aws:eks:{REGION}:{account}:cluster/{identity['cluster_name']}"
        assert description.flags["encryption_key_arn"] == KEY_ARN
        assert kube.probe(eks.source(identity, second.endpoint).credentials(), "persisted").git_version == "v1.29.4"
        second.remove_cluster(**identity)


def test_concurrent_describes_share_the_client_without_discarding_connections(env, describe_concurrently):
    clusters = [add_cluster(env) for _ in range(24)]
    assert describe_concurrently([eks.source(c, env.endpoint) for c in clusters]) == ["ACTIVE"] * len(clusters)
