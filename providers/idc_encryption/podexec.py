"""One command in a pod's container through the Kubernetes exec API: ``pods/exec`` upgraded to a WebSocket with
the ``v5.channel.k8s.io`` (or ``v4.channel.k8s.io``) subprotocol, by the official client's WebSocket channel
client (``kubernetes.stream.ws_client``, websocket-client underneath), authenticated and verified as the
kubeconfig says (the client configuration :class:`~kubeclient.RestClient` built).

Every message carries its channel in the first byte: 0 stdin, 1 stdout, 2 stderr, 3 the outcome (a ``Status``:
``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the code as the cause's message). v5 adds the
message ``[255, 0]`` that closes stdin; over v4 stdin ends only with the connection, so the commands sent here
read exactly as many stdin bytes as they are told (``head -c N``) and never wait for its end.

The argv is not a shell line (no quoting); stdin is where content travels, so nothing secret is in the URL.
(The client's ``stream()`` wrapper is not used: it turns a refused upgrade into an ``AttributeError``.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from kubernetes.stream.ws_client import ERROR_CHANNEL, STDIN_CHANNEL, WSClient, get_websocket_url
from websocket import WebSocketBadStatusException, WebSocketException

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
    configuration = client.api.configuration
    headers = {
        auth["key"].lower(): auth["value"] for auth in configuration.auth_settings().values() if auth["in"] == "header"
    }
    query = [("container", container), ("command", argv), ("stdout", "true"), ("stderr", "true")]
    query += [("stdin", "true")] if stdin else []
    url = get_websocket_url(f"{configuration.host}/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/exec", query)
    try:
        session = WSClient(configuration, url, headers, capture_all=False, binary=True)
    except WebSocketBadStatusException as exc:
        raise ExecFailed(
            f"the API server refused it: HTTP {exc.status_code}{_message(exc.resp_body)}", exc.status_code
        ) from None
    except (WebSocketException, OSError) as exc:
        raise ExecFailed(f"{type(exc).__name__}: {exc}") from None
    try:
        if stdin:
            session.write_channel(STDIN_CHANNEL, stdin)
            session.close_channel(STDIN_CHANNEL)  # v5 only; the commands do not need it
        session.run_forever(timeout=timeout)
        if session.is_open():
            raise ExecFailed(f"no answer within {timeout:.0f}s")
        outcome = session.read_channel(ERROR_CHANNEL)
        return ExecResult(_exit_code(outcome), session.read_stdout() or b"", session.read_stderr() or b"")
    except (WebSocketException, OSError) as exc:
        raise ExecFailed(f"the connection was lost: {type(exc).__name__}: {exc}") from None
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


def _message(body: bytes | None) -> str:
    """The message of the ``Status`` a refused upgrade carries, if it does."""
    try:
        message = json.loads(body or b"").get("message")
    except (ValueError, AttributeError):
        return ""
    return f" ({message})" if message else ""
