"""One thread accepts the connections of every loopback listener in the process.

Each virtual cluster and each cloud emulator has a listener of its own (its own port, its own TLS
certificate). Serving each with ``serve_forever`` costs a thread per listener that wakes every
``poll_interval`` just to look at its shutdown flag: a thousand clusters meant a thousand threads
and tens of thousands of wake-ups a second, most of the CPU spent in the kernel. Here one selector
waits on all listening sockets at once and sleeps until a client connects; the server's own
``process_request`` then takes the connection (a thread per connection, as before).

:func:`serve` starts a ``socketserver`` server's listener being served; :func:`stop` returns only
once the selector no longer looks at it, so the caller may close the socket right after.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import threading

log = logging.getLogger("sandbox.listeners")


class _Acceptor:
    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._requests: list[tuple[socketserver.BaseServer, bool, threading.Event]] = []
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._thread: threading.Thread | None = None

    def change(self, server: socketserver.BaseServer, serving: bool) -> None:
        """Start or stop selecting on ``server``'s socket; returns once the selector thread did it."""
        done = threading.Event()
        with self._lock:
            self._requests.append((server, serving, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sandbox-listeners", daemon=True)
                self._thread.start()
        self._wake_write.send(b"\0")
        done.wait()

    def _run(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.data is None:
                    self._apply_requests()
                else:
                    self._accept(key.data)

    def _apply_requests(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_read.recv(4096):
                pass
        with self._lock:
            requests, self._requests = self._requests, []
        for server, serving, done in requests:
            with contextlib.suppress(KeyError, ValueError):  # already (not) selected; a closed socket
                if serving:
                    self._selector.register(server.socket, selectors.EVENT_READ, server)
                else:
                    self._selector.unregister(server.socket)
            done.set()

    @staticmethod
    def _accept(server: socketserver.BaseServer) -> None:
        try:
            server._handle_request_noblock()  # accept, then the server's process_request takes it
        except Exception:  # one listener's failure must not stop the others
            log.exception("accepting a connection on %s failed", server.server_address)


_ACCEPTOR = _Acceptor()


def serve(server: socketserver.BaseServer) -> None:
    """Accept ``server``'s connections from now on (its socket is bound and listening)."""
    _ACCEPTOR.change(server, True)


def stop(server: socketserver.BaseServer) -> None:
    """Accept no more connections for ``server``; its socket may be closed once this returns."""
    _ACCEPTOR.change(server, False)
