"""The kube-apiserver static-pod manifest with, or without, fleetform's encryption configuration (DOMAIN §7.2).

With it: ``--encryption-provider-config=<config_dir>/encryption-provider.conf``, a hostPath volume of
``config_dir`` mounted read-only at the same path, and the annotation ``fleetform.io/encryption-config-sha256``
holding the file's sha256. kubelet restarts a static pod when its manifest changes, not when a file it mounts
does; the annotation makes every configuration change a manifest change, and so a restart whose completion the
API server's mirror pod shows (the pod comes back Ready carrying the annotation). Automatic reload
(``--encryption-provider-config-automatic-reload``) is not used: which server reloaded what is not visible
through the API without scraping each server's metrics.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import yaml

CONFIG_FILE = "encryption-provider.conf"
FLAG = "--encryption-provider-config="
VOLUME = "fleetform-encryption"
ANNOTATION = "fleetform.io/encryption-config-sha256"


class NotKubeadm(ValueError):
    """The manifest is not a kube-apiserver static pod as kubeadm writes it."""


def config_path(config_dir: str) -> str:
    return str(PurePosixPath(config_dir) / CONFIG_FILE)


def apiserver_container(pod: dict) -> dict:
    spec = pod.get("spec") if isinstance(pod, dict) else None
    for container in (spec or {}).get("containers") or []:
        if container.get("name") == "kube-apiserver":
            return container
    raise NotKubeadm("it has no container named kube-apiserver")


def flag_of(pod: dict) -> str | None:
    """The configuration file the pod's kube-apiserver is started with (None: none)."""
    flags = [arg[len(FLAG) :] for arg in apiserver_container(pod).get("command") or [] if arg.startswith(FLAG)]
    return flags[-1] if flags else None


def with_encryption(text: bytes, config_dir: str, digest: str | None) -> bytes | None:
    """The manifest configured for the file of sha256 ``digest`` (None: fleetform's configuration removed);
    None when the manifest already is."""
    try:
        manifest = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise NotKubeadm(f"it is not YAML ({exc})") from None
    container = apiserver_container(manifest)
    metadata = manifest.setdefault("metadata", {})
    spec = manifest["spec"]
    command = [arg for arg in container.get("command") or [] if not arg.startswith(FLAG)]
    mounts = [mount for mount in container.get("volumeMounts") or [] if mount.get("name") != VOLUME]
    volumes = [volume for volume in spec.get("volumes") or [] if volume.get("name") != VOLUME]
    annotations = {key: value for key, value in (metadata.get("annotations") or {}).items() if key != ANNOTATION}
    if digest is not None:
        command.append(FLAG + config_path(config_dir))
        mounts.append({"mountPath": config_dir, "name": VOLUME, "readOnly": True})
        volumes.append({"hostPath": {"path": config_dir, "type": "DirectoryOrCreate"}, "name": VOLUME})
        annotations[ANNOTATION] = digest
    before = yaml.safe_load(text)
    for owner, key, value in (
        (container, "command", command),
        (container, "volumeMounts", mounts),
        (spec, "volumes", volumes),
        (metadata, "annotations", annotations),
    ):
        if value or key in owner:
            owner[key] = value
    if manifest == before:
        return None
    return yaml.safe_dump(manifest, sort_keys=False).encode()
