"""Engine benchmark: preview and up of a synthetic graph against the SDK floor, in wall and CPU time.

    python bench/engine.py                      # 1,000 chains x 8 resources, 20 ms latency, 3 runs
    python bench/engine.py --clusters 250 --runs 3

Each phase runs in a fresh subprocess (so peak memory is per phase) against a temporary copy of
bench/program, ``--runs`` times; the table shows the median and the range, in wall time and in CPU
time (every thread of the process, from the phase's start to its end). The floor the engine is
compared with is the same program run through the engine's own runner (engine.program, with its SDK
host adjustments) against a monitor that does nothing: what any engine hosting the SDK as this one
does pays before deciding or doing anything. The SDK's own floor (the program under the SDK's mocks,
without the host adjustments) is shown beside it for reference; comparing with it would credit the
engine with the SDK costs its host removes. Results: a table on stdout and bench/results/engine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import machine, spread

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

PHASES = ("sdk_floor", "floor", "preview", "up")


# -- phases (run in a child process) ------------------------------------------------------------
class _Quiet:
    def on_step(self, step) -> None:
        pass

    def on_diagnostic(self, severity, message, urn="") -> None:
        if severity == "error":
            print(message, file=sys.stderr)


def _phase_sdk_floor(project_dir: Path, parallel: int) -> dict:
    """The program under pulumi.runtime.mocks with a no-op mock, without the engine's host adjustments."""
    import asyncio
    import runpy
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pulumi
    from pulumi.runtime import config as pulumi_config
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_in_stack

    from engine.project import load_project, load_stack_config

    class NoopMocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return args.name, dict(args.inputs)

        def call(self, args):
            return {}

    project = load_project(project_dir)
    config = load_stack_config(project, "bench")
    figures: dict = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.set_default_executor(ThreadPoolExecutor(max_workers=parallel + 8))
        monitor = mocks.MockMonitor(NoopMocks())
        settings.configure(
            mocks.MockSettings(
                monitor=monitor,
                monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
                engine=mocks.MockEngine(None),
                project=project.name,
                stack="bench",
                dry_run=False,
                organization="organization",
                callbacks=None,
            )
        )
        pulumi_config.set_all_config(config.values, [])
        sys.path.insert(0, str(project.dir))
        os.chdir(project.dir)
        with _Clock(figures):
            loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(project.main), run_name="__main__")))
        figures["registered"] = len(monitor.resources)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return figures


def _phase_floor(project_dir: Path, parallel: int) -> dict:
    """The program through the engine's runner (engine.program.run_program, host adjustments and
    all) against a monitor that answers every registration with its own inputs and decides nothing."""
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import resource_pb2

    from engine.monitor import EngineLog, ResourceMonitor
    from engine.program import run_program
    from engine.project import load_project, load_stack_config
    from engine.urn import URN
    from engine.walk import Walker

    class NoopMonitor(ResourceMonitor):
        registered = 0

        def __init__(self) -> None:
            super().__init__(None, "bench", project.name)

        def RegisterResource(self, request):
            NoopMonitor.registered += 1
            urn = URN.new(self.stack, self.project, request.parent, request.type, request.name)
            return resource_pb2.RegisterResourceResponse(urn=str(urn), id=request.name, object=request.object)

        def RegisterResourceOutputs(self, request):
            return empty_pb2.Empty()

    project = load_project(project_dir)
    config = load_stack_config(project, "bench")
    figures: dict = {}
    with _Clock(figures):
        error = run_program(
            project, "bench", config, NoopMonitor(), EngineLog(_Quiet()), False, Walker(parallel, None).sdk_threads
        )
    if error is not None:
        raise SystemExit(f"floor failed: {error}")
    figures["registered"] = NoopMonitor.registered
    return figures


def _phase_engine(project_dir: Path, parallel: int, kind: str) -> dict:
    from engine.operations import StackOperations

    ops = StackOperations(project_dir, "bench", _Quiet(), parallel)
    figures: dict = {}
    with _Clock(figures):
        result = ops.preview() if kind == "preview" else ops.up()
    if result.program_error is not None or result.failures():
        raise SystemExit(f"{kind} failed: {result.program_error or result.failures()[0].error}")
    return figures


class _Clock:
    """Wall and CPU time (all threads of this process) of a ``with`` block, into ``figures``."""

    def __init__(self, figures: dict):
        self.figures = figures

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *_exc) -> None:
        self.figures["wall_s"] = round(time.perf_counter() - self.wall, 3)
        self.figures["cpu_s"] = round(time.process_time() - self.cpu, 3)


