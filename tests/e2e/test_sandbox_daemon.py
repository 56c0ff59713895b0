"""The long-running sandbox: any command on the sandbox stack starts it, runs attach to it (overlapping ones too),
it stays up for kubectl, gcloud and the aws CLI between runs, and `fleetform sandbox stop` ends it."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import SandboxProject

KUBECTL = shutil.which("kubectl.1.32") or next(
    (str(p) for p in Path("/usr/lib/google-cloud-sdk/bin").glob("kubectl.1.32")), None
)


@pytest.fixture
def project(tmp_path):
    project = SandboxProject(tmp_path, long_running=True)
    project.without_day1()
    project.without_federations()
    project.keep_clusters(lambda cluster: cluster["name"] in ("idc-sh-02", "gke-euw1-01", "eks-euw1-01"))
    yield project
    project.stop_sandbox()


def exported(text: str) -> dict[str, str]:
    """The variables of `export NAME=value` lines."""
    return dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in text.splitlines())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_runs_attach_to_one_sandbox_that_outlives_them_until_stopped(project, tmp_path):
    up = project.cli("up", "--yes")
    assert up.code == 0, up.out + up.err
    status = project.cli("sandbox", "status", "--json", stack=False).json()
    assert status["hub"] == "hub-sandbox" and alive(status["pid"])
    assert {"hub-sandbox", "idc-sh-02", "gke-sandbox-gke", "eks-sandbox-eks"} <= set(status["clusters"])

    # an up and a preview at the same time both succeed on the same world; the up changes nothing
    second = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "up", "--yes", "-s", "sandbox", "--cwd", str(project.dir)],
        env=project.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    preview = project.cli("preview")
    out, err = second.communicate(timeout=300)
    assert preview.code == 0, preview.out + preview.err
    assert second.returncode == 0, out + err
    assert "create" not in out.split("up summary:")[-1] and "update" not in out.split("up summary:")[-1]
    assert project.cli("sandbox", "status", "--json", stack=False).json()["pid"] == status["pid"]

    # what up built is there to look at with the user's own tools
    kubeconfig = tmp_path / "sandbox.kubeconfig"
    assert project.cli("sandbox", "kubeconfig", "-o", str(kubeconfig), stack=False).code == 0
    assert kubeconfig.stat().st_mode & 0o077 == 0
    config = yaml.safe_load(kubeconfig.read_text())
    assert {"hub-sandbox", "idc-sh-02", "gke-sandbox-gke"} <= {c["name"] for c in config["contexts"]}
    users = {u["name"]: u["user"] for u in config["users"]}
    assert users["eks-sandbox-eks"]["exec"]["command"] == "fleetform-credential"  # the cloud's own sign-in
    assert "exec" not in users["idc-sh-02"]  # an idc cluster keeps its admin credential
    if KUBECTL:
        listed = subprocess.run(
            [
                KUBECTL,
                "--kubeconfig",
                str(kubeconfig),
                "--context",
                "hub-sandbox",
                "get",
                "managedclusters",
                "-o",
                "name",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert set(listed.stdout.split()) == {
            f"managedcluster.cluster.open-cluster-management.io/{n}"
            for n in ("idc-sh-02", "gke-euw1-01", "eks-euw1-01")
        }
        namespaces = subprocess.run(
            [KUBECTL, "--kubeconfig", str(kubeconfig), "--context", "eks-sandbox-eks", "get", "ns", "-o", "name"],
            env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert namespaces.returncode == 0, namespaces.stderr
        assert "namespace/kube-system" in namespaces.stdout.split()
    variables = exported(project.cli("sandbox", "env", stack=False).out)
    clients = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables}
    if shutil.which("aws"):
        described = subprocess.run(
            [
                "aws",
                "eks",
                "describe-cluster",
                "--name",
                "sandbox-eks",
                "--region",
                "eu-west-1",
                "--query",
                "cluster.status",
            ],
            env=clients,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (described.returncode, described.stdout.strip()) == (0, '"ACTIVE"'), described.stderr
    if shutil.which("gcloud"):
        gcloud_env = {**clients, "CLOUDSDK_CONFIG": str(tmp_path / "gcloud"), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        listed = subprocess.run(
            ["gcloud", "container", "clusters", "list", "--project", "fleetform-sandbox", "--format", "value(name)"],
            env=gcloud_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (listed.returncode, listed.stdout.split()) == (0, ["sandbox-gke"]), listed.stderr

    # stopped, it keeps its data: the next command starts it again on the same ports and credentials
    stopped = project.cli("sandbox", "stop", stack=False)
    assert stopped.code == 0 and f"pid {status['pid']}" in stopped.out
    deadline = time.monotonic() + 30
    while alive(status["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(status["pid"])
    assert project.cli("sandbox", "status", stack=False).code == 2
    again = project.cli("preview", "--expect-no-changes")
    assert again.code == 0, again.out + again.err
    assert project.cli("sandbox", "status", "--json", stack=False).json()["pid"] != status["pid"]


def test_validate_starts_no_sandbox(project):
    assert project.cli("validate").code == 0
    assert not (project.world_dir / "daemon.json").exists()
