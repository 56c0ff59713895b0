"""fleetform's engine against Terraform on the same synthetic graph.

    python bench/terraform.py                        # 1,250 chains x 8 = 10,000 resources, 3 runs per phase
    python bench/terraform.py --chains 125 --runs 1  # a quick look
    python bench/terraform.py --phases plan          # plans of the empty state only (Terraform's apply and
                                                     # destroy of 10,000 resources take most of an hour)

The graph: ``chains`` chains of ``depth`` resources, each depending on the previous one; no provider latency.
fleetform runs bench/program (dynamic resources whose provider sleeps its latency, 0 here) through its CLI;
Terraform runs the same shape built from its built-in ``terraform_data`` resource (no provider plugin, so
nothing is downloaded), with a local state file. For each tool and phase (plan on an empty state, apply,
no-op plan, destroy) the CPU time (user + system of the whole process tree), wall time and peak memory are
recorded, the median of ``--runs`` runs with their range. Results: a table on stdout and
bench/results/terraform.json (rewritten after every run). Skipped with a message where ``terraform`` is
not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from measure import machine, measure, spread

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PHASES = ("plan", "apply", "noop_plan", "destroy")


def terraform_config(chains: int, depth: int) -> str:
    blocks = []
    for c in range(chains):
        for d in range(depth):
            value = f'"c{c:04d}-r0"' if d == 0 else f"terraform_data.c{c:04d}_r{d - 1}.output"
            blocks.append(f'resource "terraform_data" "c{c:04d}_r{d}" {{\n  input = {value}\n}}\n')
    return "\n".join(blocks)


def terraform_phases(workdir: Path, chains: int, depth: int, phases: tuple[str, ...]) -> dict:
    workdir.mkdir(parents=True)
    (workdir / "main.tf").write_text(terraform_config(chains, depth))
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
    measure(["terraform", "init", "-no-color"], env, workdir)
    plan = ["terraform", "plan", "-no-color", "-lock=false"]
    commands = {
        "plan": (plan, (0, 2)),
        "apply": (["terraform", "apply", "-no-color", "-auto-approve", "-lock=false"], (0,)),
        "noop_plan": ([*plan, "-detailed-exitcode"], (0,)),  # 0: no changes
        "destroy": (["terraform", "destroy", "-no-color", "-auto-approve", "-lock=false"], (0,)),
    }
    return {phase: measure(commands[phase][0], env, workdir, allowed=commands[phase][1]) for phase in phases}


def fleetform_phases(workdir: Path, chains: int, depth: int, phases: tuple[str, ...]) -> dict:
    project = workdir / "program"
    shutil.copytree(HERE / "program", project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "Pulumi.bench.yaml").write_text(
        f"config:\n  bench:clusters: {chains}\n  bench:depth: {depth}\n  bench:latency: 0\n"
    )
    env = {**os.environ, "FLEETFORM_PASSPHRASE": "bench", "FLEETFORM_STATE_DIR": str(workdir / "state")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    cli = [sys.executable, "-m", "engine.cli"]
    where = ["-s", "bench", "--cwd", str(project), "--parallel", "64"]
    commands = {
        "plan": ["preview"],
        "apply": ["up", "--yes"],
        "noop_plan": ["preview", "--expect-no-changes"],
        "destroy": ["destroy", "--yes"],
    }
    return {phase: measure([*cli, *commands[phase], *where], env, ROOT) for phase in phases}


def chosen_phases(names: list[str]) -> tuple[str, ...]:
    """The phases asked for, in their order; those after ``plan`` need the apply before them."""
    phases = tuple(p for p in PHASES if p in names)
    if any(p in phases for p in ("noop_plan", "destroy")) and "apply" not in phases:
        raise SystemExit("--phases: noop_plan and destroy need apply before them; add apply")
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=1250)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES))
    parser.add_argument("--output", type=Path, default=HERE / "results" / "terraform.json")
    args = parser.parse_args()
    args.phases = chosen_phases(args.phases)
    if shutil.which("terraform") is None:
        print("skipped: terraform is not installed on this machine")
        return
    resources = args.chains * args.depth
    print(f"graph: {args.chains} chains x depth {args.depth} = {resources} resources, {args.runs} run(s)", flush=True)
    runs: dict[str, list[dict]] = {"fleetform": [], "terraform": []}
    started, version = machine(), _terraform_version()
    for number in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="fleetform-vs-terraform-") as tmp:
            runs["fleetform"].append(fleetform_phases(Path(tmp) / "fleetform", args.chains, args.depth, args.phases))
            runs["terraform"].append(terraform_phases(Path(tmp) / "terraform", args.chains, args.depth, args.phases))
        results = _results(args, runs, started, version)  # written after every run: a long run keeps what it has
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        print(f"  run {number + 1} done", flush=True)
    _print_table(results)


def _results(args: argparse.Namespace, runs: dict[str, list[dict]], started: dict, version: str) -> dict:
    results = {
        "resources": args.chains * args.depth,
        "chains": args.chains,
        "depth": args.depth,
        "runs": len(runs["fleetform"]),
        "machine": started,
        "terraform_version": version,
        **{
            tool: {phase: spread([r[phase] for r in tool_runs]) for phase in args.phases}
            for tool, tool_runs in runs.items()
        },
    }
    results["cpu_ratio_fleetform_to_terraform"] = {
        phase: round(results["fleetform"][phase]["cpu_s"] / results["terraform"][phase]["cpu_s"], 3)
        for phase in args.phases
    }
    results["targets"] = {"plan_cpu_ratio": 0.8, "peak_rss_mib": 1024}
    return results


def _terraform_version() -> str:
    import subprocess

    return subprocess.run(["terraform", "version"], capture_output=True, text=True).stdout.splitlines()[0]


def _print_table(r: dict) -> None:
    """CPU and wall time as median (range) over the runs, the CPU ratio, and peak memory."""
    print(f"{'phase':<10} {'tool':<10} {'CPU s (range)':>22} {'wall s (range)':>22} {'peak MiB':>9}")
    for phase in r["cpu_ratio_fleetform_to_terraform"]:
        for tool in ("fleetform", "terraform"):
            p = r[tool][phase]
            cpu = f"{p['cpu_s']:.2f} ({p['range']['cpu_s'][0]:.2f}-{p['range']['cpu_s'][1]:.2f})"
            wall = f"{p['wall_s']:.2f} ({p['range']['wall_s'][0]:.2f}-{p['range']['wall_s'][1]:.2f})"
            print(f"{phase:<10} {tool:<10} {cpu:>22} {wall:>22} {p['peak_rss_mib']:>9.0f}")
        print(f"{'':<10} {'CPU ratio':<10} {r['cpu_ratio_fleetform_to_terraform'][phase]:>22.2f}")


if __name__ == "__main__":
    main()
