"""The stack configuration model (components/spec.py): shipped stacks, DOMAIN §3 static rules, error reporting."""

import copy
import json
from datetime import timedelta
from pathlib import Path

import pulumi
import pulumi.runtime.config as pulumi_config
import pulumi.runtime.settings as pulumi_settings
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.spec import (
    KINDS,
    NAME_PATTERN,
    RESERVED_NAME_PREFIXES,
    EksCluster,
    FleetSpec,
    IdcCluster,
    StackConfigError,
    config_path,
    load_stack_file,
    spec_from_config,
    spec_from_pulumi_config,
)

STACKS = Path(__file__).resolve().parent.parent / "stacks"
SOURCE = "stacks/Pulumi.test.yaml"
SECRET = "c2VjcmV0LWt1YmVjb25maWctZG8tbm90LWxlYWs="

HUB = {"name": "hub-test", "kubeconfig": SECRET, "agent_endpoint": "https://hub.example.com:6443"}
CLUSTERS = {
    "ctyun": {"region_id": "bb9fdb42056f11eda1610242ac110002", "cluster_id": "4f2b9c1de0a84b7f9e3c5a6d7b8c9d0e"},
    "idc": {"kubeconfig_env": "IDC_KUBECONFIG"},
    "eks": {"region": "eu-west-1", "cluster_name": "payments"},
    "gke": {"project": "acme-platform", "location": "europe-west1-b", "cluster_name": "web"},
    "aks": {
        "subscription_id": "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
        "resource_group": "rg-aks",
        "cluster_name": "aks1",
    },
    "ack": {"region_id": "cn-hangzhou", "cluster_id": "c82e6987e2961451182edacd74faf1234"},
    "tke": {"region": "ap-guangzhou", "cluster_id": "cls-7ph3twqe"},
}


def cluster(kind: str, name: str | None = None, **inputs) -> dict:
    return {"name": f"{kind}-one" if name is None else name, "kind": kind, **CLUSTERS[kind], **inputs}


def config(hub: dict | None = None, clusters=(), fleets=(), federations=(), permissions=(), **extra) -> dict:
    values = {
        "fleetform:hub": copy.deepcopy(HUB if hub is None else hub),
        "fleetform:clusters": list(clusters),
        "fleetform:fleets": list(fleets),
        "fleetform:federations": list(federations),
        "fleetform:permissions": list(permissions),
    }
    values.update(extra)
    return values


def problems(values: dict) -> dict[str, list[str]]:
    """path -> messages (with hints) of the StackConfigError the config must raise."""
    with pytest.raises(StackConfigError) as caught:
        spec_from_config(values, SOURCE)
    found: dict[str, list[str]] = {}
    for problem in caught.value.problems:
        found.setdefault(problem.path, []).append(problem.message + (f" ({problem.hint})" if problem.hint else ""))
    return found


def only_problem(values: dict) -> tuple[str, str]:
    found = problems(values)
    assert len(found) == 1 and len(next(iter(found.values()))) == 1, found
    path, (message,) = next(iter(found.items()))
    return path, message


# --- shipped stacks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["sandbox", "dev", "staging", "prod"])
def test_shipped_stack_file_validates(stack):
    spec = load_stack_file(STACKS / f"Pulumi.{stack}.yaml")
    assert spec.clusters
    assert spec.sandbox is (stack == "sandbox")
    assert spec.fleets  # every shipped stack groups its clusters into fleets


def test_prod_covers_all_seven_kinds_without_inline_secrets():
    spec = load_stack_file(STACKS / "Pulumi.prod.yaml")
    assert {c.kind for c in spec.clusters} == set(KINDS)
    assert spec.hub.kubeconfig is None and spec.hub.kubeconfig_env
    assert all(c.kubeconfig is None and c.kubeconfig_sources() for c in spec.clusters if isinstance(c, IdcCluster))


def test_sandbox_stack_has_every_kind_in_several_regions_both_modes_and_no_credentials():
    spec = load_stack_file(STACKS / "Pulumi.sandbox.yaml")
    assert spec.hub.name == "hub-sandbox" and spec.hub.kubeconfig_sources() == [] and spec.hub.agent_endpoint is None
    assert {c.kind for c in spec.clusters} == set(KINDS)
    idc = [c for c in spec.clusters if isinstance(c, IdcCluster)]
    assert len(idc) >= 3 and {c.connection_mode for c in idc} == {"agent", "direct"}
    assert len({c.region for c in idc}) == 2
    assert all(c.kubeconfig_sources() == [] and c.agent_install == "engine" for c in idc)
    assert all(c.bootstrap_kubeconfig is None for c in spec.clusters)


# --- defaults ---------------------------------------------------------------------------------------------------


