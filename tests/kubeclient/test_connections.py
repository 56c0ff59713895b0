"""One connection per kubeconfig per process, exec credentials kept until they expire, and what a run
reads kept until the next run; credentials never in logs, messages or cache keys.

The caches are the process's: every test uses kubeconfigs and plugins of its own (a fresh token, a
plugin under its tmp_path), so no test finds another's entries."""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import kubernetes.config
import pytest
import yaml

from kubeclient import Kubeconfig, KubeconfigError, RestClient, connections, exec_credential, new_run, remembered
from kubeclient.memo import Memo

EXPIRES = datetime(2030, 1, 1, 1, tzinfo=UTC)  # the first run's credential's; run n's expires at n o'clock


def kubeconfig(url: str, user: dict) -> str:
    return yaml.safe_dump(
        {
            "clusters": [{"name": "c", "cluster": {"server": url}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "c",
        }
    )


PLUGIN = """#!{python}
import pathlib
runs = pathlib.Path({runs!r})
runs.write_text((runs.read_text() if runs.exists() else "") + "run\\n")
print({answer!r}.replace("RUN", str(len(runs.read_text().splitlines()))))
"""
CREDENTIAL = json.dumps(
    {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": "token-RUN", "expirationTimestamp": "2030-01-01T0RUN:00:00Z"},
    }
)


def plugin(tmp_path, answer: str = CREDENTIAL) -> tuple[dict, object]:
    """An exec entry running a script that counts its runs in a file and prints ``answer`` (RUN: the
    run's number), and a function returning the runs so far."""
    runs, script = tmp_path / "runs", tmp_path / "plugin"
    script.write_text(PLUGIN.format(python=sys.executable, runs=str(runs), answer=answer))
    script.chmod(0o755)
    entry = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(script), "interactiveMode": "Never"}
    return entry, lambda: runs.read_text().splitlines() if runs.exists() else []


def test_one_client_per_kubeconfig_is_built_and_shared_by_every_caller_and_thread(server, monkeypatch):
    script, url = server
    builds: list[int] = []
    build = kubernetes.config.new_client_from_config_dict
    monkeypatch.setattr(
        kubernetes.config, "new_client_from_config_dict", lambda *a, **k: builds.append(1) or build(*a, **k)
    )
    text = kubeconfig(url, {"token": uuid.uuid4().hex})
    start = threading.Barrier(8)

    def call(_n: int):
        start.wait()  # all at once: the first build is still under way when the others ask
        client = RestClient(Kubeconfig.load(text, "shared cluster"))
        return client.api, client.request("GET", "/version")[0]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(8)))
    assert len(builds) == 1 and len({id(api) for api, _ in answers}) == 1
    assert {status for _, status in answers} == {200} and len(script.seen) == 8
    RestClient(Kubeconfig.load(kubeconfig(url, {"token": uuid.uuid4().hex}), "another credential"))
    assert len(builds) == 2


def test_an_exec_credential_is_kept_until_it_expires_then_fetched_anew(server, tmp_path, monkeypatch):
    script, url = server
    entry, runs = plugin(tmp_path)
    text = kubeconfig(url, {"exec": entry})
    for _ in range(3):
        assert RestClient(Kubeconfig.load(text, "exec cluster")).request("GET", "/version")[0] == 200
    assert runs() == ["run"] and {auth for *_, auth in script.seen} == {"Bearer token-1"}
    monkeypatch.setattr(exec_credential, "_now", lambda: EXPIRES - exec_credential.EXPIRY_MARGIN - timedelta(seconds=1))
    RestClient(Kubeconfig.load(text, "exec cluster")).request("GET", "/version")
    assert len(runs()) == 1  # still fresh, if only just
    monkeypatch.setattr(exec_credential, "_now", lambda: EXPIRES - exec_credential.EXPIRY_MARGIN)
    client = RestClient(Kubeconfig.load(text, "exec cluster"))
    client.request("GET", "/version")
    client.request("GET", "/version")
    assert len(runs()) == 2 and [auth for *_, auth in script.seen[-2:]] == ["Bearer token-2"] * 2


