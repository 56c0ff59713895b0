"""The controllers the sandbox runs so that the emulated estate behaves like a real one.

The Kubernetes emulator already plays kube-controller-manager inside each cluster (token Secrets,
namespace cleanup, Deployments reporting ready). This package adds what lives *between* clusters
or in the cloud around them, one module per controller:

* :mod:`.registration`: OCM registration of direct members (the hub's side) and agent members (the
  klusterlet's side), which makes ``ManagedCluster`` objects joined and available;
* :mod:`.work`: OCM's work agent, which applies the hub's ``ManifestWork`` objects into agent
  members and reports their status;
* :mod:`.clusterset`: ``ManagedClusterSet``/``ManagedClusterSetBinding`` conditions and each
  member's capacity on its ``ManagedCluster``;
* :mod:`.karmada`: the karmada-operator on the hub, and in each Karmada control plane it creates
  the cluster, scheduling and execution controllers (plus the karmada-agent in Pull members);
* :mod:`.loadbalancers`: Services of type ``LoadBalancer`` get an ingress address.

Everything runs on one polling thread (``interval`` seconds).
"""

from __future__ import annotations

import logging
import threading

from ..kubeapi import KubeApiEmulator
from . import clusterset, loadbalancers, registration
from .karmada import Karmada
from .work import WorkAgent

log = logging.getLogger("sandbox.controllers")


class SandboxControllers:
    def __init__(self, emulator: KubeApiEmulator, hub: str, interval: float = 0.3):
        self.emulator = emulator
        self.hub = hub
        self.interval = interval
        self._work_agent = WorkAgent()
        self._karmada = Karmada()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-controllers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
            except Exception:  # a controller keeps going, as a real one would
                log.exception("sandbox controller pass failed")

    def reconcile(self) -> None:
        clusters = dict(self.emulator.clusters)
        for cluster in clusters.values():
            loadbalancers.assign_addresses(cluster)
        hub = clusters.get(self.hub)
        if hub is None:
            return
        control_planes = self._karmada.control_planes(self.emulator, hub)
        planes = {p.name for p in control_planes}
        members = [c for c in clusters.values() if c.name != self.hub and c.name not in planes]
        for member in members:
            registration.join(member)
        registration.sync_direct_members(hub)
        clusterset.sync(hub, clusters)
        for member in members:
            self._work_agent.sync(hub, member)
        self._karmada.sync(control_planes, [hub, *members])


__all__ = ["SandboxControllers"]
