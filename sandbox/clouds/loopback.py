"""The loopback HTTP(S) server every cloud emulator answers on, and its request and response.

An emulator's API is an ``app``: a callable from :class:`Request` to :class:`Response`. The server
runs a thread per connection on 127.0.0.1; the process's one accepting thread
(:mod:`sandbox.listeners`, a daemon) takes the connections, so a test process never waits for it to exit.

Wire details stay each emulator's own: the HTTP methods its API has (others get 501, as from the
standard library), keep-alive (HTTP/1.1) or one request per connection (HTTP/1.0, so that stopping
leaves no connection behind), and TLS. With a TLS context the handshake runs in the connection's
thread, so a silent client cannot stall the accept loop.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from .. import listeners
from ..ports import PortClaims, bind_claimed

log = logging.getLogger("sandbox.clouds")


@dataclass
class Request:
    method: str
    target: str  # path and query as sent, still percent-encoded: what request signatures cover
    headers: Message  # names are case-insensitive; get_all() gives every value of a repeated header
    body: bytes

    @property
    def raw_path(self) -> str:
        return urlsplit(self.target).path

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def query(self) -> dict[str, str]:
        """Decoded parameters; of a repeated one, the last value."""
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def header(self, name: str) -> str:
        """The last value sent for ``name``, or ``""``."""
        return (self.headers.get_all(name) or [""])[-1]


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, document, headers: dict | None = None, *, content_type: str = "application/json"
    ) -> Response:
        """``document`` as UTF-8 JSON; ``content_type`` as the cloud spells it (some SDKs compare it)."""
        return cls(
            status, json.dumps(document, ensure_ascii=False).encode(), {"Content-Type": content_type, **(headers or {})}
        )


App = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    server: LoopbackServer

    def setup(self) -> None:
        self.protocol_version = self.server.protocol_version
        self.server_version = f"{self.server.name}-emulator"
        if self.server.tls is not None:
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def _serve(self) -> None:
        if self.command not in self.server.methods:
            self.send_error(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({self.command!r})")
            return
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(self.command, self.path, self.headers, self.rfile.read(length) if length else b"")
        response = self.server.app(request)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args) -> None:
        log.debug("%s emulator: " + format, self.server.name, *args)


class LoopbackServer(ThreadingHTTPServer):
    """One emulator's listener; :meth:`serve` binds and starts it, :meth:`stop` ends it."""

    daemon_threads = True

    def __init__(
        self, port: int, app: App, *, name: str, methods: tuple[str, ...], keep_alive: bool, tls: ssl.SSLContext | None
    ):
        self.app, self.name, self.methods, self.tls = app, name, methods, tls
        self.protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
        super().__init__(("127.0.0.1", port), _Handler)

    @classmethod
    def serve(cls, port: int, app: App, claims: PortClaims | None = None, **options) -> LoopbackServer:
        """A running server on ``port`` (the one an earlier run used) or, when that port is taken
        now, on a new one; ``port`` 0 picks a free port that no other sandbox world holds (``claims``)."""
        server = None
        if port:
            try:
                server = cls(port, app, **options)
            except OSError:
                log.warning("%s emulator: port %s is taken; using a new port", options["name"], port)
        if server is None:
            server = bind_claimed(lambda free: cls(free, app, **options), lambda s: s.port, cls.server_close, claims)
        listeners.serve(server)
        return server

    @property
    def port(self) -> int:
        return self.server_address[1]

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is None:
            return sock, address
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request, client_address) -> None:
        log.debug("%s emulator: connection from %s failed", self.name, client_address, exc_info=True)

    def stop(self) -> None:
        listeners.stop(self)
        self.server_close()
