"""Engine benchmark: preview, up, the graph's critical path, engine overhead, memory, SDK floor.

    python bench/engine.py                      # 1,000 clusters x 8 resources, 20 ms latency
    python bench/engine.py --clusters 100       # a quicker run

Each phase runs in a fresh subprocess (so peak memory is per phase) against a temporary copy of
bench/program. The SDK floor is the same program run under the SDK's own mocks with a no-op mock:
what any engine built on the Pulumi SDK pays. Results: a table on stdout and bench/results/engine.json.
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# -- phases (run in a child process) ------------------------------------------------------------
class _Quiet:
    def on_step(self, step) -> None:
        pass

    def on_diagnostic(self, severity, message, urn="") -> None:
        if severity == "error":
            print(message, file=sys.stderr)


def _phase_floor(project_dir: Path, parallel: int, adjusted: bool = False) -> dict:
    """The program under pulumi.runtime.mocks: SDK work only, the monitor does nothing. With
    ``adjusted`` the engine's SDK host adjustments are applied (engine.program.adjust_sdk), to show
    what those parts of the SDK cost."""
    import asyncio
    import runpy
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import pulumi
    from pulumi.runtime import config as pulumi_config
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_in_stack

    if adjusted:
        from engine.program import adjust_sdk

        adjust_sdk()

    from engine.project import load_project, load_stack_config

    class NoopMocks(pulumi.runtime.Mocks):
        def new_resource(self, args):
            return args.name, dict(args.inputs)

        def call(self, args):
            return {}

    project = load_project(project_dir)
    config = load_stack_config(project, "bench")
    elapsed = {}

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
        started = time.perf_counter()
        loop.run_until_complete(run_in_stack(lambda: runpy.run_path(str(project.main), run_name="__main__")))
        elapsed["seconds"] = time.perf_counter() - started
        elapsed["registered"] = len(monitor.resources)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return elapsed


def _phase_engine(project_dir: Path, parallel: int, kind: str) -> dict:
    from engine.operations import StackOperations

    ops = StackOperations(project_dir, "bench", _Quiet(), parallel)
    started = time.perf_counter()
    result = ops.preview() if kind == "preview" else ops.up()
    seconds = time.perf_counter() - started
    if result.program_error is not None or result.failures():
        raise SystemExit(f"{kind} failed: {result.program_error or result.failures()[0].error}")
    return {"seconds": seconds, "summary": result.summary()}


def child(args: argparse.Namespace) -> None:
    project_dir = Path(args.project)
    if args.phase in ("floor", "floor-adjusted"):
        data = _phase_floor(project_dir, args.parallel, adjusted=args.phase == "floor-adjusted")
    else:
        data = _phase_engine(project_dir, args.parallel, args.phase)
    data["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(data))


# -- driver -------------------------------------------------------------------------------------
def _run_phase(phase: str, project_dir: Path, parallel: int, env: dict) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__)),
        "--child",
        phase,
        "--project",
        str(project_dir),
        "--parallel",
        str(parallel),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed:\n{proc.stdout}\n{proc.stderr}")
    line = [text for text in proc.stdout.splitlines() if text.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds each provider call sleeps")
    parser.add_argument("--parallel", type=int, default=256)
    parser.add_argument("--output", type=Path, default=HERE / "results" / "engine.json")
    parser.add_argument("--child", dest="phase", help=argparse.SUPPRESS)
    parser.add_argument("--project", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        sys.path.insert(0, str(ROOT))
        child(args)
        return

    resources = args.clusters * args.depth
    with tempfile.TemporaryDirectory(prefix="fleetform-bench-") as tmp:
        project_dir = Path(tmp) / "program"
        shutil.copytree(HERE / "program", project_dir, ignore=shutil.ignore_patterns("__pycache__"))
        (project_dir / "Pulumi.bench.yaml").write_text(
            "config:\n"
            f"  bench:clusters: {args.clusters}\n  bench:depth: {args.depth}\n  bench:latency: {args.latency}\n"
        )
        env = {**os.environ, "FLEETFORM_PASSPHRASE": "bench", "FLEETFORM_STATE_DIR": str(Path(tmp) / "state")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        print(
            f"graph: {args.clusters} chains x depth {args.depth} = {resources} resources, "
            f"latency {args.latency * 1000:.0f} ms, parallel {args.parallel}",
            flush=True,
        )
        floor = _run_phase("floor", project_dir, args.parallel, env)
        print(f"  sdk floor   {floor['seconds']:.2f} s", flush=True)
        floor_adjusted = _run_phase("floor-adjusted", project_dir, args.parallel, env)
        print(f"  sdk floor with the engine's host adjustments   {floor_adjusted['seconds']:.2f} s", flush=True)
        preview = _run_phase("preview", project_dir, args.parallel, env)
        print(f"  preview     {preview['seconds']:.2f} s", flush=True)
        up = _run_phase("up", project_dir, args.parallel, env)
        print(f"  up          {up['seconds']:.2f} s", flush=True)

    critical = args.depth * args.latency
    throughput_bound = resources * args.latency / args.parallel
    results = {
        "resources": resources,
        "clusters": args.clusters,
        "depth": args.depth,
        "latency_s": args.latency,
        "parallel": args.parallel,
        "sdk_floor_s": round(floor["seconds"], 3),
        "sdk_floor_adjusted_s": round(floor_adjusted["seconds"], 3),
        "preview_s": round(preview["seconds"], 3),
        "up_s": round(up["seconds"], 3),
        "critical_path_s": round(critical, 3),
        "provider_throughput_bound_s": round(throughput_bound, 3),
        "preview_vs_floor": round(preview["seconds"] / floor["seconds"], 3),
        "up_vs_critical_plus_floor": round(up["seconds"] / (critical + floor["seconds"]), 3),
        "engine_overhead_per_resource_ms": {
            "preview": round((preview["seconds"] - floor["seconds"]) / resources * 1000, 3),
            "up": round((up["seconds"] - floor["seconds"] - critical) / resources * 1000, 3),
        },
        # the same against the SDK with the engine's host adjustments: what the engine itself adds
        "engine_overhead_vs_adjusted_floor_per_resource_ms": {
            "preview": round((preview["seconds"] - floor_adjusted["seconds"]) / resources * 1000, 3),
            "up": round((up["seconds"] - floor_adjusted["seconds"] - critical) / resources * 1000, 3),
        },
        "sdk_floor_per_resource_ms": round(floor["seconds"] / resources * 1000, 3),
        "peak_rss_mib": {
            "floor": round(floor["peak_rss_mib"], 1),
            "preview": round(preview["peak_rss_mib"], 1),
            "up": round(up["peak_rss_mib"], 1),
        },
        "targets": {"preview_vs_floor": 1.5, "up_vs_critical_plus_floor": 1.25, "peak_rss_mib": 1024},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    _print_table(results)


def _print_table(r: dict) -> None:
    rows = [
        ("resources", f"{r['resources']}"),
        ("SDK floor (mocks, no-op)", f"{r['sdk_floor_s']:.2f} s ({r['sdk_floor_per_resource_ms']:.2f} ms/resource)"),
        ("SDK floor, adjusted", f"{r['sdk_floor_adjusted_s']:.2f} s (linear output wait, no stack-trace capture)"),
        ("preview", f"{r['preview_s']:.2f} s = {r['preview_vs_floor']:.2f}x floor (target <= 1.5x)"),
        ("up", f"{r['up_s']:.2f} s = {r['up_vs_critical_plus_floor']:.2f}x (critical path + floor) (target <= 1.25x)"),
        ("critical path", f"{r['critical_path_s']:.2f} s (depth x latency)"),
        (
            "engine overhead",
            f"preview {r['engine_overhead_per_resource_ms']['preview']:.2f} ms, "
            f"up {r['engine_overhead_per_resource_ms']['up']:.2f} ms per resource",
        ),
        (
            "  vs adjusted floor",
            f"preview {r['engine_overhead_vs_adjusted_floor_per_resource_ms']['preview']:.2f} ms, "
            f"up {r['engine_overhead_vs_adjusted_floor_per_resource_ms']['up']:.2f} ms per resource",
        ),
        (
            "peak memory",
            f"floor {r['peak_rss_mib']['floor']} MiB, preview {r['peak_rss_mib']['preview']} MiB, "
            f"up {r['peak_rss_mib']['up']} MiB (target < 1024)",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