def child(args: argparse.Namespace) -> None:
    project_dir = Path(args.project)
    if args.phase != "sdk_floor":  # the engine's runner runs as a command does: with the collector it sets
        from engine.collector import tune_for_large_heaps

        tune_for_large_heaps()
    if args.phase == "sdk_floor":
        data = _phase_sdk_floor(project_dir, args.parallel)
    elif args.phase == "floor":
        data = _phase_floor(project_dir, args.parallel)
    else:
        data = _phase_engine(project_dir, args.parallel, args.phase)
    data["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print("RESULT " + json.dumps(data))


# -- driver -------------------------------------------------------------------------------------
def _run_phase(phase: str, project_dir: Path, parallel: int, env: dict) -> dict:
    cmd = [sys.executable, str(Path(__file__)), "--child", phase, "--project", str(project_dir)]
    proc = subprocess.run([*cmd, "--parallel", str(parallel)], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stdout}\n{proc.stderr}")
    line = [text for text in proc.stdout.splitlines() if text.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def _one_run(args: argparse.Namespace, tmp: Path, number: int) -> dict[str, dict]:
    """Every phase once, on a fresh copy of the program and an empty state."""
    project_dir = tmp / f"program-{number}"
    shutil.copytree(HERE / "program", project_dir, ignore=shutil.ignore_patterns("__pycache__"))
    (project_dir / "Pulumi.bench.yaml").write_text(
        f"config:\n  bench:clusters: {args.clusters}\n  bench:depth: {args.depth}\n  bench:latency: {args.latency}\n"
    )
    env = {**os.environ, "FLEETFORM_PASSPHRASE": "bench", "FLEETFORM_STATE_DIR": str(tmp / f"state-{number}")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    figures = {}
    for phase in PHASES:
        figures[phase] = _run_phase(phase, project_dir, args.parallel, env)
        print(
            f"  run {number + 1}: {phase:<10} {figures[phase]['wall_s']:7.2f} s wall {figures[phase]['cpu_s']:7.2f} s CPU"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds each provider call sleeps")
    parser.add_argument("--parallel", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "engine.json")
    parser.add_argument("--child", dest="phase", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        sys.path.insert(0, str(ROOT))
        child(args)
        return

    resources = args.clusters * args.depth
    print(
        f"graph: {args.clusters} chains x depth {args.depth} = {resources} resources, "
        f"latency {args.latency * 1000:.0f} ms, parallel {args.parallel}, {args.runs} run(s)",
        flush=True,
    )
    started = machine()
    with tempfile.TemporaryDirectory(prefix="fleetform-bench-") as tmp:
        runs = [_one_run(args, Path(tmp), number) for number in range(args.runs)]
    phases = {phase: spread([run[phase] for run in runs]) for phase in PHASES}
    critical = args.depth * args.latency
    floor, preview, up = phases["floor"], phases["preview"], phases["up"]
    results = {
        "resources": resources,
        "clusters": args.clusters,
        "depth": args.depth,
        "latency_s": args.latency,
        "parallel": args.parallel,
        "machine": started,
        "phases": phases,
        "critical_path_s": round(critical, 3),
        "provider_throughput_bound_s": round(resources * args.latency / args.parallel, 3),
        "ratios": {
            "preview_cpu_vs_floor": round(preview["cpu_s"] / floor["cpu_s"], 3),
            "up_cpu_vs_floor": round(up["cpu_s"] / floor["cpu_s"], 3),
            "up_wall_vs_critical_plus_preview": round(up["wall_s"] / (critical + preview["wall_s"]), 3),
            "floor_cpu_vs_sdk_floor": round(floor["cpu_s"] / phases["sdk_floor"]["cpu_s"], 3),
        },
        "engine_cpu_per_resource_ms": {
            "floor": round(floor["cpu_s"] / resources * 1000, 3),
            "preview_over_floor": round((preview["cpu_s"] - floor["cpu_s"]) / resources * 1000, 3),
            "up_over_floor": round((up["cpu_s"] - floor["cpu_s"]) / resources * 1000, 3),
        },
        "targets": {"up_cpu_vs_floor": 1.2, "up_wall_vs_critical_plus_preview": 1.2, "peak_rss_mib": 1024},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    _print_table(results)


def _print_table(r: dict) -> None:
    names = {
        "sdk_floor": "SDK floor (mocks)",
        "floor": "floor (engine runner)",
        "preview": "preview",
        "up": "up",
    }
    print(f"{'phase':<22} {'wall s (range)':>22} {'CPU s (range)':>22} {'peak MiB':>9}")
    for phase, name in names.items():
        p = r["phases"][phase]
        wall = f"{p['wall_s']:.2f} ({p['range']['wall_s'][0]:.2f}-{p['range']['wall_s'][1]:.2f})"
        cpu = f"{p['cpu_s']:.2f} ({p['range']['cpu_s'][0]:.2f}-{p['range']['cpu_s'][1]:.2f})"
        print(f"{name:<22} {wall:>22} {cpu:>22} {p['peak_rss_mib']:>9.0f}")
    ratios = r["ratios"]
    print(f"critical path {r['critical_path_s']:.2f} s (depth x latency)")
    print(f"preview CPU = {ratios['preview_cpu_vs_floor']:.2f}x floor")
    print(f"up CPU = {ratios['up_cpu_vs_floor']:.2f}x floor (target <= 1.2x)")
    print(f"up wall = {ratios['up_wall_vs_critical_plus_preview']:.2f}x (critical path + preview) (target <= 1.2x)")
    print(f"floor CPU = {ratios['floor_cpu_vs_sdk_floor']:.2f}x the SDK's own floor (the host adjustments)")


if __name__ == "__main__":
    main()
