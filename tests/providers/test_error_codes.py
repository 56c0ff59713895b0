"""Error codes are values: checks return coded Problems, the lookup decides by code, and the text
the user reads is unchanged."""

from __future__ import annotations

import pytest

from providers.clouds import kind_problems, source_for
from providers.clouds.base import CloudError, ClusterDescription
from providers.errors import ClusterAccessError, ErrorCode, Problem


def test_problems_carry_their_code_and_read_as_before():
    problem = Problem(ErrorCode.REG_HUB_ITSELF, "cluster 'x' is the hub cluster itself and cannot be registered")
    assert str(problem) == "FF-REG-002 cluster 'x' is the hub cluster itself and cannot be registered"
    single = ClusterAccessError.of([problem])
    assert (single.code, str(single), single.problems) == (ErrorCode.REG_HUB_ITSELF, str(problem), (problem,))
    other = Problem(ErrorCode.VER_TOO_OLD, "cluster 'x' runs Kubernetes v1.18.0; fleetform requires >= 1.19")
    both = ClusterAccessError.of([problem, other])
    assert both.code is None and str(both) == f"{problem}; {other}"


def test_an_unknown_kind_and_a_missing_identity_field_are_coded():
    with pytest.raises(CloudError) as unknown:
        source_for("openshift", {})
    assert (unknown.value.code, str(unknown.value)) == (
        ErrorCode.KIND_UNKNOWN,
        "FF-KIND-001 unknown cluster kind 'openshift'",
    )
    with pytest.raises(CloudError) as missing:
        source_for("eks", {"region": "eu-west-1"})
    assert missing.value.code is ErrorCode.KIND_IDENTITY_MISSING and "cluster_name" in str(missing.value)


def test_a_gke_autopilot_problem_is_not_waived_by_a_kubeconfig():
    description = ClusterDescription(
        kind="gke",
        native_id="projects/p/locations/l/clusters/auto",
        region="l",
        state="RUNNING",
        running=True,
        kubernetes_version="1.29.4",
        endpoint="",
        ca_data="",
        flags={"autopilot": True},
    )
    (problem,) = kind_problems("gke", description, "auto")
    assert problem.code is ErrorCode.KIND_AUTOPILOT and str(problem).startswith("FF-KIND-010 ")
