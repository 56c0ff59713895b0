"""What keeps a large sandbox estate cheap: threads that do not grow with the clusters, controllers that look
only at what changed, saves that encode only what was written, reads that do not hand out the store's objects.
(How fast is measured by bench/estate.py, never here.)"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request

import pytest

from sandbox.controllers import SandboxControllers, https, loadbalancers
from sandbox.controllers.changes import Changes
from sandbox.kubeapi import Change, KubeApiEmulator, store
from tests.sandbox.test_kubeapi import wait_for


def service(name: str, ip: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"type": "LoadBalancer", "loadBalancerIP": ip, "ports": [{"port": 80}]},
    }


def readyz(cluster) -> int:
    context = ssl.create_default_context(cadata=cluster.ca_pem)
    request = urllib.request.Request(cluster.url + "/readyz", headers={"Authorization": f"Bearer {cluster.token()}"})
    with urllib.request.urlopen(request, context=context, timeout=5) as response:
        return response.status


def settled(cluster) -> None:
    """Wait until the cluster's control plane has given every namespace its defaults (its start-up writes)."""

    def done() -> bool:
        return all(
            "default" in cluster.objects.names("v1", "ServiceAccount", namespace)
            and "kube-root-ca.crt" in cluster.objects.names("v1", "ConfigMap", namespace)
            for namespace in cluster.objects.names("v1", "Namespace")
        )

    wait_for(done)


def test_more_virtual_clusters_take_no_more_threads():
    with KubeApiEmulator(seed=3) as emulator:
        for number in range(2):
            emulator.add_cluster(f"few-{number}")
        controllers = SandboxControllers(emulator, "few-0")
        controllers.start()
        try:
            settled(emulator.cluster("few-1"))
            with_few = threading.active_count()
            for number in range(10):
                emulator.add_cluster(f"many-{number}")
            settled(emulator.cluster("many-9"))
            names = [t.name for t in threading.enumerate()]
            assert not [name for name in names if "many-" in name]  # no thread of a cluster's own
            assert threading.active_count() - with_few < 5, names  # (other tests' threads may come and go)
            assert readyz(emulator.cluster("many-9")) == 200  # and each still answers on its own port
            emulator.cluster("many-9").set_reachable(False)
            with pytest.raises(OSError):
                readyz(emulator.cluster("many-9"))
            emulator.cluster("many-9").set_reachable(True)
            assert readyz(emulator.cluster("many-9")) == 200
        finally:
            controllers.stop()


def test_controllers_act_on_a_change_notification_and_look_only_at_the_cluster_that_changed(monkeypatch):
    looked_at = []
    assign = loadbalancers.assign_addresses
    monkeypatch.setattr(
        loadbalancers, "assign_addresses", lambda cluster: assign(cluster) or looked_at.append(cluster.name)
    )
    with KubeApiEmulator(seed=5) as emulator:
        hub, quiet, busy = (emulator.add_cluster(name) for name in ("hub", "quiet", "busy"))
        controllers = SandboxControllers(emulator, "hub", resync=3600)  # no periodic pass during the test
        controllers.start()
        try:
            wait_for(lambda: set(looked_at) >= {"hub", "quiet", "busy"})  # the first pass looks at everything
            looked_at.clear()
            busy.objects.create(service("web", "10.9.0.1"))

            def address():
                status = busy.objects.get("v1", "Service", "web", "default").get("status") or {}
                return (status.get("loadBalancer") or {}).get("ingress")

            assert wait_for(address) == [{"ip": "10.9.0.1"}]
            wait_for(lambda: "busy" in looked_at)
            assert "quiet" not in looked_at and "hub" not in looked_at
        finally:
            controllers.stop()


def test_emulator_tells_subscribers_which_cluster_changed_and_what():
    with KubeApiEmulator(seed=9) as emulator:
        cluster = emulator.add_cluster("told")
        heard = []
        emulator.subscribe(lambda name, change: heard.append((name, change and change.object["metadata"]["name"])))
        cluster.objects.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1", "namespace": "default"}}
        )
        cluster.set_reachable(False)
        emulator.remove_cluster("told")
    assert ("told", "c1") in heard
    assert heard[-2:] == [("told", None), ("told", None)]  # not reachable, then removed


