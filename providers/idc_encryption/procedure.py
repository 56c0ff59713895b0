"""DOMAIN §7.3 on an idc control plane reached over SSH or through privileged pods (:mod:`.node`): enable, rotate,
switch and disable, executed as persisted phases.

:func:`converge` connects to every host, checks the kubeadm layout (V41), takes the newest journal (the hosts'
copies and the one recorded in the stack), finishes a transition under way, then runs each transition
:func:`~.planning.plan` asks for, and verifies with the canary. Every phase is persisted on every host before
it acts (:mod:`.journal`), then gated:

=========== ================================================================= =====================================
phase       act                                                               gate
=========== ================================================================= =====================================
1 stage     write the configuration, target second, on every host             the file's sha256 equal on all hosts
2 reload    put the file's sha256 in each host's manifest, one host at a time each mirror pod Ready with it; /readyz
                                                                              and a canary read answer
3 promote   the configuration with the target first                           as 1
4 reload    as 2                                                              as 2
5 rewrite   every object of the resources written back (reencrypt_existing)   none failed; the canary is stored
                                                                              with the target's prefix
6 prune     an etcd snapshot (etcd_backup engine; ``confirmed``: the user's)   as 2
            when keys are dropped, the final configuration, reload
=========== ================================================================= =====================================

:func:`observe` reads the same without changing anything (refresh).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from ..errors import ErrorCode
from . import etcd
from ._time import now, now_iso
from .apiserver import CANARY, CANARY_NAMESPACE, ApiServer
from .config import digest, layout, render
from .entries import Entry
from .errors import IdcEncryptionError
from .journal import PHASES, Journal, newest
from .manifest import NotKubeadm, apiserver_container, config_path, with_encryption
from .node import Node, NodeAccess
from .planning import Desired, plan
from .rewrite import rewrite

log = logging.getLogger("fleetform.idc_encryption")

JOURNAL_FILE = "fleetform-state.json"
Fault = Callable[[int, str], None]  # (phase, "persisted" | "acted"): tests raise there to stop a run


@dataclass(frozen=True)
class Outcome:
    journal: Journal
    verification: str  # the canary's stored prefix; "" when stored as written (identity)
    verified: bool
    reason: str


class _Run:
    """One connected run against the hosts of a cluster."""

    def __init__(
        self,
        cluster: str,
        kubeconfig: str,
        access: NodeAccess,
        hosts: list[Node],
        etcd_backup: str = "engine",
        fault: Fault | None = None,
    ):
        self.cluster, self.access, self.hosts, self.etcd_backup = cluster, access, hosts, etcd_backup
        self.fault = fault or (lambda phase, point: None)
        self.api = ApiServer(kubeconfig, cluster)
        self.config_file = config_path(access.config_dir)
        self.journal_file = f"{access.config_dir.rstrip('/')}/{JOURNAL_FILE}"
        self.nodes: dict[str, str] = {}  # host address -> node name
        self.rewritten = 0
        self.journal = Journal()  # the last one persisted (or read)

    # --- reading ----------------------------------------------------------------------------------

    def check_layout(self) -> None:
        """V41: every host runs kube-apiserver as a kubeadm static pod whose mirror pod the API shows."""
        for host in self.hosts:
            node = host.run("hostname").decode().strip()
            text = host.read(self.access.manifest_path)
            problem = f"no {self.access.manifest_path} on host {host.address}" if text is None else ""
            if text is not None:
                try:
                    apiserver_container(yaml.safe_load(text))
                except (NotKubeadm, yaml.YAMLError) as exc:
                    problem = f"{self.access.manifest_path} on host {host.address}: {exc}"
            if not problem and self.api.mirror_pod(node) is None:
                problem = f"no mirror pod kube-system/kube-apiserver-{node} for host {host.address} (hostname {node})"
            if problem:
                raise IdcEncryptionError(
                    ErrorCode.ENC_NOT_KUBEADM,
                    f"cannot manage encryption on '{self.cluster}': control plane is not kubeadm static pods ({problem})",
                )
            self.nodes[host.address] = node

    def journals(self) -> list[Journal]:
        return [Journal.loads(host.read(self.journal_file)) for host in self.hosts]

    def stored_prefix(self) -> tuple[bytes, str]:
        value = etcd.stored(self.hosts[0], etcd.secret_key(CANARY_NAMESPACE, CANARY))
        return value, etcd.prefix(value)

    def drift(self, journal: Journal) -> str:
        """Hosts whose configuration file is not the journal's ("" when all are)."""
        entries = journal.configuration()
        wanted = digest(render(entries, journal.covered)) if entries else None
        found = [host.read(self.config_file) for host in self.hosts]
        differing = [h.address for h, text in zip(self.hosts, found, strict=True) if (text and digest(text)) != wanted]
        return f"the configuration file differs from fleetform's on {', '.join(differing)}" if differing else ""

    # --- phases -----------------------------------------------------------------------------------

    def persist(self, journal: Journal) -> Journal:
        for host in self.hosts:
            host.write(self.journal_file, journal.dumps())
        self.journal = journal
        return journal

    def run_transition(self, journal: Journal) -> Journal:
        transition = journal.transition
        assert transition is not None
        for phase in range(transition.phase, 7):
            journal = self.persist(journal.at_phase(phase))
            log.info(
                "%s: %s to %s, phase %d/6 (%s) on %d host(s)",
                self.cluster,
                transition.kind,
                transition.target.name,
                phase,
                PHASES[phase],
                len(self.hosts),
            )
            self.fault(phase, "persisted")
            journal = self.act(journal)
            self.fault(phase, "acted")
        return self.persist(journal.settle(now_iso()))

    def act(self, journal: Journal) -> Journal:
        transition = journal.transition
        assert transition is not None
        phase, entries = transition.phase, journal.configuration()
        if phase in (1, 3):
            self.write_config(entries, transition.resources)
        elif phase in (2, 4):
            self.reload(digest(render(entries, transition.resources)))
        elif phase == 5:
            if transition.rewrite:
                self.rewritten += rewrite(self.api, transition.resources)
            self.verify(transition.target)
        else:
            final, promoted = journal.final_entries(), layout(journal.entries, transition.target, 5, transition.rewrite)
            dropped = [e.name for e in promoted if e not in final and not e.is_identity]
            if dropped and not transition.backup:
                journal = self.persist(journal.at_phase(6, backup=self.backup(journal, dropped)))
            if final:
                self.write_config(list(final), transition.resources)
                self.reload(digest(render(list(final), transition.resources)))
            else:
                self.reload(None)
                for host in self.hosts:
                    host.remove(self.config_file)
        return journal

    def restore(self, journal: Journal) -> None:
        """A settled configuration the hosts lost or that was edited is written back, and reloaded where needed."""
        if journal.transition is not None or not journal.entries:
            return
        entries, drift = list(journal.entries), self.drift(journal)
        if drift:
            log.warning("%s: %s; writing fleetform's back", self.cluster, drift)
            self.write_config(entries, journal.resources)
        self.reload(digest(render(entries, journal.resources)))

    def write_config(self, entries: list[Entry], resources: tuple[str, ...]) -> None:
        text = render(entries, resources)
        for host in self.hosts:
            host.write(self.config_file, text.encode())
        differing = [h.address for h in self.hosts if digest(h.read(self.config_file) or b"") != digest(text)]
        if differing:
            raise IdcEncryptionError(
                ErrorCode.ENC_PHASE_FAILED,
                f"{self.cluster}: {self.config_file} differs from what was written on {', '.join(differing)}",
            )

    def reload(self, config_digest: str | None) -> None:
        """Restart each host's API server with the file of ``config_digest`` (None: without encryption), one at
        a time, each awaited before the next (the others keep serving)."""
        for host in self.hosts:
            text = host.read(self.access.manifest_path) or b""
            changed = with_encryption(text, self.access.config_dir, config_digest)
            if changed is not None:
                host.write(self.access.manifest_path, changed)
            self.api.await_restart(self.nodes[host.address], config_digest, self.config_file)
        self.api.serving()

    def verify(self, writer: Entry) -> str:
        """Write the canary and read it raw from etcd: it must carry ``writer``'s prefix (§7.3 Verification)."""
        written = self.api.write_canary()
        value, observed = self.stored_prefix()
        read_back = self.api.read_canary()
        if not value or observed != writer.prefix or read_back != written:
            shown = observed or ("nothing" if not value else "the plain object")
            raise IdcEncryptionError(
                ErrorCode.ENC_PHASE_FAILED,
                f"{self.cluster}: the canary Secret is stored as {shown}, expected "
                f"{writer.prefix or 'the plain object'}"
                + ("" if read_back == written else "; the API does not return what was written"),
            )
        return observed

    def backup(self, journal: Journal, dropped: list[str]) -> str:
        """V42: an etcd snapshot before keys are dropped (or the stack's word that one exists)."""
        if self.etcd_backup == "confirmed":
            return "confirmed by the stack (etcd_backup: confirmed)"
        name = f"{self.cluster}-r{journal.revision}-{now().strftime('%Y%m%dT%H%M%SZ')}.db"
        try:
            path = etcd.snapshot(self.hosts[0], name)
        except IdcEncryptionError as exc:
            raise IdcEncryptionError(
                ErrorCode.ENC_BACKUP_NOT_CONFIRMED,
                f"refusing to drop key {', '.join(dropped)} on '{self.cluster}' before an etcd snapshot is "
                f"confirmed: {exc.message}; fix etcdctl on {self.hosts[0].address}, or take a snapshot yourself and "
                "set etcd_backup: confirmed",
            ) from None
        return f"{self.hosts[0].address}:{path}"

    def record_failure(self, exc: Exception) -> None:
        """Best effort: the hosts' journal says why the run stopped (refresh reports ``failed``)."""
        try:
            self.persist(self.journal.with_failure(str(exc)))
        except Exception:  # the hosts may be what failed
            log.warning("%s: could not record the failure on the hosts", self.cluster)


