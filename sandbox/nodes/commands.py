"""The commands a fake control-plane host answers over SSH: those the idc encryption procedure runs, as a
kubeadm host with ``etcdctl`` installed answers them::

    hostname
    [ETCDCTL_API=3] etcdctl [--endpoints=URL] --cacert=F --cert=F --key=F get KEY [--print-value-only]
    [ETCDCTL_API=3] etcdctl [--endpoints=URL] --cacert=F --cert=F --key=F snapshot save PATH

The certificate files must exist in the host's root (as etcd's client certificates must on a real host); the
values come from the cluster's stored form (``sandbox.kubeapi.encryption``). Anything else exits 127.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Protocol

from .root import NodeRoot

_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")
_VALUED = {"--endpoints", "--cacert", "--cert", "--key"}


class EtcdView(Protocol):
    def etcd_get(self, key: str) -> bytes | None: ...

    def snapshot(self) -> bytes: ...


@dataclass(frozen=True)
class Result:
    status: int
    stdout: bytes = b""
    stderr: bytes = b""


def run(command: str, root: NodeRoot, etcd: EtcdView) -> Result:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return Result(2, stderr=f"sh: {exc}\n".encode())
    environment = {}
    while words and _ASSIGNMENT.fullmatch(words[0]):
        name, _, value = words.pop(0).partition("=")
        environment[name] = value
    if words == ["hostname"]:
        return Result(0, f"{root.hostname}\n".encode())
    if words and words[0] == "etcdctl" and environment.get("ETCDCTL_API", "3") == "3":
        return _etcdctl(words[1:], root, etcd)
    shown = words[0] if words else command
    return Result(127, stderr=f"sh: {shown}: command not offered by this sandbox host\n".encode())


def _etcdctl(words: list[str], root: NodeRoot, etcd: EtcdView) -> Result:
    options, arguments, flags = {}, [], set()
    while words:
        word = words.pop(0)
        name, has_value, value = word.partition("=")
        if name in _VALUED:
            options[name] = value if has_value else (words.pop(0) if words else "")
        elif word.startswith("--"):
            flags.add(word)
        else:
            arguments.append(word)
    for option in ("--cacert", "--cert", "--key"):
        path = options.get(option)
        if not path or not root.path(path).is_file():
            return Result(
                1, stderr=f"Error: open {path or '(' + option + ' not given)'}: no such file or directory\n".encode()
            )
    if len(arguments) == 2 and arguments[0] == "get":
        value = etcd.etcd_get(arguments[1])
        if value is None:
            return Result(0)
        shown = value + b"\n" if "--print-value-only" in flags else arguments[1].encode() + b"\n" + value + b"\n"
        return Result(0, shown)
    if len(arguments) == 3 and arguments[:2] == ["snapshot", "save"]:
        target = root.path(arguments[2])
        if not target.parent.is_dir():
            return Result(1, stderr=f"Error: could not open {arguments[2]}.part (no such directory)\n".encode())
        target.write_bytes(etcd.snapshot())
        return Result(0, f"Snapshot saved at {arguments[2]}\n".encode())
    return Result(1, stderr=f"Error: unknown command {' '.join(arguments)!r} for this sandbox etcdctl\n".encode())
