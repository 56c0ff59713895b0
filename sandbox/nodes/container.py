"""What a command exec'd into a pod's container reaches on a sandbox node: the node's root through the
container's hostPath mounts, and the commands fleetform's privileged pods send (``providers/idc_encryption/pods``)::

    cat PATH                  test -e PATH              mkdir -p [-m MODE] PATH          rm -f PATH
    sh -c WRITE NAME LENGTH TEMPORARY TARGET MODE       (the one write script, content on stdin)
    chroot DIR sh -c COMMAND  (DIR a mount of the host's /: COMMAND as the host answers it, :mod:`.commands`)

Paths outside a mount are the container image's own files, which the sandbox does not emulate (they do not
exist). Host mounts reach the node only for a **privileged** container: the sandbox stands for a hardened node
where an unprivileged container cannot write the host's ``/etc/kubernetes`` (user namespaces, SELinux); so an
unprivileged pod, or one without the hostPath, never touches the node's files. Anything else exits 127.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from .commands import EtcdView, Result, run
from .root import NodeRoot

WRITE = (
    'umask 077 && mkdir -p "${3%/*}" && head -c "$1" > "$2" && [ "$(wc -c < "$2")" -eq "$1" ] '
    '&& chmod "$4" "$2" && mv -f "$2" "$3" || { rm -f "$2"; exit 1; }'
)
Stdin = Callable[[int], bytes]  # read(n): up to n bytes, fewer only at the end of input


class Container:
    """``mounts``: mount path in the container -> (the node's root, the hostPath it mounts), privileged only."""

    def __init__(self, mounts: dict[str, tuple[NodeRoot, str]], etcd: EtcdView):
        self.mounts, self.etcd = mounts, etcd

    def resolve(self, path: str) -> Path | None:
        """The node file behind a container path (None: not on a host mount)."""
        wanted = PurePosixPath(path)
        for mount, (root, host_path) in self.mounts.items():
            base = PurePosixPath(mount)
            if wanted == base or base in wanted.parents:
                return root.path(str(PurePosixPath(host_path) / wanted.relative_to(base)))
        return None

    def run(self, argv: list[str], stdin: Stdin) -> Result:
        try:
            return self._run(argv, stdin)
        except (PermissionError, ValueError) as exc:  # a path leaving the root, a mode or length not a number
            return Result(1, stderr=f"{argv[0]}: {exc}\n".encode())

    def _run(self, argv: list[str], stdin: Stdin) -> Result:
        match argv:
            case ["cat", path]:
                target = self.resolve(path)
                if target is None or not target.is_file():
                    return _missing("cat", path)
                return Result(0, target.read_bytes())
            case ["test", "-e", path]:
                target = self.resolve(path)
                return Result(0 if target is not None and target.exists() else 1)
            case ["mkdir", "-p", "-m", mode, path]:
                return self._mkdir(path, int(mode, 8))
            case ["mkdir", "-p", path]:
                return self._mkdir(path, 0o755)
            case ["rm", "-f", path]:
                target = self.resolve(path)
                if target is not None and target.is_file():
                    target.unlink()
                return Result(0)
            case ["sh", "-c", script, _name, length, temporary, target, mode] if script == WRITE:
                return self._write(int(length), temporary, target, int(mode, 8), stdin)
            case ["chroot", directory, "sh", "-c", command]:
                root = self._host_root(directory)
                if root is None:
                    return Result(125, stderr=f"chroot: can't change root directory to '{directory}'\n".encode())
                return run(command, root, self.etcd)
        shown = argv[0] if argv else ""
        return Result(127, stderr=f'exec: "{shown}": executable file not found in $PATH\n'.encode())

    def _mkdir(self, path: str, mode: int) -> Result:
        target = self.resolve(path)
        if target is None:
            return Result(1, stderr=f"mkdir: can't create directory '{path}': Read-only file system\n".encode())
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, mode)
        return Result(0)

    def _write(self, length: int, temporary: str, target: str, mode: int, stdin: Stdin) -> Result:
        """The WRITE script: parents made 0700, exactly ``length`` bytes of stdin into the temporary file, its
        mode set, renamed over the target; a short input removes the temporary file and fails."""
        staged, final = self.resolve(temporary), self.resolve(target)
        if staged is None or final is None:
            return Result(1, stderr=f"sh: can't create {temporary}: nonexistent directory\n".encode())
        final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = stdin(length)
        staged.touch(mode=0o600)
        staged.write_bytes(data)
        if len(data) != length:
            staged.unlink()
            return Result(1)
        os.chmod(staged, mode)
        staged.replace(final)
        return Result(0)

    def _host_root(self, directory: str) -> NodeRoot | None:
        """The node's root when ``directory`` is a mount of the host's ``/``."""
        mount = self.mounts.get(str(PurePosixPath(directory)))
        return mount[0] if mount is not None and mount[1] == "/" else None


def _missing(command: str, path: str) -> Result:
    return Result(1, stderr=f"{command}: can't open '{path}': No such file or directory\n".encode())