def test_defaults_follow_domain():
    spec = spec_from_config(
        config(
            clusters=[cluster("idc"), cluster("eks")], fleets=[{"name": "fleet-a"}], federations=[{"name": "fed-a"}]
        ),
        SOURCE,
    )
    idc, eks = spec.clusters
    assert (idc.connection_mode, eks.connection_mode) == ("agent", "direct")
    assert (idc.agent_install, eks.agent_install) == ("engine", "engine")
    assert idc.access_timeout == eks.access_timeout == timedelta(minutes=30)
    assert spec.hub.bootstrap_token_ttl == timedelta(hours=24) and spec.hub.ocm == "existing"
    assert spec.hub.deletion_protection and eks.deletion_protection and spec.federations[0].deletion_protection
    assert not spec.fleets[0].deletion_protection
    assert eks.endpoint_preference == "private" and eks.credential_generation == 1 and not eks.force_deregister
    assert spec.federations[0].namespace == "fleetform-fed-fed-a"
    assert spec.federations[0].etcd.local.replicas == 3 and spec.federations[0].join_timeout == timedelta(minutes=10)


def test_idc_agent_without_credential_defaults_to_manual_install():
    spec = spec_from_config(config(clusters=[{"name": "idc-nat", "kind": "idc"}]), SOURCE)
    assert spec.clusters[0].agent_install == "manual"


def test_cluster_access_timeout_falls_back_to_the_hub_default_and_durations_dump_as_text():
    hub = {**HUB, "default_access_timeout": "1h30m"}
    spec = spec_from_config(config(hub=hub, clusters=[cluster("eks"), cluster("gke", access_timeout="45m")]), SOURCE)
    assert [c.access_timeout for c in spec.clusters] == [timedelta(minutes=90), timedelta(minutes=45)]
    assert spec.model_dump(mode="json")["hub"]["default_access_timeout"] == "1h30m"


def test_tke_kms_region_defaults_to_the_cluster_region():
    tke = cluster("tke", encryption={"key": {"kms_key_id": "23e80852-1e38-11e9-b129-5cb9019b4b01"}})
    spec = spec_from_config(config(clusters=[tke]), SOURCE)
    assert spec.clusters[0].encryption.key.kms_region == "ap-guangzhou"


def test_other_namespaces_are_ignored():
    spec = spec_from_config({**config(clusters=[cluster("eks")]), "aws:region": "us-east-1"}, SOURCE)
    assert isinstance(spec.clusters[0], EksCluster)


# --- durations --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [("90h", "duration 90h is out of range (allowed: 1h to 72h)"), ("30 minutes", "'30 minutes' is not a duration")],
)
def test_durations_are_parsed_and_range_checked(value, message):
    path, text = only_problem(config(hub={**HUB, "bootstrap_token_ttl": value}))
    assert path == "fleetform:hub.bootstrap_token_ttl"
    assert text.startswith(message)


def test_rotation_interval_below_24h_is_refused():
    idc = cluster("idc", encryption={"idc": {"rotation_interval": "12h"}})
    path, text = only_problem(config(clusters=[idc]))
    assert path == "fleetform:clusters[0].encryption.idc.rotation_interval"
    assert "out of range (allowed: at least 24h)" in text


# --- V1-V3 names ------------------------------------------------------------------------------------------------

valid_names = st.from_regex(NAME_PATTERN, fullmatch=True).filter(
    lambda n: n not in ("default", "global", HUB["name"]) and not n.startswith(RESERVED_NAME_PREFIXES)
)


@given(valid_names)
def test_v1_valid_names_are_accepted(name):
    spec = spec_from_config(config(clusters=[cluster("eks", name)]), SOURCE)
    assert spec.clusters[0].name == name


@given(st.text(max_size=50).filter(lambda n: not NAME_PATTERN.fullmatch(n)))
def test_v1_invalid_names_are_rejected(name):
    found = problems(config(clusters=[cluster("eks", name)]))
    assert any(
        m.startswith(
            f"FF-NAME-001 cluster name '{name}' is invalid: use 4-40 characters, start with a "
            "lowercase letter, use only a-z, 0-9 and '-', end with a letter or digit"
        )
        for m in found["fleetform:clusters[0].name"]
    )


def test_v1_applies_to_every_entity():
    found = problems(config(hub={**HUB, "name": "Hub"}, fleets=[{"name": "f1"}], federations=[{"name": "fed_x"}]))
    assert found["fleetform:hub.name"][0].startswith("FF-NAME-001 hub name 'Hub' is invalid")
    assert found["fleetform:fleets[0].name"][0].startswith("FF-NAME-001 fleet name 'f1' is invalid")
    assert found["fleetform:federations[0].name"][0].startswith("FF-NAME-001 federation name 'fed_x' is invalid")


