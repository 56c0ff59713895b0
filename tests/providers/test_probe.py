"""The cluster probe checks each answer's HTTP status and names the call that failed (issue 11 §9); a run
probes a cluster once."""

from __future__ import annotations

import pytest

from kubeclient import new_run
from providers import kube
from providers.errors import ClusterAccessError
from sandbox.kubeapi import KubeApiEmulator


@pytest.fixture
def cluster():
    with KubeApiEmulator() as emulator:
        yield emulator.add_cluster("probed", version="1.29.4")


def test_a_healthy_cluster_gives_its_version_and_kube_system_uid(cluster):
    info = kube.probe(cluster.kubeconfig(), "probed")
    assert info.git_version.startswith("v1.29.4") and info.major_minor == (1, 29)
    assert info.kube_system_uid == cluster.kube_system_uid


@pytest.mark.parametrize(
    ("path", "answer", "named"),
    [
        (
            "/version",
            (404, {"message": "the server could not find the requested resource"}),
            "/version answered HTTP 404",
        ),
        ("/api/v1/namespaces/kube-system", (500, None), "kube-system answered HTTP 500 without a UID (empty body)"),
    ],
)
def test_a_failed_call_is_named_never_a_bare_key_error(cluster, monkeypatch, path, answer, named):
    real = kube.request_json

    def answering(client, method, requested, *args, **kwargs):
        return answer if requested == path else real(client, method, requested, *args, **kwargs)

    monkeypatch.setattr(kube, "request_json", answering)
    with pytest.raises(ClusterAccessError) as failed:
        kube.probe(cluster.kubeconfig(), "probed")
    assert named in str(failed.value) and "probed" in str(failed.value)


def test_a_run_probes_a_cluster_once_and_the_next_run_again(cluster, monkeypatch):
    probes: list[str] = []
    probe = kube.probe
    monkeypatch.setattr(kube, "probe", lambda text, what, **kw: probes.append(what) or probe(text, what, **kw))
    new_run()
    first = kube.probe_once(cluster.kubeconfig(), "probed")
    assert kube.probe_once(cluster.kubeconfig(), "probed again") == first and probes == ["probed"]
    new_run()
    kube.probe_once(cluster.kubeconfig(), "probed")
    assert probes == ["probed", "probed"]


def test_a_failed_probe_is_not_kept(cluster, monkeypatch):
    new_run()
    broken = cluster.kubeconfig().replace(cluster.url, "https://127.0.0.1:1")
    with pytest.raises(ClusterAccessError):
        kube.probe_once(broken, "probed")
    probes: list[str] = []
    monkeypatch.setattr(kube, "probe", lambda text, what, **kw: probes.append(what))
    kube.probe_once(broken, "probed")
    assert probes == ["probed"]  # asked again