def converge(
    desired: Desired, kubeconfig: str, access: NodeAccess, known: Journal, fault: Fault | None = None
) -> Outcome:
    """Bring the cluster to ``desired``, resuming whatever transition the newest journal records."""
    with access.connect(desired.cluster) as hosts:
        run = _Run(desired.cluster, kubeconfig, access, hosts, desired.etcd_backup, fault)
        run.check_layout()
        journal = run.journal = newest(known, *run.journals())
        started = now()  # a rotation this run completes is not due again within it
        try:
            run.restore(journal)
            while True:
                if journal.transition is None:
                    transition = plan(journal, desired, started)
                    if transition is None:
                        break
                    _check_resources(run.api, desired.cluster, transition.resources)
                    journal = journal.begin(transition)  # persisted as phase 1 begins
                journal = run.run_transition(journal)
            observed = run.verify(journal.writer)
        except Exception as exc:
            run.record_failure(exc)
            raise
        if journal.failure:  # an earlier run failed; this one got through
            journal = run.persist(journal.with_failure(""))
    if run.rewritten:  # what this run did, not the state: logged, so that a refresh reads the same reason back
        log.info("%s: %d object(s) rewritten", desired.cluster, run.rewritten)
    return Outcome(journal, observed, True, _reason(journal, len(hosts), observed))


