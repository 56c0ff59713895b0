"""A kubeconfig exec credential plugin for cloud clusters.

Cloud credentials (EKS and GKE tokens above all) are short-lived, so fleetform never keeps them in
state. The kubeconfig it builds for a cloud cluster runs this module instead, the way
``aws eks get-token`` works: it asks the cloud for fresh credentials and prints an ``ExecCredential``
for the Kubernetes client. Its arguments are non-secret identifiers; the cloud SDK finds its own
credentials in the environment, profile or workload identity.

    fleetform-credential --kind eks --identity '{"region": ..., "cluster_name": ...}' [--endpoint URL]

The kubeconfig names the plugin by its command name, found on ``PATH`` like ``aws`` for EKS, never by
this machine's interpreter path: state written on one machine opens the cluster from another (a CI
runner, another checkout). The process that builds such a kubeconfig puts the directory the package's
scripts were installed in on its ``PATH`` (:func:`kubeclient.scripts_on_path`), so the embedded engine's clients run
it; under the Pulumi CLI, pulumi-kubernetes runs it, and ``fleetform-credential`` must be on ``PATH``.
Where :mod:`kubeclient` makes the connection (the embedded engine, the dynamic providers), it calls
:func:`in_process` instead of starting the command: the same credential, without a new Python process
importing the cloud SDK (about a second each), kept until it expires.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from datetime import UTC, datetime, timedelta

from kubeclient import scripts_on_path, yaml_text

from .clouds import source_for
from .clouds.base import CloudError

# Refresh well before the shortest cloud token lifetime (EKS: 15 minutes).
REFRESH_AFTER = timedelta(minutes=10)
COMMAND = "fleetform-credential"  # the console script of :func:`main` (pyproject.toml)


def exec_credential(kubeconfig: str) -> dict:
    """The user credential of a kubeconfig as an ExecCredential document."""
    config = yaml_text.load(kubeconfig)
    user = (config.get("users") or [{}])[0].get("user") or {}
    status: dict = {}
    if user.get("token"):
        status["token"] = user["token"]
    if user.get("client-certificate-data"):
        import base64

        status["clientCertificateData"] = base64.b64decode(user["client-certificate-data"]).decode()
        status["clientKeyData"] = base64.b64decode(user["client-key-data"]).decode()
    if not status:
        raise CloudError("invalid", "the cloud returned a kubeconfig without a token or client certificate")
    expiry = datetime.now(UTC) + REFRESH_AFTER
    status["expirationTimestamp"] = expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": status}


def exec_kubeconfig(name: str, kind: str, identity: dict, endpoint: str | None, server: str, ca_data: str) -> str:
    """A kubeconfig for a cloud cluster whose credential comes from this plugin (deterministic); this process
    can run it from now on."""
    scripts_on_path()
    args = ["--kind", kind, "--identity", json.dumps(identity, sort_keys=True)]
    if endpoint:
        args += ["--endpoint", endpoint]
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [
            {
                "name": name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": COMMAND,
                        "args": args,
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return yaml_text.dump(document)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--identity", required=True, help="JSON object of the kind's identifiers")
    parser.add_argument("--endpoint", default=None, help="cloud API endpoint override")
    return parser


def _credential(args: argparse.Namespace) -> dict:
    return exec_credential(source_for(args.kind, json.loads(args.identity), args.endpoint).credentials())


def in_process(argv: list[str]) -> dict:
    """The plugin as a function of its arguments (kubeclient's ``kubeclient.exec_plugins`` entry point):
    the ExecCredential, or a CloudError saying why not. What the cloud SDK prints is left alone here:
    redirecting this process's output would swallow every other thread's too."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse's way of refusing arguments: not a reason to end the caller
        raise CloudError("invalid", f"{COMMAND}: the kubeconfig's exec arguments are not its own ({argv})") from exc
    return _credential(args)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    what = f"fleetform credential plugin ({args.kind})"
    printed = io.StringIO()  # what the cloud SDK prints (its handlers are made on import, below): not ours to show
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            credential = _credential(args)
    except CloudError as exc:  # its message already says what the SDK's failure means and what to do
        print(f"{what}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: the run winds down and says so
        print(f"{what}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # not mapped to a CloudError: the end of what the SDK printed may say more
        tail = [line for line in printed.getvalue().splitlines() if line.strip()][-5:]
        print(f"{what}: {type(exc).__name__}: {exc}" + "".join(f"\n  {line}" for line in tail), file=sys.stderr)
        return 1
    print(json.dumps(credential))
    return 0


if __name__ == "__main__":
    sys.exit(main())