def test_v1_is_checked_even_when_the_item_has_other_problems():
    found = problems(config(clusters=[{"name": "Bad", "kind": "eks"}]))
    assert found["fleetform:clusters[0].name"][0].startswith("FF-NAME-001")
    assert "fleetform:clusters[0].region" in found


def test_v2_duplicate_cluster_names():
    path, text = only_problem(config(clusters=[cluster("eks", "edge-01"), cluster("gke", "edge-01")]))
    assert path == "fleetform:clusters[1].name"
    assert text == (
        "FF-NAME-002 name 'edge-01' is already used by cluster 'edge-01' on hub 'hub-test' "
        "(first used at fleetform:clusters[0].name; rename one)"
    )


def test_v2_cluster_named_like_the_hub():
    path, text = only_problem(config(clusters=[cluster("eks", "hub-test")]))
    assert path == "fleetform:clusters[0].name"
    assert text.startswith("FF-NAME-002 name 'hub-test' is already used by hub 'hub-test' on hub 'hub-test'")


def test_v2_duplicate_fleet_names():
    path, text = only_problem(config(fleets=[{"name": "fleet-a"}, {"name": "fleet-a"}]))
    assert path == "fleetform:fleets[1].name" and text.startswith("FF-NAME-002 name 'fleet-a'")


@pytest.mark.parametrize(
    "name", ["default", "global", "kube-edge", "fleetform-one", "karmada-one", "open-cluster-management-x"]
)
def test_v3_reserved_names(name):
    path, text = only_problem(config(fleets=[{"name": name}]))
    assert path == "fleetform:fleets[0].name"
    assert text.startswith(f"FF-NAME-003 name '{name}' is reserved")


# --- V6 / V7 kinds ----------------------------------------------------------------------------------------------


def test_v6_unknown_kind_has_the_exact_message():
    path, text = only_problem(config(clusters=[cluster("eks"), {"name": "oke-one", "kind": "oke"}]))
    assert path == "fleetform:clusters[1].kind"
    assert text.startswith("FF-KIND-001 unknown cluster kind 'oke' (expected ctyun, idc, eks, gke, aks, ack, tke)")


def test_v6_missing_kind():
    path, text = only_problem(config(clusters=[{"name": "what-one"}]))
    assert path == "fleetform:clusters[0].kind" and text.startswith("field required (one of ctyun, idc,")


def test_v7_missing_identifying_input():
    eks = cluster("eks")
    del eks["region"]
    path, text = only_problem(config(clusters=[cluster("gke"), cluster("ack"), cluster("tke"), eks]))
    assert path == "fleetform:clusters[3].region"
    assert text == (
        'FF-KIND-002 kind eks requires region, cluster_name; missing: region (an AWS region, e.g. "eu-west-1")'
    )


def test_v7_lists_all_missing_inputs_on_each():
    found = problems(config(clusters=[{"name": "aks-one", "kind": "aks", "cluster_name": "aks1"}]))
    expected = (
        "FF-KIND-002 kind aks requires subscription_id, resource_group, cluster_name; "
        "missing: subscription_id, resource_group"
    )
    assert [m.split(" (")[0] for m in found["fleetform:clusters[0].subscription_id"]] == [expected]
    assert [m.split(" (")[0] for m in found["fleetform:clusters[0].resource_group"]] == [expected]


@pytest.mark.parametrize(
    ("kind", "key", "value"),
    [
        ("gke", "location", "Europe West"),
        ("aks", "subscription_id", "not-a-guid"),
        ("tke", "cluster_id", "7ph3twqe"),
        ("eks", "region", "ireland"),
    ],
)
def test_v7_malformed_identifying_input(kind, key, value):
    path, text = only_problem(config(clusters=[cluster(kind, **{key: value})]))
    assert path == f"fleetform:clusters[0].{key}"
    assert text.startswith(f"FF-KIND-002 kind {kind} requires a well-formed {key}; got '{value}' (expected ")


def test_v7_idc_direct_needs_a_kubeconfig_outside_the_sandbox():
    path, text = only_problem(config(clusters=[{"name": "idc-one", "kind": "idc", "connection_mode": "direct"}]))
    assert path == "fleetform:clusters[0].kubeconfig"
    assert text.startswith("FF-KIND-002 kind idc requires kubeconfig; missing: kubeconfig")


def test_v7_idc_agent_installed_by_the_engine_needs_a_kubeconfig():
    path, _ = only_problem(config(clusters=[{"name": "idc-one", "kind": "idc", "agent_install": "engine"}]))
    assert path == "fleetform:clusters[0].kubeconfig"


def test_idc_kubeconfig_sources_are_exclusive():
    idc = cluster("idc", kubeconfig=SECRET, kubeconfig_file="/tmp/k.yaml")
    path, text = only_problem(config(clusters=[idc]))
    assert path == "fleetform:clusters[0].kubeconfig_file"
    assert text == "kubeconfig, kubeconfig_file, kubeconfig_env are set together (give exactly one kubeconfig source)"


