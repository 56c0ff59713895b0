"""``pods/exec`` over a WebSocket, the server side of the Kubernetes channel protocol (``v5.channel.k8s.io`` and
``v4.channel.k8s.io``), with wsproto for the framing.

The handshake answers ``101 Switching Protocols`` with the first subprotocol of the client's list that is
served. Every binary message starts with its channel: 0 stdin (client to server), 1 stdout, 2 stderr, 3 the
outcome, a ``Status`` (``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the exit code as the
cause's message); v5 adds ``[255, channel]``, which closes a channel (the client closes stdin so). As kubelet
does, the server first sends an empty stdout message (the stream is ready), and closes the connection after the
outcome.

The command runs on a worker thread and reads stdin as it arrives; its output is sent when it ends (not
streamed). All reads and writes of the connection happen on the connection's own thread (one TLS object is never
used by two threads). After the handshake the client sends nothing until it has read the ``101``, so nothing of
the WebSocket stream sits in the HTTP server's read buffer.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Callable

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping
from wsproto.utilities import LocalProtocolError, RemoteProtocolError, generate_accept_token

from sandbox.nodes.commands import Result
from sandbox.nodes.container import Stdin

from . import errors
from .httpserver import HttpRequest, HttpResponse

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255
STDIN_SECONDS = 30.0  # a command waiting longer for stdin that never comes gets its end
POLL_SECONDS = 0.05
CLOSE_SECONDS = 5.0


def upgrade(req: HttpRequest, command: Callable[[Stdin], Result]) -> HttpResponse:
    """The ``101`` answer whose connection then runs ``command`` (400 when the request is no WebSocket upgrade
    of a served subprotocol)."""
    headers = req.headers
    if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
        raise errors.bad_request("Upgrade request required")
    key = headers.get("sec-websocket-key", "")
    if not key or headers.get("sec-websocket-version") != "13":
        raise errors.bad_request("a WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13")
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    protocol = next((p for p in offered if p in PROTOCOLS), None)
    if protocol is None:
        raise errors.bad_request(f"none of the subprotocols {offered} is served; offer one of {list(PROTOCOLS)}")
    accept = generate_accept_token(key.encode()).decode()
    session = _Session(protocol, command)
    return HttpResponse(
        101,
        b"",
        {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Accept": accept,
            "Sec-WebSocket-Protocol": protocol,
        },
        upgrade=session.serve,
    )


def outcome(result: Result) -> dict:
    """The ``Status`` channel 3 carries for a finished command."""
    if result.status == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: exit status {result.status}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(result.status)}]},
    }


class _Stdin:
    """What the client sent on channel 0, read by the command as it arrives."""

    def __init__(self):
        self._data = bytearray()
        self._ended = False
        self._changed = threading.Condition()

    def feed(self, data: bytes) -> None:
        with self._changed:
            self._data += data
            self._changed.notify_all()

    def end(self) -> None:
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def read(self, size: int) -> bytes:
        with self._changed:
            self._changed.wait_for(lambda: len(self._data) >= size or self._ended, timeout=STDIN_SECONDS)
            taken = bytes(self._data[:size])
            del self._data[:size]
            return taken


class _Session:
    def __init__(self, protocol: str, command: Callable[[Stdin], Result]):
        self.protocol, self.command = protocol, command
        self.ws = Connection(ConnectionType.SERVER)
        self.stdin = _Stdin()
        self._message = bytearray()
        self._sock: socket.socket | None = None

    def serve(self, sock: socket.socket) -> None:
        self._sock = sock
        done: list[Result] = []

        def work() -> None:
            try:
                done.append(self.command(self.stdin.read))
            except Exception as exc:  # a bug in the emulator: the client sees a failure, not a hang
                done.append(Result(1, stderr=f"sandbox exec failed: {type(exc).__name__}: {exc}\n".encode()))

        worker = threading.Thread(target=work, name="exec", daemon=True)
        try:
            self._send(BytesMessage(bytes([STDOUT])))
            worker.start()
            while worker.is_alive():
                if not self._receive(POLL_SECONDS):
                    worker.join()  # the client is gone; let the command finish, answer nobody
                    return
            result = done[0]
            for channel, data in ((STDOUT, result.stdout), (STDERR, result.stderr)):
                if data:
                    self._send(BytesMessage(bytes([channel]) + data))
            self._send(BytesMessage(bytes([ERROR]) + json.dumps(outcome(result)).encode()))
            self._send(CloseConnection(code=1000))
            for _ in range(int(CLOSE_SECONDS / POLL_SECONDS)):  # the client's answer to the close
                if not self._receive(POLL_SECONDS) or self.ws.state is ConnectionState.CLOSED:
                    break
        except (OSError, LocalProtocolError, RemoteProtocolError):
            self.stdin.end()

    def _send(self, event) -> None:
        self._sock.sendall(self.ws.send(event))

    def _receive(self, timeout: float) -> bool:
        """Read what arrived within ``timeout`` and act on it; False once the client has closed."""
        sock = self._sock
        pending = getattr(sock, "pending", lambda: 0)()
        if not pending and not select.select([sock], [], [], timeout)[0]:
            return True
        try:
            data = sock.recv(65536)
        except (TimeoutError, BlockingIOError):
            return True
        self.ws.receive_data(data or None)
        alive = bool(data)
        for event in self.ws.events():
            if isinstance(event, BytesMessage):
                self._message += event.data
                if event.message_finished:
                    self._on_message(bytes(self._message))
                    self._message.clear()
            elif isinstance(event, Ping):
                self._send(event.response())
            elif isinstance(event, CloseConnection):
                self.stdin.end()
                if self.ws.state is ConnectionState.REMOTE_CLOSING:
                    self._send(event.response())
                alive = False
        if not alive:
            self.stdin.end()
        return alive

    def _on_message(self, message: bytes) -> None:
        if not message:
            return
        channel, data = message[0], message[1:]
        if channel == STDIN:
            self.stdin.feed(data)
        elif channel == CLOSE and self.protocol == PROTOCOLS[0] and data[:1] == bytes([STDIN]):
            self.stdin.end()
