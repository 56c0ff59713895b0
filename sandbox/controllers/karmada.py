"""Karmada in the sandbox: the operator on the hub, and the controllers of every control plane it runs.

Each pass: the operator (:mod:`.karmada_operator`) reconciles the hub's ``Karmada`` objects; every
member's karmada-agent (if one runs: looked for again when the member's Deployments or Secrets
change) reports its Pull cluster; then for each ready control plane
the cluster controller (:mod:`.karmada_clusters`) refreshes the ``Cluster`` objects, and the
scheduler (:mod:`.karmada_scheduler`) and the binding/execution controllers
(:mod:`.karmada_execution`) propagate templates into the members.

The operator skips a pass when the hub did not change; the scheduler and execution skip a control
plane when neither it nor any member changed since their last complete pass, unless a toleration
they rely on has ended since. The cluster controller probes every pass (that is how it notices a
member that stopped answering). With neither a control plane nor an agent a pass does nothing.
"""

from __future__ import annotations

import logging
import time

from ..kubeapi import ApiError, KubeApiEmulator, VirtualCluster
from . import karmada_clusters, karmada_execution, karmada_operator, karmada_scheduler
from .changes import Pass

DEPLOYMENTS, SECRETS = ("apps", "deployments"), ("", "secrets")

log = logging.getLogger("sandbox.controllers.karmada")


class Karmada:
    def __init__(self) -> None:
        self._operator_settled: tuple[int, list[str]] | None = None  # hub rv -> control planes
        self._settled: dict[str, tuple[tuple, float | None]] = {}  # control plane -> (versions, deadline)
        self._agents: dict[str, tuple[str, int]] = {}  # members running a karmada-agent -> its start
        # member -> the start at which its agent registered; in memory, so a restarted sandbox starts
        # every agent anew, as restarting their pods would
        self._registered: dict[str, tuple[str, int]] = {}
        self._running = False

    def control_planes(self, emulator: KubeApiEmulator, hub: VirtualCluster) -> list[VirtualCluster]:
        """The operator's pass; the virtual clusters serving a ready Karmada."""
        if self._operator_settled and self._operator_settled[0] == hub.objects.resource_version:
            names = self._operator_settled[1]
            if all(name in emulator for name in names):
                return [emulator.cluster(name) for name in names]
        planes = karmada_operator.reconcile(emulator, hub)
        self._operator_settled = (hub.objects.resource_version, [p.name for p in planes])
        return planes

    @property
    def running(self) -> bool:
        """Whether a control plane or a karmada-agent ran at the last pass (they work periodically)."""
        return self._running

    def sync(self, control_planes: list[VirtualCluster], members: list[VirtualCluster], changes: Pass | None) -> None:
        """The agents' and the control planes' pass; ``members`` are all other clusters; ``changes``
        None: a full pass (else a member's agent is looked for again only when it changed)."""
        for m in members:
            if changes is None or (m.name in changes and changes[m.name].touches(DEPLOYMENTS, SECRETS)):
                if (found := karmada_clusters.agent(m)) is None:
                    self._agents.pop(m.name, None)
                else:
                    self._agents[m.name] = found[3]
        names = {m.name for m in members}
        self._agents = {name: start for name, start in self._agents.items() if name in names}
        # an agent that stopped (its Deployment gone or unavailable) registers again when it runs again
        self._registered = {name: start for name, start in self._registered.items() if name in self._agents}
        self._running = bool(control_planes or self._agents)
        if not self._running:
            return
        reported = set()
        for m in members:
            if m.name not in self._agents or not m.reachable:
                continue
            start = self._agents[m.name]
            if (found := karmada_clusters.run_agent(m, starting=self._registered.get(m.name) != start)) is not None:
                self._registered[m.name] = start
                reported.add(found)
        by_url = {m.url: m for m in members}
        now = time.time()
        for plane in control_planes:
            karmada_clusters.sync(plane, reported)
            versions = (
                plane.objects.resource_version,
                *((m.name, m.objects.resource_version, m.reachable) for m in members),
            )
            settled = self._settled.get(plane.name)
            if settled and settled[0] == versions and (settled[1] is None or now < settled[1]):
                continue
            try:
                deadline = karmada_scheduler.schedule(plane, now)
                karmada_execution.sync(plane, by_url)
            except ApiError as err:  # e.g. a conflict with another writer: the next pass retries
                log.debug("karmada %s: %s", plane.name, err.message)
                self._settled.pop(plane.name, None)
                continue
            versions = (
                plane.objects.resource_version,
                *((m.name, m.objects.resource_version, m.reachable) for m in members),
            )
            self._settled[plane.name] = (versions, deadline)