def test_sandbox_supplies_hub_and_idc_credentials_and_the_agent_endpoint():
    hub = {"name": "hub-sandbox"}
    idc = {"name": "idc-one", "kind": "idc", "connection_mode": "direct"}
    spec = spec_from_config(
        config(hub=hub, clusters=[idc, {"name": "idc-two", "kind": "idc"}], **{"fleetform:sandbox": True}), SOURCE
    )
    assert spec.sandbox and [c.agent_install for c in spec.clusters] == ["engine", "engine"]


def test_hub_needs_a_kubeconfig_outside_the_sandbox():
    path, text = only_problem(config(hub={"name": "hub-test"}))
    assert path == "fleetform:hub.kubeconfig" and text.startswith("field required")


# --- V14 connection ---------------------------------------------------------------------------------------------


def test_v14_agent_mode_needs_the_hub_agent_endpoint():
    hub = {"name": "hub-test", "kubeconfig": SECRET}
    clusters = [cluster("idc"), cluster("eks", connection_mode="agent"), cluster("gke")]
    found = problems(config(hub=hub, clusters=clusters))
    assert list(found) == ["fleetform:hub.agent_endpoint"]
    assert [m.split(" (")[0] for m in found["fleetform:hub.agent_endpoint"]] == [
        "FF-CONN-001 cluster 'idc-one' uses agent mode but hub 'hub-test' has no agent_endpoint",
        "FF-CONN-001 cluster 'eks-one' uses agent mode but hub 'hub-test' has no agent_endpoint",
    ]


@pytest.mark.parametrize("url", ["http://hub.example.com", "https://kubernetes.default.svc", "hub:6443"])
def test_agent_endpoint_must_be_an_https_url_members_can_reach(url):
    path, _ = only_problem(config(hub={**HUB, "agent_endpoint": url}))
    assert path == "fleetform:hub.agent_endpoint"


# --- fleets, federations, references ----------------------------------------------------------------------------


def test_v16_a_cluster_is_in_at_most_one_fleet():
    fleets = [{"name": "fleet-a", "members": ["eks-one"]}, {"name": "fleet-b", "members": ["gke-one", "eks-one"]}]
    path, text = only_problem(config(clusters=[cluster("eks"), cluster("gke")], fleets=fleets))
    assert path == "fleetform:fleets[1].members[1]"
    assert text == (
        "FF-FLEET-001 cluster 'eks-one' already belongs to fleet 'fleet-a'; remove it from that fleet first"
        " (it is listed in fleets 'fleet-a' and 'fleet-b'; a cluster is in at most one)"
    )


def test_v18_a_federation_serves_one_fleet():
    fleets = [{"name": "fleet-a", "federation": "fed-a"}, {"name": "fleet-b", "federation": "fed-a"}]
    path, text = only_problem(config(fleets=fleets, federations=[{"name": "fed-a"}]))
    assert path == "fleetform:fleets[1].federation"
    assert text == "FF-FED-001 federation 'fed-a' is already bound to fleet 'fleet-a'; a federation serves one fleet"


def test_references_must_resolve():
    fleets = [{"name": "fleet-a", "members": ["eks-one", "ghost-one"], "federation": "fed-ghost"}]
    permissions = [
        {"name": "perm-one", "cluster": "ghost-two", "role": "admin", "subjects": [{"kind": "User", "name": "u"}]}
    ]
    found = problems(config(clusters=[cluster("eks")], fleets=fleets, permissions=permissions))
    assert found == {
        "fleetform:fleets[0].members[1]": [
            "cluster 'ghost-one' is not declared in fleetform:clusters (declared: eks-one)"
        ],
        "fleetform:fleets[0].federation": [
            "federation 'fed-ghost' is not declared in fleetform:federations (declare it in fleetform:federations)"
        ],
        "fleetform:permissions[0].cluster": [
            "cluster 'ghost-two' is not declared in fleetform:clusters (declared: eks-one)"
        ],
    }


def test_a_member_that_failed_to_parse_is_still_declared():
    broken = {"name": "eks-one", "kind": "eks"}
    found = problems(config(clusters=[broken], fleets=[{"name": "fleet-a", "members": ["eks-one"]}]))
    assert not any(path.startswith("fleetform:fleets") for path in found)


def test_federation_mode_existing_needs_its_kubeconfig_and_clusterip_an_external_url():
    federation = {"name": "fed-a", "mode": "existing", "api_server_service_type": "ClusterIP"}
    found = problems(config(federations=[federation]))
    assert set(found) == {
        "fleetform:federations[0].existing_kubeconfig",
        "fleetform:federations[0].api_server_external_url",
    }


