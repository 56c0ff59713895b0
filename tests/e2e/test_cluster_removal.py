"""Removing clusters from the stack converges in one `up`, whatever the removed cluster needed to be reached:
its kind's cloud credentials (no other cluster of that kind remains) or its control-plane hosts over SSH."""

from __future__ import annotations

from engine.errors import EXIT_OK

REMOVED = ("tke-gz-01", "idc-sh-02")  # the only tke cluster; the only idc cluster encrypted over SSH
KEPT = ("idc-bj-01", "gke-euw1-01")  # one of each way of being reached stays


def test_removing_a_cloud_and_an_idc_cluster_converges_in_one_up(sandbox_project):
    sandbox_project.without_federations()
    sandbox_project.keep_clusters(lambda cluster: cluster["name"] in REMOVED + KEPT)
    config = sandbox_project.config()
    for cluster in config["config"]["fleetform:clusters"]:  # ingress waits for load balancers nobody looks at here
        cluster.pop("bootstrap", None)
    sandbox_project.write_config(config)
    declared = {c["name"]: c["kind"] for c in sandbox_project.config()["config"]["fleetform:clusters"]}
    assert declared["tke-gz-01"] == "tke" and list(declared.values()).count("tke") == 1
    first = sandbox_project.cli("up", "--yes")
    assert first.code == EXIT_OK, first.err[-4000:]
    before = sandbox_project.cli("stack", "output", "--json").json()["clusters"]
    assert set(REMOVED) <= set(before)

    sandbox_project.keep_clusters(lambda cluster: cluster["name"] not in REMOVED)
    removal = sandbox_project.cli("up", "--yes", "--json")
    failed = [(s["urn"], s.get("error")) for s in removal.json()["steps"] if s["status"] == "failed"]
    assert removal.code == EXIT_OK, (failed, removal.err[-3000:])
    deleted = {s["urn"].rsplit("::", 1)[-1] for s in removal.json()["steps"] if s["op"] == "delete"}
    for name in REMOVED:
        assert f"{name}-lookup" in deleted and f"{name}-managedcluster" in deleted

    settled = sandbox_project.cli("preview", "--expect-no-changes")
    assert settled.code == EXIT_OK, settled.out[-4000:] + settled.err[-2000:]
    after = sandbox_project.cli("stack", "output", "--json").json()["clusters"]
    assert not set(REMOVED) & set(after) and set(after) == set(before) - set(REMOVED)