def test_a_save_encodes_only_the_objects_written_since_the_last_one_and_loads_back(tmp_path, monkeypatch):
    with KubeApiEmulator(tmp_path, seed=11) as emulator:
        cluster = emulator.add_cluster("saved")
        for number in range(5):
            cluster.objects.create(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{number}", "namespace": "default"}}
            )
        cluster.store.dump_json()
        encoded = []
        dumps = json.dumps
        monkeypatch.setattr(store.json, "dumps", lambda value, **kw: encoded.append(value) or dumps(value, **kw))
        cluster.objects.patch("v1", "ConfigMap", "c3", {"data": {"colour": "green"}}, "default")
        cluster.objects.delete("v1", "ConfigMap", "c4", "default")
        saved = json.loads(cluster.store.dump_json())
        encoded_names = {e["object"]["metadata"]["name"] for e in encoded}
        assert "c3" in encoded_names and not encoded_names & {"c0", "c1", "c2"}  # the control plane may write too
        monkeypatch.undo()
        names = {e["object"]["metadata"]["name"] for e in saved["objects"] if e["resource"] == "configmaps"}
        assert {"c0", "c1", "c2", "c3"} <= names and "c4" not in names
    with KubeApiEmulator(tmp_path, seed=11) as reloaded:
        again = reloaded.cluster("saved")
        assert again.objects.get("v1", "ConfigMap", "c3", "default")["data"] == {"colour": "green"}
        assert [m["metadata"]["name"] for m in again.objects.list("v1", "ConfigMap", "default")][:4] == [
            "c0",
            "c1",
            "c2",
            "c3",
        ]


def test_only_the_cluster_that_changed_is_written(tmp_path):
    with KubeApiEmulator(tmp_path, seed=13) as emulator:
        changed, untouched = emulator.add_cluster("changed"), emulator.add_cluster("untouched")
        settled(untouched)
        emulator.flush()
        files = tmp_path / "clusters"
        before = {path.name: path.stat().st_ino for path in files.glob("*.json")}
        changed.objects.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}}
        )
        emulator.flush()
        after = {path.name: path.stat().st_ino for path in files.glob("*.json")}
        assert after["untouched.json"] == before["untouched.json"]  # not rewritten (a write replaces the file)
        assert after["changed.json"] != before["changed.json"]
        assert untouched.name in emulator


def test_reads_in_process_hand_out_copies_and_names_need_no_copy(cluster):
    cluster.objects.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kept", "namespace": "default", "labels": {"tier": "a"}},
            "data": {"k": "v"},
        }
    )
    (listed,) = [c for c in cluster.objects.list("v1", "ConfigMap", "default") if c["metadata"]["name"] == "kept"]
    listed["data"]["k"] = "changed by a caller"
    listed["metadata"]["labels"]["tier"] = "b"
    assert cluster.objects.get("v1", "ConfigMap", "kept", "default")["data"] == {"k": "v"}
    assert cluster.objects.names("v1", "ConfigMap", "default", label_selector="tier=a") == ["kept"]
    rt = cluster.objects.resource_type("v1", "ConfigMap")
    (viewed,) = [o for o in cluster.ops.list(rt, "default", view=True)["items"] if o["metadata"]["name"] == "kept"]
    viewed["apiVersion"] = "elsewhere/v9"  # a view's top level is its own
    assert cluster.objects.get("v1", "ConfigMap", "kept", "default")["apiVersion"] == "v1"


def test_changes_a_failed_pass_hands_back_are_seen_by_the_next():
    changes = Changes()
    configmap = {"metadata": {"name": "c", "namespace": "default", "resourceVersion": "4"}}
    changes.note("a", Change("ADDED", ("", "configmaps"), configmap, None))
    changes.note("b", None)
    taken = changes.take()
    assert changes.take() == {}
    changes.note(
        "a",
        Change("MODIFIED", ("", "services"), {**configmap, "metadata": {**configmap["metadata"], "name": "s"}}, None),
    )
    changes.put_back(taken)
    again = changes.take()
    assert again["a"].names(("", "configmaps"), "default") == {"c"} and again["a"].names(("", "services")) == {"s"}
    assert again["b"].everything and again["b"].touches(("", "nodes"))
    assert not again["a"].touches(("", "nodes"))


def test_the_hubs_probes_make_one_tls_context_per_member_ca_and_still_verify_it(cluster, server):
    https._verifying.cache_clear()
    for _ in range(3):
        assert https.request(cluster.url + "/readyz", cluster.token(), cluster.ca_pem)[0] == 200
    assert https._verifying.cache_info().misses == 1  # one context for the member's CA, however often it is probed
    other = server.add_cluster("vc-other-ca", version="1.29.4")
    try:
        # a context trusts only its own CA: the other cluster's certificate fails verification
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(
                urllib.request.Request(other.url + "/readyz"), context=https._verifying(cluster.ca_pem), timeout=5
            )
    finally:
        server.remove_cluster(other.name)