def observe(cluster: str, kubeconfig: str, access: NodeAccess, known: Journal) -> Outcome:
    """What the hosts and etcd show now, changing nothing: the newest journal, drift of the configuration files,
    and the canary's stored prefix."""
    with access.connect(cluster) as hosts:
        run = _Run(cluster, kubeconfig, access, hosts)
        journal = newest(known, *run.journals())
        drift = run.drift(journal) if journal.transition is None else ""  # mid-transition, files may lag the phase
        try:
            value, observed = run.stored_prefix()
        except IdcEncryptionError as exc:  # etcdctl broken on the host: reported, not fatal to a refresh
            value, observed, drift = b"", "", drift or f"the canary could not be read from etcd: {exc}"
    verified = bool(value) and not drift and journal.transition is None and observed == journal.writer.prefix
    reason = journal.failure or drift or _reason(journal, len(hosts), observed)
    return Outcome(journal, observed, verified, reason)


def _check_resources(api: ApiServer, cluster: str, resources: tuple[str, ...]) -> None:
    """V41: wildcard resource names need Kubernetes >= 1.27."""
    if any("*" in name for name in resources) and api.version() < (1, 27):
        raise IdcEncryptionError(
            ErrorCode.ENC_WILDCARD_TOO_OLD, f"wildcard resources need Kubernetes >= 1.27; '{cluster}' runs older"
        )


def _reason(journal: Journal, hosts: int, observed: str) -> str:
    writer = journal.writer
    if journal.transition is not None:
        t = journal.transition
        return f"{t.kind} to {t.target.name} stopped at phase {t.phase}/6 ({PHASES[t.phase]}); the next run resumes it"
    if writer.is_identity:
        return f"not encrypted on {hosts} host(s); the canary is stored as written"
    return f"{writer.provider} key {writer.name} on {hosts} host(s); the canary is stored as {observed}"