# --- V25 networks -----------------------------------------------------------------------------------------------


def test_v25_cidr_syntax():
    path, text = only_problem(config(clusters=[cluster("eks", network={"pod_cidr": "10.0.0.1/8"})]))
    assert path == "fleetform:clusters[0].network.pod_cidr"
    assert text == "FF-NET-002 '10.0.0.1/8' is not a valid CIDR (did you mean \"10.0.0.0/8\"?)"


def test_v25_non_rfc1918_ranges_are_warnings():
    network = {"vpc_cidr": "10.1.0.0/16", "pod_cidr": "100.64.0.0/16"}
    spec = spec_from_config(config(clusters=[cluster("eks", network=network)]), SOURCE)
    assert [str(w) for w in spec.warnings] == [
        "fleetform:clusters[0].network.pod_cidr: FF-NET-W01 100.64.0.0/16 is not an RFC 1918 range"
    ]


@pytest.mark.parametrize(
    ("section", "key", "asked", "done"),
    [
        ("hub", "ocm_version", "0.15.1", "0.16.0"),
        ("clusters", "force_deregister", True, False),
        ("federations", "api_server_exposure", "public", "internal"),
        ("federations", "member_network_type", "public", None),
    ],
)
def test_inputs_this_version_does_not_apply_are_warned_about_not_ignored(section, key, asked, done):
    def stack(value) -> dict:
        if section == "hub":
            return config(hub={**HUB, key: value})
        federation = {"name": "fed-a", **({key: value} if section == "federations" else {})}
        member = cluster("eks", **({key: value} if section == "clusters" else {}))
        return config(clusters=[member], fleets=[{"name": "fleet-a", "federation": "fed-a"}], federations=[federation])

    where = "fleetform:hub" if section == "hub" else f"fleetform:{section}[0]"
    warned = [str(w) for w in spec_from_config(stack(asked), SOURCE).warnings if "FF-CFG-W01" in str(w)]
    assert len(warned) == 1 and warned[0].startswith(f"{where}.{key}: FF-CFG-W01 {key}={asked} is not applied")
    if done is not None:
        assert not [w for w in spec_from_config(stack(done), SOURCE).warnings if "FF-CFG-W01" in str(w)]


# --- bootstrap --------------------------------------------------------------------------------------------------


def test_v33_zonal_provisioners_need_wait_for_first_consumer():
    bootstrap = {"storage": {"volume_binding_mode": "Immediate"}}
    path, text = only_problem(config(clusters=[cluster("eks", bootstrap=bootstrap)]))
    assert path == "fleetform:clusters[0].bootstrap.storage.volume_binding_mode"
    assert text.startswith(
        "FF-STOR-004 provisioner 'ebs.csi.aws.com' creates zonal disks; volume_binding_mode must "
        "be WaitForFirstConsumer"
    )


def test_v33_does_not_apply_to_non_zonal_idc_storage():
    bootstrap = {"storage": {"volume_binding_mode": "Immediate", "provisioner": "nfs.csi.k8s.io"}}
    spec_from_config(config(clusters=[cluster("idc", bootstrap=bootstrap)]), SOURCE)


def test_bootstrap_inputs_needed_by_the_chosen_provider():
    clusters = [
        cluster("gke", bootstrap={"ingress": {"provider": "gateway-api"}}),
        cluster("tke", bootstrap={"ingress": {"exposure": "internal"}}),
        cluster("idc", bootstrap={"ingress": {"provider": "cloud-native"}}),
        cluster("ctyun", bootstrap={"adopt_existing": False}),
    ]
    found = problems(config(clusters=clusters))
    assert set(found) == {
        "fleetform:clusters[0].bootstrap.ingress.gateway_class",
        "fleetform:clusters[1].bootstrap.ingress.lb_subnet_id",
        "fleetform:clusters[2].bootstrap.ingress.provider",
        "fleetform:clusters[3].bootstrap.storage.parameters",
    }


# --- encryption -------------------------------------------------------------------------------------------------


def test_v34_ctyun_encryption_fails_preview():
    path, text = only_problem(config(clusters=[cluster("ctyun", encryption={})]))
    assert path == "fleetform:clusters[0].encryption"
    assert text.startswith(
        "FF-ENC-001 etcd/Secret encryption is not supported for kind ctyun: CTyun CCE offers no KMS "
        "or secret-encryption API and its control-plane hosts are not reachable. Remove "
        "EtcdEncryption 'ctyun-one' or set enabled=false"
    )


def test_v34_ctyun_encryption_disabled_is_accepted():
    spec_from_config(config(clusters=[cluster("ctyun", encryption={"enabled": False})]), SOURCE)


