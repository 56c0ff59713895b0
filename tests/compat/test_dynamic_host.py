"""The Pulumi-CLI path without the CLI: start the SDK's dynamic-provider host the way the Pulumi
engine does (`python -m pulumi.dynamic`, port on stdout) and drive a fleetform dynamic provider
through its gRPC ResourceProvider interface against an emulated cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from providers.dynamic import ClusterLookupProvider
from sandbox.kubeapi import KubeApiEmulator

ROOT = Path(__file__).resolve().parents[2]
URN = "urn:pulumi:dev::fleetform::pulumi-python:dynamic/fleetform:ClusterLookup::member-lookup"


def struct(values: dict) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


@pytest.fixture
def host():
    proc = subprocess.Popen(
        [sys.executable, "-m", "pulumi.dynamic"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PULUMI_PROJECT": "fleetform"},
    )
    port = int(proc.stdout.readline().decode().strip())
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = provider_pb2_grpc.ResourceProviderStub(channel)
    stub.Configure(provider_pb2.ConfigureRequest(args=struct({}), acceptSecrets=False), timeout=30)
    yield stub
    channel.close()
    proc.kill()
    proc.wait()


@pytest.fixture
def clusters():
    with KubeApiEmulator() as emulator:
        yield emulator.add_cluster("member", version="1.28.3"), emulator.add_cluster("legacy", version="1.18.9")


def test_cluster_lookup_through_the_sdk_host(host, clusters):
    member, legacy = clusters
    pickled = serialize_provider(ClusterLookupProvider())
    news = {
        "__provider": pickled,
        "cluster": "member",
        "kind": "idc",
        "identity": {},
        "cloud_endpoint": "",
        "kubeconfig": member.kubeconfig(),
        "context": "",
        "min_version": "1.19",
    }

    check = host.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news)), timeout=60)
    assert list(check.failures) == []

    created = host.Create(provider_pb2.CreateRequest(urn=URN, properties=check.inputs), timeout=60)
    outputs = dict(created.properties)
    assert created.id == member.kube_system_uid
    assert outputs["kubernetes_version"] == "v1.28.3"
    assert outputs["endpoint"] == member.url

    same = host.Diff(
        provider_pb2.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=check.inputs), timeout=60
    )
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE

    moved = dict(news, kubeconfig=legacy.kubeconfig(), min_version="1.10")
    diff = host.Diff(
        provider_pb2.DiffRequest(id=created.id, urn=URN, olds=created.properties, news=struct(moved)), timeout=60
    )
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert list(diff.replaces) == []
    updated = host.Update(
        provider_pb2.UpdateRequest(id=created.id, urn=URN, olds=created.properties, news=struct(moved)), timeout=60
    )
    assert dict(updated.properties)["kubernetes_version"] == "v1.18.9"

    read = host.Read(provider_pb2.ReadRequest(id=created.id, urn=URN, properties=updated.properties), timeout=60)
    assert dict(read.properties)["reachable"] is True

    host.Delete(provider_pb2.DeleteRequest(id=created.id, urn=URN, properties=updated.properties), timeout=60)


def test_check_reports_a_too_old_cluster_by_name(host, clusters):
    _member, legacy = clusters
    news = {
        "__provider": serialize_provider(ClusterLookupProvider()),
        "cluster": "legacy",
        "kind": "idc",
        "identity": {},
        "cloud_endpoint": "",
        "kubeconfig": legacy.kubeconfig(),
        "context": "",
        "min_version": "1.19",
    }
    check = host.Check(provider_pb2.CheckRequest(urn=URN, olds=struct({}), news=struct(news)), timeout=60)
    (failure,) = check.failures
    assert failure.property == "kubeconfig"
    assert failure.reason == "FF-VER-001 cluster 'legacy' runs Kubernetes v1.18.9; fleetform requires >= 1.19"
