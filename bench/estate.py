"""The product at estate scale: a generated sandbox stack of N clusters brought up, previewed, refreshed and
destroyed through the CLI, with wall time, CPU time and peak memory per phase.

    python bench/estate.py                       # 10, 100 and 1,000 clusters
    python bench/estate.py --clusters 10 50      # other sizes

The stack: a hub and N clusters, mostly idc (direct), with one in twenty of each cloud kind (EKS, GKE, AKS,
ACK, TKE, CTyun: 30% in all, at least one of each from six clusters up) each looked up in its emulated cloud; registration only (no fleets, federation, bootstrap or
encryption), so the figures show how the registration graph, the engine and the sandbox grow with the estate.
The estate's clusters exist before fleetform registers them, as a real estate's do: the long-running sandbox (what
a user's commands attach to) is started and a first preview seeds its N virtual clusters and cloud records, then
``up``, a no-op ``preview``, ``refresh`` and ``destroy`` are measured. Each phase records fleetform's own figures
(the command and its children) and, beside them, the CPU the sandbox spent serving it (it shares the 2 cores, so
its work also shows in fleetform's wall time). ``--in-process`` runs the emulators inside the measured process
instead (``FLEETFORM_SANDBOX=in-process``: every command also builds the world of N clusters). Results: a table on
stdout and bench/results/estate.json, with CPU per cluster to show whether growth is linear.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from measure import machine, measure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PHASES = ("first_preview", "up", "noop_preview", "refresh", "destroy")
CLOUD_SHARE = 20  # one cluster in twenty of each cloud kind

# How each cloud kind's identifying inputs vary with the cluster's number (formats its validation accepts).
IDENTITIES = {
    "eks": lambda n: {"region": "eu-west-1", "cluster_name": f"bench-eks-{n:05d}"},
    "gke": lambda n: {"project": "fleetform-bench", "location": "europe-west1", "cluster_name": f"bench-gke-{n:05d}"},
    "aks": lambda n: {
        "subscription_id": "00000000-0000-4000-8000-00000000f1ee",
        "resource_group": "rg-fleetform-bench",
        "cluster_name": f"bench-aks-{n:05d}",
    },
    "ack": lambda n: {"region_id": "cn-hangzhou", "cluster_id": f"c{n:031x}"},
    "tke": lambda n: {"region": "ap-guangzhou", "cluster_id": f"cls-b{n:07d}"},
    "ctyun": lambda n: {"region_id": "bb9fdb42056f11eda1610242ac110002", "cluster_id": f"{n:032x}"},
}


def kinds_for(count: int) -> list[str]:
    """``count`` kinds: one in twenty of each cloud kind, the rest idc, the idc clusters first."""
    clouds = list(IDENTITIES)
    per_cloud = max(1, count // CLOUD_SHARE) if count >= len(clouds) else 0
    kinds = [kind for _ in range(per_cloud) for kind in clouds][:count]
    kinds += ["idc"] * (count - len(kinds))
    return sorted(kinds, key=lambda k: 0 if k == "idc" else 1)


def stack_file(count: int) -> dict:
    sandbox = yaml.safe_load((ROOT / "stacks" / "Pulumi.sandbox.yaml").read_text())
    clusters = []
    for number, kind in enumerate(kinds_for(count), start=1):
        cluster = {"name": f"{kind}-bench-{number:05d}", "kind": kind, "deletion_protection": False}
        if kind == "idc":
            cluster |= {"connection_mode": "direct", "region": f"dc-{number % 7}"}
        else:
            cluster |= IDENTITIES[kind](number)
        clusters.append(cluster)
    hub = sandbox["config"]["fleetform:hub"]
    return {"config": {"fleetform:sandbox": True, "fleetform:hub": hub, "fleetform:clusters": clusters}}


def estate_phases(workdir: Path, count: int, figures: dict, keep, in_process: bool) -> None:
    """Run the phases into ``figures``, calling ``keep()`` after each (a long run keeps what it measured)."""
    project = workdir / "project"
    (project / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project)
    (project / "stacks" / "Pulumi.sandbox.yaml").write_text(yaml.safe_dump(stack_file(count), sort_keys=False))
    env = {**os.environ, "FLEETFORM_STATE_DIR": str(workdir / "state")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("FLEETFORM_PASSPHRASE", None)
    env.pop("FLEETFORM_SANDBOX", None)
    if in_process:
        env["FLEETFORM_SANDBOX"] = "in-process"
    cli = [sys.executable, "-m", "engine.cli"]
    where = ["-s", "sandbox", "--cwd", str(project)]
    commands = {
        "first_preview": ["preview"],
        "up": ["up", "--yes"],
        "noop_preview": ["preview", "--expect-no-changes"],
        "refresh": ["refresh", "--yes"],
        "destroy": ["destroy", "--yes"],
    }
    sandbox = None if in_process else Sandbox(cli, env, workdir / "state" / "sandbox")
    try:
        for phase, args in commands.items():
            before = sandbox.cpu_s() if sandbox else 0.0
            figures[phase] = measure([*cli, *args, *where], env, ROOT)
            if sandbox:
                figures[phase]["sandbox_cpu_s"] = round(sandbox.cpu_s() - before, 3)
                figures[phase]["sandbox_rss_mib"] = sandbox.rss_mib()
            if phase == "up":
                state = json.loads((workdir / "state" / "stacks" / "sandbox.json").read_text())
                figures["resources"] = len(state.get("resources") or [])
            keep()
    finally:
        if sandbox:
            sandbox.stop()


class Sandbox:
    """The long-running sandbox of one benchmark's state directory: started before the first phase, stopped
    after the last, its CPU time and memory read from /proc."""

    def __init__(self, cli: list[str], env: dict[str, str], data_dir: Path):
        self._cli, self._env = cli, env
        subprocess.run([*cli, "sandbox", "start"], env=env, cwd=ROOT, check=True, capture_output=True)
        self.pid = json.loads((data_dir / "daemon.json").read_text())["pid"]

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.pid}/status").read_text()
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return round(int(peak.split()[1]) / 1024, 1)

    def stop(self) -> None:
        subprocess.run([*self._cli, "sandbox", "stop"], env=self._env, cwd=ROOT, check=False, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--output", type=Path, default=HERE / "results" / "estate.json")
    parser.add_argument("--in-process", action="store_true", help="run the emulators inside each measured command")
    args = parser.parse_args()
    sandbox = "in-process" if args.in_process else "long-running"
    results = {"machine": machine(), "sandbox": sandbox, "sizes": {}, "targets": _targets()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    for count in args.clusters:
        started = time.perf_counter()
        figures: dict = {}
        results["sizes"][str(count)] = figures

        with tempfile.TemporaryDirectory(prefix="fleetform-estate-") as tmp:
            keep = functools.partial(_keep, results, figures, count, args.output)
            estate_phases(Path(tmp), count, figures, keep, args.in_process)
        print(f"{count} clusters: {figures['resources']} resources, {time.perf_counter() - started:.0f} s", flush=True)
    _print_table(results)


def _keep(results: dict, figures: dict, count: int, output: Path) -> None:
    figures["cpu_per_cluster_s"] = {p: round(figures[p]["cpu_s"] / count, 3) for p in PHASES if p in figures}
    results["against_targets"] = _against_targets(results)
    output.write_text(json.dumps(results, indent=2) + "\n")


def _against_targets(results: dict) -> dict:
    """Each target beside what was measured at its size: met or not, and the measured/target ratio."""
    targets = results["targets"]
    figures = results["sizes"].get(str(targets["clusters"]), {})
    measured = {
        "up_wall_s": figures.get("up", {}).get("wall_s"),
        "noop_preview_wall_s": figures.get("noop_preview", {}).get("wall_s"),
        "peak_rss_mib": max((figures[p]["peak_rss_mib"] for p in PHASES if p in figures), default=None),
    }
    return {
        name: {
            "target": targets[name],
            "measured": value,
            "met": value <= targets[name],
            "ratio": round(value / targets[name], 2),
        }
        for name, value in measured.items()
        if value is not None
    }


def _targets() -> dict:
    return {"clusters": 1000, "up_wall_s": 300, "noop_preview_wall_s": 60, "peak_rss_mib": 2048}


def _print_table(results: dict) -> None:
    """Wall and CPU time of fleetform per phase, ``+ N`` the sandbox's CPU time beside it."""
    print(f"{'clusters':>8} {'resources':>9}  " + "  ".join(f"{p:>28}" for p in PHASES) + "  peak MiB")
    for count, f in results["sizes"].items():
        cells = "  ".join(_cell(f[p]) if p in f else f"{'-':>28}" for p in PHASES)
        peak = max(f[p]["peak_rss_mib"] for p in PHASES if p in f)
        print(f"{count:>8} {f.get('resources', 0):>9}  {cells}  {peak:>8.0f}")


def _cell(figures: dict) -> str:
    sandbox = f" +{figures['sandbox_cpu_s']:.0f}" if "sandbox_cpu_s" in figures else ""
    return f"{figures['wall_s']:>7.1f} s / {figures['cpu_s']:.1f} s{sandbox}".rjust(28)


if __name__ == "__main__":
    main()
