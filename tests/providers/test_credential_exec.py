"""The kubeconfig exec plugin's own output: one ExecCredential on success; on failure one line naming the
plugin and the cause, never the cloud SDK's raw output or a traceback (Ctrl-C included)."""

from __future__ import annotations

import json
import logging
import sys

import pytest

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