@pytest.mark.parametrize(
    "key_name",
    [
        "projects/p/locations/us-east1/keyRings/r/cryptoKeys/k",
        "my-key",
        "projects/p/locations/europe-west1-b/keyRings/r/cryptoKeys/k",
    ],
)
def test_v38_gke_key_must_be_a_kms_key_in_the_cluster_region(key_name):
    gke = cluster("gke", encryption={"key": {"key_name": key_name}})
    path, text = only_problem(config(clusters=[gke]))
    assert path == "fleetform:clusters[0].encryption.key.key_name"
    assert text.startswith(f"FF-ENC-005 GKE key '{key_name}' must be a Cloud KMS key in location europe-west1")


def test_v38_gke_key_in_the_region_of_a_zonal_cluster_is_accepted():
    key = "projects/acme-platform/locations/europe-west1/keyRings/r/cryptoKeys/k"
    spec_from_config(config(clusters=[cluster("gke", encryption={"key": {"key_name": key}})]), SOURCE)


def test_v39_aks_key_must_be_versioned_and_private_access_needs_the_vault_id():
    key = {"key_id": "https://kv-one.vault.azure.net/keys/etcd", "key_vault_network_access": "Private"}
    found = problems(config(clusters=[cluster("aks", encryption={"key": key})]))
    assert found["fleetform:clusters[0].encryption.key.key_id"][0].startswith(
        "FF-ENC-006 AKS KMS settings invalid: key_id 'https://kv-one.vault.azure.net/keys/etcd' is not a versioned"
    )
    assert found["fleetform:clusters[0].encryption.key.key_vault_resource_id"][0].startswith(
        "FF-ENC-006 AKS KMS settings invalid: key_vault_network_access Private needs key_vault_resource_id"
    )


def test_cloud_kinds_other_than_eks_need_a_key():
    found = problems(config(clusters=[cluster("ack", encryption={}), cluster("eks", encryption={})]))
    assert list(found) == ["fleetform:clusters[0].encryption.key"]


def test_eks_customer_key_is_irreversible_and_must_be_acknowledged():
    key = {"key_arn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
    path, text = only_problem(config(clusters=[cluster("eks", encryption={"key": key})]))
    assert path == "fleetform:clusters[0].encryption.allow_irreversible"
    assert text.startswith("FF-ENC-014 EKS secrets encryption is irreversible; set allow_irreversible=true to proceed")


def test_idc_kms_provider_needs_its_plugin():
    path, _ = only_problem(config(clusters=[cluster("idc", encryption={"idc": {"provider": "kms"}})]))
    assert path == "fleetform:clusters[0].encryption.idc.kms"


# --- V43 permissions --------------------------------------------------------------------------------------------

GROUP = [{"kind": "Group", "name": "sre"}]


def permission(**inputs) -> dict:
    return {"name": "perm-one", "fleet": "fleet-a", "role": "admin", "subjects": GROUP, **inputs}


def perm_problems(*items: dict) -> dict[str, list[str]]:
    return problems(config(fleets=[{"name": "fleet-a"}], clusters=[cluster("eks")], permissions=list(items)))


def test_v43_exactly_one_target():
    path, text = only_problem(
        config(fleets=[{"name": "fleet-a"}], clusters=[cluster("eks")], permissions=[permission(cluster="eks-one")])
    )
    assert path == "fleetform:permissions[0]"
    assert text == "FF-PERM-001 permission 'perm-one': set exactly one target, fleet or cluster (got fleet and cluster)"


def test_v43_unknown_role():
    found = perm_problems(permission(role="superuser"))
    assert found == {
        "fleetform:permissions[0].role": [
            "FF-PERM-001 permission 'perm-one': unknown role 'superuser' (allowed: admin, operator, developer, restricted, "
            "custom)"
        ]
    }


def test_v43_custom_role_verbs():
    rules = [{"verbs": ["get", "escalate", "frobnicate"], "resources": [{"resource": "pods"}]}]
    found = perm_problems(permission(role="custom", rules=rules, extra_verbs=["escalate"]))
    assert list(found) == ["fleetform:permissions[0].rules[0].verbs[2]"]
    assert found["fleetform:permissions[0].rules[0].verbs[2]"][0].startswith(
        "FF-PERM-001 permission 'perm-one': verb 'frobnicate' is not allowed"
    )


def test_v43_custom_needs_rules_and_service_accounts_need_a_namespace():
    found = perm_problems(permission(role="custom", subjects=[{"kind": "ServiceAccount", "name": "ci"}]))
    assert set(found) == {"fleetform:permissions[0].rules", "fleetform:permissions[0].subjects[0].namespace"}


def test_star_means_everything():
    rules = [{"verbs": ["get"], "resources": "*"}]
    spec = spec_from_config(
        config(fleets=[{"name": "fleet-a"}], permissions=[permission(role="custom", rules=rules, namespaces="*")]),
        SOURCE,
    )
    granted = spec.permissions[0]
    resource = granted.rules[0].resources[0]
    assert granted.namespaces == ["*"] and (resource.api_group, resource.resource) == ("*", "*")


# --- error reporting --------------------------------------------------------------------------------------------


def test_all_problems_are_reported_across_sections():
    values = config(
        hub={**HUB, "ocm": "maybe"},
        clusters=[
            cluster("eks", region="moon-1"),
            {"name": "x", "kind": "gke"},
            cluster("idc", connection_mode="sideways"),
        ],
        fleets=[{"name": "fleet-a", "members": ["nobody-here"]}],
        **{"fleetform:clustres": []},
    )
    found = problems(values)
    assert {
        "fleetform:clustres",
        "fleetform:hub.ocm",
        "fleetform:clusters[0].region",
        "fleetform:clusters[1].name",
        "fleetform:clusters[1].project",
        "fleetform:clusters[2].connection_mode",
        "fleetform:fleets[0].members[0]",
    } <= set(found)


def test_error_renders_one_line_per_problem_prefixed_with_the_source():
    eks = cluster("eks")
    del eks["region"]
    with pytest.raises(StackConfigError) as caught:
        spec_from_config(
            config(clusters=[cluster("gke"), cluster("ack"), cluster("tke"), eks, {"name": "A"}]),
            "stacks/Pulumi.prod.yaml",
        )
    assert isinstance(caught.value, pulumi.RunError)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.problems) >= 3
    assert all(line.startswith("stacks/Pulumi.prod.yaml: fleetform:") for line in lines)
    assert (
        "stacks/Pulumi.prod.yaml: fleetform:clusters[3].region: FF-KIND-002 kind eks requires region, "
        'cluster_name; missing: region (an AWS region, e.g. "eu-west-1")' in lines
    )


