"""A small threaded HTTPS/1.1 server on 127.0.0.1 that hands requests to a callable.

Built on the standard library rather than a WSGI server so that it can keep connections alive,
do the TLS handshake in the connection's thread (a silent client cannot stall the accept loop),
expose the client certificate, stream watch responses, and - for "unreachable" clusters - close
the listener *and* every open connection, then reopen on the same port later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import select
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from .. import listeners
from ..ports import PortClaims, bind_claimed

log = logging.getLogger("sandbox.kubeapi.http")


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    params: dict[str, list[str]] = field(default_factory=dict)  # every value of each query parameter
    client_cert: bytes | None = None
    disconnected: Callable[[], bool] = lambda: False


@dataclass
class HttpResponse:
    status: int
    body: bytes | Iterator[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    # a 101 answer: the connection is handed over (its socket) once the headers are sent
    upgrade: Callable[[socket.socket], None] | None = None

    @classmethod
    def json(cls, status: int, obj, headers: dict | None = None) -> HttpResponse:
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def text(cls, status: int, text: str) -> HttpResponse:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


App = Callable[[HttpRequest], HttpResponse]


def query_flag(query: dict[str, str], name: str) -> bool:
    """A boolean query parameter, read as the API server converts it: absent is false, ``0`` or
    ``false`` in any case is false, and any other value (``true``, ``True``, ``1``, empty) is true.
    Clients differ in spelling - the classic Python client sends ``True``."""
    if name not in query:
        return False
    value = query[name]
    return not (value == "0" or value.lower() == "false")


def _joined_headers(items) -> dict[str, str]:
    """Lower-case names; a repeated header (``Impersonate-Group``) joined with commas, per RFC 9110."""
    headers: dict[str, str] = {}
    for name, value in items:
        name = name.lower()
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    server_version = "kube-apiserver-emulator"
    sys_version = ""

    def setup(self) -> None:
        self.request.settimeout(10)
        self.request.do_handshake()
        super().setup()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        url = urlsplit(self.path)
        params = parse_qs(url.query, keep_blank_values=True)
        request = HttpRequest(
            method=self.command,
            path=unquote(url.path),
            query={k: v[-1] for k, v in params.items()},
            params=params,
            headers=_joined_headers(self.headers.items()),
            body=self._read_body(),
            client_cert=self.request.getpeercert(binary_form=True),
            disconnected=self._peer_gone,
        )
        self._send(self.server.app(request))

    def _peer_gone(self) -> bool:
        """During a watch the client sends nothing more, so readability means it hung up."""
        readable, _, _ = select.select([self.request], [], [], 0)
        return bool(readable)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.upgrade is not None:
            self.end_headers()
            self.close_connection = True
            with contextlib.suppress(OSError):
                response.upgrade(self.request)
            return
        if isinstance(response.body, bytes):
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        try:
            for chunk in response.body:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        finally:
            response.body.close()

    def log_message(self, format: str, *args) -> None:
        log.debug("%s " + format, self.server.name, *args)


class _TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, app: App, context: ssl.SSLContext, name: str):
        super().__init__(("127.0.0.1", port), _Handler)
        self.app = app
        self.name = name
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def get_request(self):
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
        with self._open_lock:
            self._open.add(conn)
        return conn, address

    def shutdown_request(self, request) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        log.debug("%s: connection from %s failed", self.name, client_address, exc_info=True)

    def drop_connections(self) -> None:
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class HttpServer:
    """One listener. ``bind()`` claims the port (0 picks a free one, remembered for later binds),
    ``serve()`` starts answering (the process's one accepting thread, :mod:`sandbox.listeners`, takes
    its connections), ``close()`` releases the port and drops every connection."""

    def __init__(
        self, app: App, context: ssl.SSLContext, port: int = 0, name: str = "", claims: PortClaims | None = None
    ):
        self._app, self._context, self.port, self._name, self._claims = app, context, port, name, claims
        self._server: _TcpServer | None = None
        self._serving = False

    @property
    def serving(self) -> bool:
        return self._serving

    def bind(self) -> None:
        if self._server is not None:
            return
        if self.port:
            self._server = self._open(self.port)
            if self._claims is not None and not self._claims.claim(self.port):
                log.warning("%s: port %s is claimed by another sandbox world", self._name, self.port)
        else:
            self._server = bind_claimed(self._open, _port_of, _TcpServer.server_close, self._claims)
        self.port = _port_of(self._server)

    def _open(self, port: int) -> _TcpServer:
        return _TcpServer(port, self._app, self._context, self._name)

    def serve(self) -> None:
        self.bind()
        if not self._serving:
            listeners.serve(self._server)
            self._serving = True

    def close(self) -> None:
        server, serving = self._server, self._serving
        self._server, self._serving = None, False
        if server is None:
            return
        if serving:
            listeners.stop(server)
        server.server_close()
        server.drop_connections()


def _port_of(server: _TcpServer) -> int:
    return server.server_address[1]