def test_credentials_never_reach_logs_messages_or_cache_keys(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    _script, url = server
    token = f"s3cret-{uuid.uuid4().hex}"
    RestClient(Kubeconfig.load(kubeconfig(url, {"token": token}), "token cluster")).request("GET", "/version")
    entry, _runs = plugin(tmp_path, answer=CREDENTIAL[:-3] + token)  # cut short
    with pytest.raises(KubeconfigError, match="printed no ExecCredential JSON") as refused:
        exec_credential.credential(entry, "broken plugin")
    assert token not in str(refused.value) and token not in caplog.text
    assert not any(token in json.dumps(key) for key in connections._connections._values)


def test_a_failing_plugin_says_which_and_why(tmp_path):
    entry = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(tmp_path / "missing-plugin")}
    with pytest.raises(KubeconfigError, match="credential plugin .*missing-plugin could not be run"):
        exec_credential.credential(entry, "c")


def test_what_a_run_read_is_kept_until_the_next_run_and_a_refused_answer_is_not():
    reads: list[str] = []
    key = ("test", uuid.uuid4().hex)
    assert remembered(key, lambda: reads.append("read") or 1) == 1
    assert remembered(key, lambda: reads.append("read") or 2) == 1 and reads == ["read"]
    new_run()
    assert remembered(key, lambda: reads.append("read") or 3) == 3 and len(reads) == 2
    other = ("test", uuid.uuid4().hex)
    assert remembered(other, lambda: 404, keep=lambda answer: answer == 200) == 404
    assert remembered(other, lambda: 200, keep=lambda answer: answer == 200) == 200


def test_a_value_that_could_not_be_made_is_not_kept():
    memo: Memo[int] = Memo()

    def fail() -> int:
        raise OSError("no answer")

    with pytest.raises(OSError):
        memo.get("k", fail)
    assert memo.get("k", lambda: 7) == 7


def test_a_plugin_process_is_told_what_client_go_tells_one(tmp_path):
    script = tmp_path / "plugin"
    script.write_text(
        f"#!{sys.executable}\nimport json, os\ninfo = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "told = [info['spec']['interactive'], info['spec']['cluster'], os.environ['EXTRA']]\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential',\n"
        "                  'status': {'token': json.dumps(told)}}))\n"
    )
    script.chmod(0o755)
    entry = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": str(script),
        "env": [{"name": "EXTRA", "value": "from the kubeconfig"}],
        "provideClusterInfo": True,
    }
    extension = {"name": "client.authentication.k8s.io/exec", "extension": {"audience": "fleet"}}
    cluster = {"server": "https://k:6443", "certificate-authority-data": "Y2E=", "extensions": [extension]}
    got = exec_credential.credential(entry, "c", cluster)
    assert json.loads(got.status["token"]) == [
        False,
        {"server": "https://k:6443", "certificate-authority-data": "Y2E=", "config": {"audience": "fleet"}},
        "from the kubeconfig",
    ]
    assert got.expires is None and got.fresh()  # no expirationTimestamp: kept for good


def test_a_refused_exec_credential_is_fetched_anew_once_and_a_static_one_is_not_retried(server, tmp_path):
    script, url = server
    entry, runs = plugin(tmp_path)
    client = RestClient(Kubeconfig.load(kubeconfig(url, {"exec": entry}), "revoked"))
    script.answers += [(401, {})]
    assert client.request("GET", "/version")[0] == 200
    assert len(runs()) == 2 and [auth for *_, auth in script.seen] == ["Bearer token-1", "Bearer token-2"]
    script.answers += [(401, {}), (401, {})]
    assert client.request("GET", "/version")[0] == 401 and len(runs()) == 3  # once a request, not in a loop
    script.seen.clear()
    script.answers += [(401, {})]
    static = RestClient(Kubeconfig.load(kubeconfig(url, {"token": uuid.uuid4().hex}), "static"))
    assert static.request("GET", "/version")[0] == 401 and len(script.seen) == 1
