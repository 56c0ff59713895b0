"""One fake control-plane host over SSH (asyncssh's server side), on a loopback address.

Login: one user, public key only, the key the sandbox hands out. SFTP is chrooted to the host's root; exec
requests run :mod:`.commands` (no shells, no port forwarding, no SCP). The server runs its own event loop on a
thread, so callers stay synchronous.
"""

from __future__ import annotations

import asyncio
import threading

import asyncssh

from ..ports import PortClaims, bind_claimed
from .commands import EtcdView, run
from .root import NodeRoot

_CALL_TIMEOUT = 30.0


class _Login(asyncssh.SSHServer):
    def __init__(self, user: str, key: asyncssh.SSHKey, connections: set):
        self._user, self._key, self._connections = user, key, connections

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._user and key.public_data == self._key.public_data

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False


class NodeSshServer:
    def __init__(
        self,
        root: NodeRoot,
        etcd: EtcdView,
        host_key: asyncssh.SSHKey,
        user: str,
        client_key: asyncssh.SSHKey,
        address: str = "127.0.0.1",
    ):
        self.root, self.address, self.host_key = root, address, host_key
        self._etcd, self._user, self._client_key = etcd, user, client_key
        self._connections: set = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._acceptor.get_port()

    def known_hosts_line(self) -> str:
        """This host's line of a known_hosts file (the port in brackets unless it is 22)."""
        host = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{host} {self.host_key.export_public_key().decode().strip()}"

    def start(self, port: int = 0, claims: PortClaims | None = None) -> int:
        """Listen on ``port``, or with 0 on a new port ``claims`` grants; returns the port."""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"sshd-{self.address}", daemon=True)
        self._thread.start()
        try:
            if port:
                self._acceptor = self._call(self._listen(port))
            else:
                self._acceptor = bind_claimed(
                    lambda p: self._call(self._listen(p)), lambda a: a.get_port(), self._close_acceptor, claims
                )
        except BaseException:
            self._stop_loop()
            raise
        return self.port

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._acceptor is not None:
            self._close_acceptor(self._acceptor)
            self._acceptor = None
        self._call(self._drop_connections())
        self._stop_loop()

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(_CALL_TIMEOUT)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
        self._loop = self._thread = None

    def _close_acceptor(self, acceptor: asyncssh.SSHAcceptor) -> None:
        async def close():
            acceptor.close()
            await acceptor.wait_closed()

        self._call(close())

    async def _drop_connections(self) -> None:
        for conn in list(self._connections):
            conn.close()
            await conn.wait_closed()

    async def _listen(self, port: int) -> asyncssh.SSHAcceptor:
        root = str(self.root.directory.resolve()).encode()
        return await asyncssh.listen(
            self.address,
            port,
            server_host_keys=[self.host_key],
            server_factory=lambda: _Login(self._user, self._client_key, self._connections),
            process_factory=self._process,
            sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=root),
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            encoding=None,
        )

    async def _process(self, process: asyncssh.SSHServerProcess) -> None:
        if not process.command:
            process.stderr.write(b"interactive shells are not offered by this sandbox host\n")
            process.exit(1)
            return
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(None, run, process.command, self.root, self._etcd)
        process.stdout.write(result.stdout)
        process.stderr.write(result.stderr)
        process.exit(result.status)
