"""The kubeconfig exec plugin's own output: one ExecCredential on success; on failure one line naming the
plugin and the cause, never the cloud SDK's raw output or a traceback (Ctrl-C included). Where kubeclient
makes the connection, the plugin runs in-process."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid

import pytest

from kubeclient import Kubeconfig
from kubeclient import exec_credential as kubeclient_exec
from providers import credential_exec
from providers.clouds.base import CloudError

KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: https://127.0.0.1:6443}}]
users: [{name: u, user: {token: t0k3n}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""


class _NoisySource:
    """A cluster source that prints as the Alibaba SDK does on its way (a handler of its own, a traceback)."""

    def __init__(self, outcome):
        self.outcome = outcome

    def credentials(self) -> str:
        logger = logging.getLogger("noisy-sdk")
        logger.addHandler(logging.StreamHandler())  # made during the call, as an SDK's on import
        logger.warning("Refresh credentials failed, cached value is None")
        print("Traceback (most recent call last): ...", file=sys.stderr)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def _run(monkeypatch, capsys, outcome) -> tuple[int, str, str]:
    monkeypatch.setattr(credential_exec, "source_for", lambda *_args: _NoisySource(outcome))
    code = credential_exec.main(["--kind", "ack", "--identity", "{}"])
    out, err = capsys.readouterr()
    logging.getLogger("noisy-sdk").handlers.clear()
    return code, out, err


def test_success_prints_only_the_exec_credential(monkeypatch, capsys):
    code, out, err = _run(monkeypatch, capsys, KUBECONFIG)
    assert code == 0 and json.loads(out)["status"]["token"] == "t0k3n" and err == ""


@pytest.mark.parametrize(
    ("outcome", "code", "message"),
    [
        (
            CloudError("unauthorized", "no Alibaba Cloud credentials found; set ALIBABA_CLOUD_ACCESS_KEY_ID"),
            1,
            "no Alibaba",
        ),
        (KeyboardInterrupt(), 130, "interrupted"),
    ],
    ids=["cloud-error", "ctrl-c"],
)
def test_a_failure_is_one_line_without_the_sdk_noise(monkeypatch, capsys, outcome, code, message):
    got, out, err = _run(monkeypatch, capsys, outcome)
    assert got == code and out == ""
    (line,) = err.splitlines()
    assert line.startswith("fleetform credential plugin (ack): ") and message in line


class _Source:
    def __init__(self, kubeconfig: str):
        self.kubeconfig = kubeconfig

    def credentials(self) -> str:
        return self.kubeconfig


def test_a_kubeconfig_naming_this_plugin_gets_its_credential_in_process_and_keeps_it(monkeypatch):
    """kubeclient finds the plugin through its entry point and calls it: no process is started."""
    asked: list[tuple] = []
    monkeypatch.setattr(credential_exec, "source_for", lambda *args: asked.append(args) or _Source(KUBECONFIG))

    def no_process(*_args, **_kwargs):
        raise AssertionError("a process was started for fleetform's own credential plugin")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    identity = {"region": "eu-west-1", "cluster_name": f"c-{uuid.uuid4().hex}"}  # an exec entry of its own
    text = credential_exec.exec_kubeconfig("c", "eks", identity, None, "https://127.0.0.1:6443", "Y2E=")
    context = Kubeconfig.load(text, "c").context()
    for _ in range(2):
        got = kubeclient_exec.credential(context.user["exec"], "c")
        assert got.status["token"] == "t0k3n" and got.fresh()
    assert asked == [("eks", identity, None)]  # asked of the cloud once: kept until it expires


def test_arguments_that_are_not_the_plugins_are_refused_without_ending_the_caller():
    with pytest.raises(CloudError, match="exec arguments are not its own"):
        credential_exec.in_process(["--unknown"])
