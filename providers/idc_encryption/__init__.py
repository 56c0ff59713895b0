"""Encryption at rest on idc clusters (DOMAIN §2.7, §7.2, §7.3): an ``EncryptionConfiguration`` delivered over SSH
to every kubeadm control-plane host, the kube-apiserver restarted with it, existing objects rewritten, verified
with a canary Secret read raw from etcd; keys rotated through six persisted phases.

Modules, one job each: ``entries`` (a provider entry, key material), ``config`` (the file per phase),
``journal`` (the persisted state and phase), ``planning`` (what to do next), ``procedure`` (the phases and
their gates), ``transport`` (SSH), ``manifest`` (the static-pod manifest), ``apiserver`` (restarts, canary),
``rewrite`` (phase 5), ``etcd`` (what etcd stores), ``errors`` (codes).
"""

from .errors import IdcEncryptionError
from .journal import Journal
from .planning import Desired, rotation_due
from .procedure import Fault, Outcome, converge, observe
from .transport import SshAccess

__all__ = [
    "Desired",
    "Fault",
    "IdcEncryptionError",
    "Journal",
    "Outcome",
    "SshAccess",
    "converge",
    "observe",
    "rotation_due",
]
