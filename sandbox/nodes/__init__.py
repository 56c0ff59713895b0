"""Fake control-plane hosts of idc clusters, reachable over SSH on loopback (DOMAIN §7.2 ``node_access: ssh``).

``hosts`` (the hosts of one cluster, what the sandbox hands out as SSH access), ``sshd`` (one host's SSH
server), ``root`` (its filesystem, seeded as kubeadm leaves a node), ``commands`` (what it answers over exec),
``container`` (what a command exec'd into a pod on the node reaches: ``node_access: privileged-pod``).
"""

from .hosts import ControlPlaneHosts, control_plane_nodes, host_control_planes
from .root import NodeRoot
from .sshd import NodeSshServer

__all__ = ["ControlPlaneHosts", "NodeRoot", "NodeSshServer", "control_plane_nodes", "host_control_planes"]
