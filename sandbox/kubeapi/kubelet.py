"""The kubelets of a virtual cluster's sandbox nodes: the nodes that have a host in the sandbox (a node root bound
by ``sandbox/nodes``, see :meth:`~.encryption.AtRest.host_root`).

* **status**: a pod bound to such a node (``spec.nodeName``; the scheduler is not emulated, so a pod without one
  stays Pending) is started at once: phase ``Running``, ``Ready``, each container running and ready, the node's
  address as host IP (and pod IP with ``hostNetwork``). Mirror pods (the API servers' own) are left to
  :mod:`.encryption`.
* **exec**: a command in one of its containers runs against the node's root through the container's hostPath
  mounts (:class:`sandbox.nodes.container.Container`; only privileged containers reach the host).

Not emulated: pods on nodes without a sandbox host (they stay Pending), image pulls, container commands (the
container "runs" whatever it was told), taints and tolerations, ``activeDeadlineSeconds``, graceful termination
(a deleted pod is gone at once), resource limits, probes, logs, attach and port-forward.
"""

from __future__ import annotations

from sandbox.nodes.container import Container
from sandbox.nodes.root import NodeRoot

from . import errors, meta
from .store import Change

PODS = ("", "pods")
MANAGER = "kubelet"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


class Kubelets:
    def __init__(self, cluster):
        self.c = cluster

    def handle(self, change: Change) -> None:
        """Start a pod bound to a sandbox node (called by the control plane with each change of a pod)."""
        pod = change.object
        if change.type == "DELETED" or meta.is_deleting(pod) or self._root(pod) is None:
            return
        if MIRROR_ANNOTATION in (pod["metadata"].get("annotations") or {}) or (pod.get("status") or {}).get("phase"):
            return
        spec = pod.get("spec") or {}
        now = meta.now()
        status = {
            "phase": "Running",
            "conditions": [
                {"type": kind, "status": "True", "lastTransitionTime": now}
                for kind in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ],
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1" if spec.get("hostNetwork") else "10.244.0.10",
            "startTime": now,
            "containerStatuses": [
                {
                    "name": container["name"],
                    "image": container.get("image", ""),
                    "imageID": container.get("image", ""),
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": now}},
                }
                for container in spec.get("containers") or []
            ],
        }
        try:
            self.c.objects.update_status({**pod, "status": status})
        except errors.ApiError as err:  # changed or deleted meanwhile: a later event brings it back
            if err.code not in (404, 409):
                raise

    def _root(self, pod: dict) -> NodeRoot | None:
        node = (pod.get("spec") or {}).get("nodeName")
        directory = self.c.at_rest.host_root(node) if node else None
        return NodeRoot(directory) if directory is not None else None

    def container(self, pod: dict, name: str) -> Container:
        """What a command exec'd into container ``name`` of the running ``pod`` reaches (raises 400 as the API
        server does when it cannot exec there)."""
        pod_name = pod["metadata"]["name"]
        phase = (pod.get("status") or {}).get("phase")
        root = self._root(pod)
        if phase in ("Succeeded", "Failed"):
            raise errors.bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
        if root is None or phase != "Running":
            raise errors.bad_request(f"pod {pod_name} does not have a host assigned")
        spec = pod.get("spec") or {}
        containers = {c["name"]: c for c in spec.get("containers") or []}
        if not name:
            if len(containers) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {pod_name}, choose one of: {sorted(containers)}"
                )
            name = next(iter(containers))
        container = containers.get(name)
        if container is None:
            raise errors.bad_request(f"container {name} is not valid for pod {pod_name}")
        mounts = {}
        if (container.get("securityContext") or {}).get("privileged"):
            host_paths = {v["name"]: v["hostPath"]["path"] for v in spec.get("volumes") or [] if "hostPath" in v}
            for mount in container.get("volumeMounts") or []:
                if mount["name"] in host_paths:
                    mounts[mount["mountPath"]] = (root, host_paths[mount["name"]])
        return Container(mounts, self.c.at_rest)
