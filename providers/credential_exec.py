"""A kubeconfig exec credential plugin for cloud clusters.

Cloud credentials (EKS and GKE tokens above all) are short-lived, so fleetform never keeps them in
state. The kubeconfig it builds for a cloud cluster runs this module instead, the way
``aws eks get-token`` works: it asks the cloud for fresh credentials and prints an ``ExecCredential``
for the Kubernetes client. Its arguments are non-secret identifiers; the cloud SDK finds its own
credentials in the environment, profile or workload identity.

    python -m providers.credential_exec --kind eks --identity '{"region": ..., "cluster_name": ...}' [--endpoint URL]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta

import yaml

from .clouds import source_for
from .clouds.base import CloudError

# Refresh well before the shortest cloud token lifetime (EKS: 15 minutes).
REFRESH_AFTER = timedelta(minutes=10)


def exec_credential(kubeconfig: str) -> dict:
    """The user credential of a kubeconfig as an ExecCredential document."""
    config = yaml.safe_load(kubeconfig)
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
    """A kubeconfig for a cloud cluster whose credential comes from this plugin (deterministic)."""
    args = ["-m", "providers.credential_exec", "--kind", kind, "--identity", json.dumps(identity, sort_keys=True)]
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
                        "command": sys.executable,
                        "args": args,
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return yaml.safe_dump(document, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", required=True)
    parser.add_argument("--identity", required=True, help="JSON object of the kind's identifiers")
    parser.add_argument("--endpoint", default=None, help="cloud API endpoint override")
    args = parser.parse_args(argv)
    try:
        kubeconfig = source_for(args.kind, json.loads(args.identity), args.endpoint).credentials()
        print(json.dumps(exec_credential(kubeconfig)))
    except CloudError as exc:
        print(f"fleetform credential plugin ({args.kind}): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