def test_unknown_keys_are_named_with_the_valid_keys():
    found = problems(config(clusters=[cluster("eks", regoin="eu-west-1")], **{"fleetform:fleet": []}))
    assert found["fleetform:clusters[0].regoin"][0].startswith("unknown key 'regoin' (valid keys: name, ")
    assert "cluster_name" in found["fleetform:clusters[0].regoin"][0]
    assert found["fleetform:fleet"] == [
        "unknown key 'fleetform:fleet' (valid keys: fleetform:sandbox, fleetform:hub, "
        "fleetform:clusters, fleetform:fleets, fleetform:federations, "
        "fleetform:permissions)"
    ]


def test_literal_errors_list_the_allowed_values():
    path, text = only_problem(config(clusters=[cluster("eks", connection_mode="sideways")]))
    assert path == "fleetform:clusters[0].connection_mode"
    assert text == "invalid value 'sideways' (allowed: 'direct' or 'agent')"


def test_missing_hub():
    values = config()
    del values["fleetform:hub"]
    path, text = only_problem(values)
    assert path == "fleetform:hub" and text.startswith("field required")


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("clusters", 3, "eks", "region"), "fleetform:clusters[3].region"),
        (("clusters", 0, "idc", "encryption", "idc", "provider"), "fleetform:clusters[0].encryption.idc.provider"),
        (("hub", "agent_endpoint"), "fleetform:hub.agent_endpoint"),
        (("fleets", 1, "members", 2), "fleetform:fleets[1].members[2]"),
        (("hub", "labels", "app.kubernetes.io/name", "[key]"), 'fleetform:hub.labels["app.kubernetes.io/name"]'),
    ],
)
def test_pydantic_loc_translation(loc, path):
    assert config_path(loc) == path


def test_labels_are_checked_key_by_key():
    labels = {"fleetform.io/fleet": "x", "team": "bad value", "ok": "fine"}
    found = problems(config(clusters=[cluster("eks", labels=labels)]))
    assert set(found) == {'fleetform:clusters[0].labels["fleetform.io/fleet"]', "fleetform:clusters[0].labels.team"}


# --- secrets ----------------------------------------------------------------------------------------------------


def test_secrets_never_appear_in_repr_str_or_dump():
    ssh = {"hosts": ["10.0.0.11"], "user": "root", "private_key": SECRET, "known_hosts_file": "~/.ssh/known_hosts"}
    idc = cluster(
        "idc", kubeconfig=SECRET, bootstrap_kubeconfig=SECRET, encryption={"idc": {"node_access": "ssh", "ssh": ssh}}
    )
    del idc["kubeconfig_env"]
    spec = spec_from_config(config(clusters=[idc]), SOURCE)
    assert spec.clusters[0].read_kubeconfig().get_secret_value() == SECRET
    for text in (repr(spec), str(spec), spec.model_dump_json(), json.dumps(spec.model_dump(mode="json"))):
        assert SECRET not in text


