"""SSH to the control-plane hosts of an idc cluster (DOMAIN §7.2 ``node_access: ssh``), with asyncssh.

* Host keys are always verified: against the known_hosts text, and against pinned SHA256 fingerprints (as
  ``ssh-keygen -lf`` prints them). A host whose key neither trusts fails the run (FF-ENC-030): the engine writes
  encryption keys to these hosts, so there is no trust on first use.
* Only what the stack gives is used: no ``~/.ssh/config``, no agent, no default keys or known_hosts files.
* Files are written atomically: a hidden temporary file next to the target (kubelet ignores dot files in the
  static-pod directory), its mode set, then ``posix-rename`` over the target (OpenSSH's sftp-server offers it).
* The procedure is synchronous; a private event loop on a thread carries the connections.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import asyncssh

from ..errors import ClusterAccessError, ErrorCode
from .errors import IdcEncryptionError

KUBEADM_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml"
CONFIG_DIR = "/etc/kubernetes/enc"
CONNECT_SECONDS = 15.0
CALL_SECONDS = 300.0  # an etcd snapshot of a large cluster takes a while


@dataclass(frozen=True)
class SshAccess:
    hosts: tuple[str, ...]
    port: int
    user: str
    private_key: str = field(repr=False)
    known_hosts: str = ""
    host_key_fingerprints: tuple[str, ...] = ()
    manifest_path: str = KUBEADM_MANIFEST
    config_dir: str = CONFIG_DIR

    def connect(self, cluster: str) -> Hosts:
        return Hosts(self, cluster)

    @classmethod
    def from_dict(cls, data: dict) -> SshAccess:
        """The ``ssh`` input of IdcEncryption (the component resolved files and variables into text)."""
        return cls(
            hosts=tuple(data["hosts"]),
            port=int(data.get("port") or 22),
            user=data["user"],
            private_key=data["private_key"],
            known_hosts=data.get("known_hosts") or "",
            host_key_fingerprints=tuple(data.get("host_key_fingerprints") or ()),
            manifest_path=data.get("manifest_path") or KUBEADM_MANIFEST,
            config_dir=data.get("config_dir") or CONFIG_DIR,
        )


class _Client(asyncssh.SSHClient):
    """Accepts a host key the known_hosts text does not list only when its fingerprint is pinned."""

    def __init__(self, pins: tuple[str, ...]):
        self._pins = set(pins)
        self.presented = ""

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.presented = key.get_fingerprint("sha256")
        return self.presented in self._pins


class Host:
    """One connected control-plane host (a :class:`~.node.Node`): read, write and remove files, run a command."""

    def __init__(self, address: str, call, conn: asyncssh.SSHClientConnection, sftp: asyncssh.SFTPClient):
        self.address = address
        self._call, self._conn, self._sftp = call, conn, sftp

    def read(self, path: str) -> bytes | None:
        """The file's content; None when it does not exist."""

        async def read():
            try:
                async with self._sftp.open(path, "rb") as handle:
                    return await handle.read()
            except asyncssh.SFTPNoSuchFile:
                return None

        return self._call(read())

    def write(self, path: str, data: bytes, mode: int = 0o600) -> None:
        target = PurePosixPath(path)
        temporary = str(target.with_name(f".{target.name}.fleetform-{secrets.token_hex(4)}"))

        async def write():
            await self._sftp.makedirs(str(target.parent), attrs=asyncssh.SFTPAttrs(permissions=0o700), exist_ok=True)
            try:
                async with self._sftp.open(temporary, "wb", asyncssh.SFTPAttrs(permissions=mode)) as handle:
                    await handle.write(data)
                await self._sftp.chmod(temporary, mode)
                await self._sftp.posix_rename(temporary, path)
            except BaseException:
                if await self._sftp.exists(temporary):
                    await self._sftp.remove(temporary)
                raise

        self._call(write())

    def makedirs(self, path: str, mode: int = 0o700) -> None:
        self._call(self._sftp.makedirs(path, attrs=asyncssh.SFTPAttrs(permissions=mode), exist_ok=True))

    def remove(self, path: str) -> None:
        async def remove():
            if await self._sftp.exists(path):
                await self._sftp.remove(path)

        self._call(remove())

    def run(self, command: str) -> bytes:
        """Standard output of ``command``; a non-zero exit raises (the command never carries key material)."""
        result = self._call(self._conn.run(command, encoding=None, check=False, timeout=CALL_SECONDS))
        if result.exit_status != 0:
            error = (result.stderr or b"").decode(errors="replace").strip()[:500]
            raise IdcEncryptionError(
                ErrorCode.ENC_PHASE_FAILED, f"{self.address}: `{command}` exited {result.exit_status}: {error}"
            )
        return result.stdout or b""


class Hosts:
    """Connections to every host of ``access`` while inside ``with``; all must connect (V41, FF-ENC-009)."""

    def __init__(self, access: SshAccess, cluster: str):
        self.access, self.cluster = access, cluster
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"ssh-{cluster}", daemon=True)
        self._conns: list[asyncssh.SSHClientConnection] = []

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(CALL_SECONDS + CONNECT_SECONDS)

    def __enter__(self) -> list[Host]:
        self._thread.start()
        try:
            key = asyncssh.import_private_key(self.access.private_key)
        except (asyncssh.KeyImportError, ValueError):
            self.__exit__()
            raise ClusterAccessError(
                None, f"the SSH private key for '{self.cluster}' cannot be read (an unencrypted OpenSSH or PEM key)"
            ) from None
        try:
            return self._call(self._connect_all(key))
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc) -> None:
        async def close():
            for conn in self._conns:
                conn.close()
                await conn.wait_closed()

        if self._thread.is_alive():
            self._call(close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()

    async def _connect_all(self, key: asyncssh.SSHKey) -> list[Host]:
        """Every host or the first failure (after all attempts ended, so none is left behind on the loop)."""
        results = await asyncio.gather(*(self._connect(a, key) for a in self.access.hosts), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)

    async def _connect(self, address: str, key: asyncssh.SSHKey) -> Host:
        access = self.access
        client = _Client(access.host_key_fingerprints)
        known = asyncssh.import_known_hosts(access.known_hosts) if access.known_hosts else ([], [], [])
        try:
            conn = await asyncssh.connect(
                address,
                access.port,
                username=access.user,
                client_keys=[key],
                known_hosts=known,
                client_factory=lambda: client,
                agent_path=None,
                config=None,
                preferred_auth="publickey",
                connect_timeout=CONNECT_SECONDS,
            )
        except asyncssh.HostKeyNotVerifiable:
            raise IdcEncryptionError(
                ErrorCode.ENC_HOST_KEY_UNTRUSTED,
                f"host key of {address}:{access.port} ({client.presented or 'unknown'}) is not trusted for cluster "
                f"'{self.cluster}'; check it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and add "
                "it to known_hosts_file or host_key_fingerprints",
            ) from None
        except asyncssh.PermissionDenied:
            raise self._unreachable(address, f"login as '{access.user}' with the stack's key was refused") from None
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            raise self._unreachable(address, f"{type(exc).__name__}: {exc}") from None
        self._conns.append(conn)
        return Host(address, self._call, conn, await conn.start_sftp_client())

    def _unreachable(self, address: str, cause: str) -> IdcEncryptionError:
        return IdcEncryptionError(
            ErrorCode.ENC_NODE_UNREACHABLE,
            f"control-plane node '{address}' of '{self.cluster}' unreachable over SSH port {self.access.port} "
            f"({cause}); all API servers must share one config",
        )
