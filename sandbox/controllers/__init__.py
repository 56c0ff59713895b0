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

Everything runs on one thread, woken by the emulator's change notifications
(:meth:`KubeApiEmulator.subscribe`, collected by :mod:`.changes`): a pass looks only at the
objects and clusters that changed since the last one, as informers tell a real controller, and
passes are at least ``MIN_GAP`` apart so that a burst of writes is handled in one. What no
notification announces - a direct member's probe growing old, a Karmada cluster's health, a
toleration running out - is looked at by a full pass every ``resync`` seconds, and by a Karmada
pass every ``KARMADA_PERIOD`` seconds while a control plane or agent runs (its controllers work
periodically upstream too).
"""

from __future__ import annotations

import logging
import threading
import time

from ..kubeapi import Change, KubeApiEmulator
from . import changes as changes_
from . import clusterset, klusterlet, loadbalancers, registration
from .karmada import Karmada
from .work import WorkAgent

log = logging.getLogger("sandbox.controllers")

MIN_GAP = 0.2
KARMADA_PERIOD = 1.0
SERVICES, NODES, DEPLOYMENTS = ("", "services"), ("", "nodes"), ("apps", "deployments")


class SandboxControllers:
    def __init__(self, emulator: KubeApiEmulator, hub: str, resync: float = 30.0):
        self.emulator = emulator
        self.hub = hub
        self.resync = resync
        self._work_agent = WorkAgent()
        self._karmada = Karmada()
        self._direct = registration.DirectMembers()
        self._sets = clusterset.ClusterSets()
        self._klusterlets: dict[str, str] = {}  # member -> the managed cluster its running klusterlet joins as
        self._changes = changes_.Changes()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sandbox-controllers", daemon=True)
        emulator.subscribe(self._notice)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _notice(self, cluster: str, change: Change | None) -> None:
        self._changes.note(cluster, change)
        self._wake.set()

    def _loop(self) -> None:
        next_full = 0.0  # the first pass looks at everything
        while not self._stop.is_set():
            wait = next_full - time.monotonic()
            self._wake.wait(max(0.0, min(wait, KARMADA_PERIOD) if self._karmada.running else wait))
            if self._stop.is_set():
                return
            self._wake.clear()
            full = time.monotonic() >= next_full
            taken = {} if full else self._changes.take()
            try:
                self.reconcile(None if full else taken)
            except Exception:  # a controller keeps going, as a real one would, and looks again
                log.exception("sandbox controller pass failed")
                self._changes.put_back(taken)
            if full:
                next_full = time.monotonic() + self.resync
            self._stop.wait(MIN_GAP)

    def reconcile(self, changes: changes_.Pass | None = None) -> None:
        """One pass over what ``changes`` names (cluster -> what changed in it); None: over everything."""
        clusters = self.emulator.clusters
        seen = changes_.everything(clusters) if changes is None else changes
        for name in seen.keys() & clusters.keys():
            if seen[name].touches(SERVICES, NODES):
                loadbalancers.assign_addresses(clusters[name])
            if seen[name].touches(DEPLOYMENTS):
                self._klusterlets.pop(name, None)
                if (joins_as := klusterlet.running_as(clusters[name])) is not None:
                    self._klusterlets[name] = joins_as
        for name in self._klusterlets.keys() - clusters.keys():
            del self._klusterlets[name]
        hub = clusters.get(self.hub)
        if hub is None:
            return
        control_planes = self._karmada.control_planes(self.emulator, hub)
        planes = {p.name for p in control_planes}
        members = [c for c in clusters.values() if c.name != self.hub and c.name not in planes]
        agents = [m for m in members if m.name in self._klusterlets]
        on_hub = seen.get(self.hub, changes_.Changed())
        for member in agents:
            if member.name in seen or on_hub.touches(registration.MANAGED_CLUSTERS):
                registration.join(member, self._klusterlets[member.name])
        self._direct.sync(hub, clusters, changes)
        self._sets.sync(hub, clusters, changes)
        for member in agents:
            self._work_agent.sync(hub, member, self._klusterlets[member.name])
        self._karmada.sync(control_planes, [hub, *members], changes)


__all__ = ["SandboxControllers"]
