"""Encryption at rest on idc clusters (DOMAIN §2.7, §7.2, §7.3): an ``EncryptionConfiguration`` delivered to every
kubeadm control-plane host (over SSH, or through a privileged pod per node), the kube-apiserver restarted with it,
existing objects rewritten, verified with a canary Secret read raw from etcd; keys rotated through six persisted
phases.

Modules, one job each: ``entries`` (a provider entry, key material), ``config`` (the file per phase),
``journal`` (the persisted state and phase), ``planning`` (what to do next), ``procedure`` (the phases and
their gates), ``node`` (what a phase needs of a node), ``transport`` (SSH), ``pods`` (a privileged pod per node)
and ``podexec`` (the exec API), ``manifest`` (the static-pod manifest), ``apiserver`` (restarts, canary),
``rewrite`` (phase 5), ``etcd`` (what etcd stores), ``errors`` (codes).
"""

from .errors import IdcEncryptionError
from .journal import Journal
from .node import NodeAccess
from .planning import Desired, rotation_due
from .pods import PodAccess
from .procedure import Fault, Outcome, converge, observe
from .transport import SshAccess

__all__ = [
    "Desired",
    "Fault",
    "IdcEncryptionError",
    "Journal",
    "NodeAccess",
    "Outcome",
    "PodAccess",
    "SshAccess",
    "converge",
    "observe",
    "rotation_due",
]
