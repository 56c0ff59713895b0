"""`fleetform import` of a cluster that runs in its cloud: declared in the stack file once a preview found it,
the file left byte for byte as it was when the cloud does not have it or the ID or stack refuses it."""

from __future__ import annotations

import pytest

from components.cluster_import import cluster_entry
from engine.errors import InvalidInputError
from tests.e2e.test_cloud_drift import delete_in_cloud

CLUSTER = "fleetform:index:RegisteredCluster"


def test_an_imported_cluster_is_declared_after_its_lookup_and_refused_without_a_trace_otherwise(sandbox_project):
    sandbox_project.without_day1()
    sandbox_project.without_federations()
    sandbox_project.without_fleets()
    sandbox_project.keep_clusters(lambda cluster: cluster["name"] == "idc-sh-02")
    before = sandbox_project.stack_file.read_bytes()
    declared = sandbox_project.config()["config"]["fleetform:clusters"]

    imported = sandbox_project.cli("import", CLUSTER, "eks-new", "eks:eu-west-1/new-eks")

    assert imported.code == 0, imported.out + imported.err
    assert "the next up registers it" in imported.out
    entry = {"name": "eks-new", "kind": "eks", "region": "eu-west-1", "cluster_name": "new-eks"}
    assert sandbox_project.config()["config"]["fleetform:clusters"] == [*declared, entry]
    edited = sandbox_project.stack_file.read_bytes()
    for args in (("eks-new", "eks:eu-west-1/other"), ("eks-again", "eks:eu-west-1/new-eks")):
        refused = sandbox_project.cli("import", CLUSTER, *args)
        assert refused.code == 2 and "already declares" in refused.err, refused.err
        assert sandbox_project.stack_file.read_bytes() == edited

    # gone from its cloud: the preview's lookup refuses it and the file is put back as it was
    sandbox_project.stack_file.write_bytes(before)
    delete_in_cloud(sandbox_project, "eks", entry)
    missing = sandbox_project.cli("import", CLUSTER, "eks-new", "eks:eu-west-1/new-eks")
    assert missing.code == 2, missing.out + missing.err
    assert "eks-new was not imported (the stack file is unchanged)" in missing.err
    assert "new-eks" in missing.err.split("not imported", 1)[1]
    assert sandbox_project.stack_file.read_bytes() == before


@pytest.mark.parametrize(
    ("id_", "expected"),
    [
        ("eu-west-1/prod", "expected KIND:IDENTITY with KIND one of ack, aks, ctyun, eks, gke, tke"),
        ("eks:eu-west-1", "a eks cluster is located by eks:region/cluster_name"),
        ("gke:p/europe-west1/", "a gke cluster is located by gke:project/location/cluster_name"),
        ("idc:dc-1/one", "declare it in the stack file with its kubeconfig"),
    ],
)
def test_a_cluster_id_names_its_kind_and_every_identity_field(id_, expected):
    with pytest.raises(InvalidInputError) as raised:
        cluster_entry("c1", id_)
    assert expected in str(raised.value)


def test_a_cluster_id_becomes_the_kinds_identity_fields():
    assert cluster_entry("g1", "gke:p-1/europe-west1/prod") == {
        "name": "g1",
        "kind": "gke",
        "project": "p-1",
        "location": "europe-west1",
        "cluster_name": "prod",
    }