def test_secrets_never_appear_in_error_messages():
    values = config(
        hub={**HUB, "kubeconfig": {"nested": SECRET}},
        clusters=[
            cluster("eks", kubeconfig=SECRET, bootstrap_kubeconfig=[SECRET]),
            {"name": "idc-one", "kind": "idc", "kubeconfig": SECRET, "kubeconfig_env": SECRET},
        ],
        **{"fleetform:kubeconfig": SECRET},
    )
    with pytest.raises(StackConfigError) as caught:
        spec_from_config(values, SOURCE)
    assert len(caught.value.problems) >= 4
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.problems)


# --- loading ----------------------------------------------------------------------------------------------------


def test_load_stack_file_reports_yaml_syntax_errors_with_file_and_line(tmp_path):
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text("config:\n  fleetform:hub:\n    name: hub-x\n   bad: [\n")
    with pytest.raises(StackConfigError) as caught:
        load_stack_file(stack)
    (line,) = str(caught.value).splitlines()
    assert line.startswith(f"{stack}: line 4, column ") and "not valid YAML" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "config:\n  fleetform:hub: {name: hub-x, since: 2024-01-01}\n",
            "line 2: config.fleetform:hub.since: a YAML date",
        ),
        (
            "config:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"  {chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
                for i in range(6)
            ),
            "values (are aliases expanding?)",
        ),
    ],
    ids=["date", "alias-bomb"],
)
def test_load_stack_file_reads_through_the_limited_plain_yaml_reader(tmp_path, text, expected):
    stack = tmp_path / "Pulumi.odd.yaml"
    stack.write_text(text)
    with pytest.raises(StackConfigError) as caught:
        load_stack_file(stack)
    assert str(caught.value).startswith(f"{stack}: ") and expected in str(caught.value)


def test_load_stack_file_needs_a_config_mapping(tmp_path):
    stack = tmp_path / "Pulumi.empty.yaml"
    stack.write_text("encryptionsalt: abc\n")
    with pytest.raises(StackConfigError) as caught:
        load_stack_file(stack)
    assert str(caught.value).startswith(f"{stack}: config: expected a mapping of config keys")


def test_load_stack_file_names_the_file_in_problems(tmp_path):
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(
        "config:\n  fleetform:hub: {name: hub-x, kubeconfig_env: HUB}\n  fleetform:clusters:\n"
        "    - {name: eks-one, kind: eks, cluster_name: pay}\n"
    )
    with pytest.raises(StackConfigError) as caught:
        load_stack_file(stack)
    assert str(caught.value).startswith(f"{stack}: fleetform:clusters[0].region: FF-KIND-002")


@pytest.fixture
def pulumi_stack(monkeypatch):
    """A Pulumi program context: stack name plus config the way the engine/CLI passes it (objects JSON-encoded)."""
    monkeypatch.setattr(pulumi_settings.SETTINGS, "stack", "prod")

    def set_config(values: dict) -> None:
        encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
        pulumi_config.set_all_config(encoded, [])

    yield set_config
    pulumi_config.set_all_config({}, [])


def test_spec_from_pulumi_config(pulumi_stack):
    pulumi_stack({**config(clusters=[cluster("eks")]), "fleetform:sandbox": False, "aws:region": "eu-west-1"})
    spec = spec_from_pulumi_config()
    assert isinstance(spec, FleetSpec) and spec.hub.name == "hub-test" and spec.clusters[0].name == "eks-one"


def test_spec_from_pulumi_config_reports_misspelt_keys_against_the_stack_file(pulumi_stack):
    pulumi_stack({**config(), "fleetform:clustres": [cluster("eks")]})
    with pytest.raises(StackConfigError) as caught:
        spec_from_pulumi_config()
    assert str(caught.value).startswith("stacks/Pulumi.prod.yaml: fleetform:clustres: unknown key")


def test_read_kubeconfig_from_env_and_file(tmp_path, monkeypatch):
    kubeconfig_file = tmp_path / "idc.yaml"
    kubeconfig_file.write_text("apiVersion: v1\n")
    monkeypatch.setenv("IDC_KUBECONFIG", "from-env")
    spec = spec_from_config(
        config(
            clusters=[
                cluster("idc"),
                cluster("idc", "idc-two", kubeconfig_env=None, kubeconfig_file=str(kubeconfig_file)),
            ]
        ),
        SOURCE,
    )
    assert [c.read_kubeconfig().get_secret_value() for c in spec.clusters] == ["from-env", "apiVersion: v1\n"]
    monkeypatch.delenv("IDC_KUBECONFIG")
    with pytest.raises(LookupError, match="IDC_KUBECONFIG"):
        spec.clusters[0].read_kubeconfig()
