"""One command in a pod's container through the Kubernetes exec API: ``pods/exec`` upgraded to a WebSocket with
the ``v5.channel.k8s.io`` (or ``v4.channel.k8s.io``) subprotocol, by the official client's
:func:`kubernetes.stream.stream` (websocket-client underneath).

Every message carries its channel in the first byte: 0 stdin, 1 stdout, 2 stderr, 3 the outcome (a ``Status``:
``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the code as the cause's message). v5 adds the
message ``[255, 0]`` that closes stdin; over v4 stdin ends only with the connection, so the commands sent here
read exactly as many stdin bytes as they are told (``head -c N``) and never wait for its end.

The argv is not a shell line (no quoting); stdin is where content travels, so nothing secret is in the URL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL, STDIN_CHANNEL

from kubeclient import RestClient


class ExecFailed(Exception):
    """The exec request itself failed (refused, the pod or container gone, the connection lost)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status  # the HTTP status of a refused upgrade, when one came back


@dataclass(frozen=True)
class ExecResult:
    status: int  # the command's exit code
    stdout: bytes
    stderr: bytes


def run(
    client: RestClient, namespace: str, pod: str, container: str, argv: list[str], stdin: bytes, timeout: float
) -> ExecResult:
    try:
        session = stream(
            CoreV1Api(client.api).connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=argv,
            stdin=bool(stdin),
            stdout=True,
            stderr=True,
            tty=False,
            binary=True,
            _preload_content=False,
        )
    except ApiException as exc:  # the client wraps the failed upgrade: "Handshake status 403 Forbidden ..."
        reason = str(exc.reason or exc)
        raise ExecFailed(reason.split(" -+-+- ")[0], _handshake_status(reason)) from None
    try:
        if stdin:
            session.write_channel(STDIN_CHANNEL, stdin)
            session.close_channel(STDIN_CHANNEL)  # v5 only; the commands do not need it
        session.run_forever(timeout=timeout)
        if session.is_open():
            raise ExecFailed(f"no answer within {timeout:.0f}s")
        outcome = session.read_channel(ERROR_CHANNEL)
        return ExecResult(_exit_code(outcome), session.read_stdout() or b"", session.read_stderr() or b"")
    finally:
        session.close()


def _exit_code(outcome: bytes) -> int:
    """The exit code a ``Status`` on channel 3 reports; a failure without one (the container could not run the
    command) is an ExecFailed with the server's message."""
    if not outcome:
        raise ExecFailed("the connection ended without the command's outcome")
    status = json.loads(outcome)
    if status.get("status") == "Success":
        return 0
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    raise ExecFailed(status.get("message") or "the command failed without an exit code")


def _handshake_status(reason: str) -> int:
    words = reason.split()
    if len(words) > 2 and words[0] == "Handshake" and words[1] == "status" and words[2].isdigit():
        return int(words[2])
    return 0
