"""Server-side printing: ``Accept: application/json;as=Table;g=meta.k8s.io;v=v1``.

kubectl asks for Tables and prints their cells; the columns here are those of the upstream
printers (Kubernetes 1.29) for the common kinds, a custom resource's
``additionalPrinterColumns`` (simple ``.a.b[0].c`` JSON paths), and Name/Age for the rest. Rows
carry the object as ``PartialObjectMetadata`` (``includeObject=Metadata``, the default), in
full (``Object``) or not at all (``None``).

Shortcuts: wide (priority 1) columns only where listed below; Pod readiness comes from
``status.containerStatuses``.
"""

from __future__ import annotations

import datetime as dt
import re

from . import errors

_NAME = {"name": "Name", "type": "string", "format": "name", "priority": 0}
_AGE = {"name": "Age", "type": "string", "format": "", "priority": 0}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept.replace(" ", "")


def human_age(timestamp: str | None, now: dt.datetime | None = None) -> str:
    """Upstream's short duration format (``45s``, ``3m20s``, ``5h``, ``12d``, ``2y30d``)."""
    if not timestamp:
        return "<unknown>"
    then = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    seconds = int(((now or dt.datetime.now(dt.UTC)) - then).total_seconds())
    if seconds < 0:
        return "0s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"


def _g(obj: dict, *path, default=None):
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return default if obj is None else obj


def _col(name: str, kind: str = "string", priority: int = 0) -> dict:
    return {"name": name, "type": kind, "format": "", "priority": priority}


def _ports(o: dict) -> str:
    ports = [
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
        for p in _g(o, "spec", "ports", default=[])
    ]
    return ",".join(ports) or "<none>"


def _external_ip(o: dict) -> str:
    ingress = [i.get("ip") or i.get("hostname") for i in _g(o, "status", "loadBalancer", "ingress", default=[])]
    if ingress:
        return ",".join(filter(None, ingress))
    if _g(o, "spec", "type") == "LoadBalancer":
        return "<pending>"
    return ",".join(_g(o, "spec", "externalIPs", default=[])) or "<none>"


def _pod_ready(o: dict) -> str:
    statuses = _g(o, "status", "containerStatuses", default=[])
    total = len(_g(o, "spec", "containers", default=[]))
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _containers(o: dict, key: str) -> str:
    return ",".join(c.get(key, "") for c in _g(o, "spec", "template", "spec", "containers", default=[]))


def _node_status(o: dict) -> str:
    ready = next((c for c in _g(o, "status", "conditions", default=[]) if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    return status + (",SchedulingDisabled" if _g(o, "spec", "unschedulable") else "")


def _roles(o: dict) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = [k[len(prefix) :] for k in _g(o, "metadata", "labels", default={}) if k.startswith(prefix)]
    return ",".join(sorted(roles)) or "<none>"


# {(group, plural): [(column, cell function)]} - Name first and Age where upstream has it.
_AGE_CELL = (_AGE, lambda o: human_age(_g(o, "metadata", "creationTimestamp")))
_NAME_CELL = (_NAME, lambda o: _g(o, "metadata", "name"))
_COLUMNS = {
    ("", "namespaces"): [(_col("Status"), lambda o: _g(o, "status", "phase", default=""))],
    ("", "configmaps"): [
        (_col("Data", "integer"), lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))
    ],
    ("", "secrets"): [
        (_col("Type"), lambda o: o.get("type", "")),
        (_col("Data", "integer"), lambda o: len(o.get("data") or {})),
    ],
    ("", "serviceaccounts"): [(_col("Secrets", "integer"), lambda o: len(o.get("secrets") or []))],
    ("", "services"): [
        (_col("Type"), lambda o: _g(o, "spec", "type", default="")),
        (_col("Cluster-IP"), lambda o: _g(o, "spec", "clusterIP", default="<none>")),
        (_col("External-IP"), _external_ip),
        (_col("Port(s)"), _ports),
    ],
    ("", "pods"): [
        (_col("Ready"), _pod_ready),
        (_col("Status"), lambda o: _g(o, "status", "phase", default="Pending")),
        (
            _col("Restarts", "integer"),
            lambda o: sum(s.get("restartCount", 0) for s in _g(o, "status", "containerStatuses", default=[])),
        ),
    ],
    ("", "nodes"): [(_col("Status"), _node_status), (_col("Roles"), _roles)],
    ("", "persistentvolumeclaims"): [
        (_col("Status"), lambda o: _g(o, "status", "phase", default="Pending")),
        (_col("Volume"), lambda o: _g(o, "spec", "volumeName", default="")),
    ],
    ("apps", "deployments"): [
        (
            _col("Ready"),
            lambda o: f"{_g(o, 'status', 'readyReplicas', default=0)}/{_g(o, 'spec', 'replicas', default=0)}",
        ),
        (_col("Up-to-date", "integer"), lambda o: _g(o, "status", "updatedReplicas", default=0)),
        (_col("Available", "integer"), lambda o: _g(o, "status", "availableReplicas", default=0)),
    ],
    ("apps", "replicasets"): [
        (_col("Desired", "integer"), lambda o: _g(o, "spec", "replicas", default=0)),
        (_col("Current", "integer"), lambda o: _g(o, "status", "replicas", default=0)),
        (_col("Ready", "integer"), lambda o: _g(o, "status", "readyReplicas", default=0)),
    ],
    ("apps", "statefulsets"): [
        (
            _col("Ready"),
            lambda o: f"{_g(o, 'status', 'readyReplicas', default=0)}/{_g(o, 'spec', 'replicas', default=0)}",
        ),
    ],
    ("apps", "daemonsets"): [
        (_col("Desired", "integer"), lambda o: _g(o, "status", "desiredNumberScheduled", default=0)),
        (_col("Current", "integer"), lambda o: _g(o, "status", "currentNumberScheduled", default=0)),
        (_col("Ready", "integer"), lambda o: _g(o, "status", "numberReady", default=0)),
        (_col("Up-to-date", "integer"), lambda o: _g(o, "status", "updatedNumberScheduled", default=0)),
        (_col("Available", "integer"), lambda o: _g(o, "status", "numberAvailable", default=0)),
    ],
    ("batch", "jobs"): [
        (
            _col("Completions"),
            lambda o: f"{_g(o, 'status', 'succeeded', default=0)}/{_g(o, 'spec', 'completions', default=1)}",
        ),
    ],
}
_WIDE = {
    ("apps", "deployments"): [
        (_col("Containers", priority=1), lambda o: _containers(o, "name")),
        (_col("Images", priority=1), lambda o: _containers(o, "image")),
        (
            _col("Selector", priority=1),
            lambda o: ",".join(f"{k}={v}" for k, v in _g(o, "spec", "selector", "matchLabels", default={}).items()),
        ),
    ],
    ("", "nodes"): [(_col("Version", priority=0), lambda o: _g(o, "status", "nodeInfo", "kubeletVersion", default=""))],
}
_JSON_PATH = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


def json_path(obj, path: str):
    """The value at a simple JSON path (``.status.replicas``, ``.spec.containers[0].image``), or None."""
    for key, index in _JSON_PATH.findall(path):
        if key:
            obj = obj.get(key) if isinstance(obj, dict) else None
        else:
            obj = obj[int(index)] if isinstance(obj, list) and int(index) < len(obj) else None
    return obj


def _custom_cells(rt) -> list:
    cells = []
    for column in rt.printer_columns:
        kind, path = column.get("type", "string"), column.get("jsonPath", "")

        def cell(o, kind=kind, path=path):
            value = json_path(o, path)
            if kind == "date":
                return human_age(value) if value else "<unknown>"
            return value if value is not None else None

        definition = {
            "name": column["name"],
            "type": "string" if kind == "date" else kind,
            "format": column.get("format", ""),
            "description": column.get("description", ""),
            "priority": column.get("priority", 0),
        }
        cells.append((definition, cell))
    return cells


def _cells(rt) -> list:
    if rt.custom:
        custom = _custom_cells(rt)
        return [_NAME_CELL] + (custom or [_AGE_CELL])
    if rt.key == ("", "events"):
        return [
            (_col("Last Seen"), lambda o: human_age(o.get("lastTimestamp") or _g(o, "metadata", "creationTimestamp"))),
            (_col("Type"), lambda o: o.get("type", "")),
            (_col("Reason"), lambda o: o.get("reason", "")),
            (
                _col("Object"),
                lambda o: (
                    f"{_g(o, 'involvedObject', 'kind', default='').lower()}/{_g(o, 'involvedObject', 'name', default='')}"
                ),
            ),
            (_col("Message"), lambda o: o.get("message", "")),
        ]
    return [_NAME_CELL] + _COLUMNS.get(rt.key, []) + [_AGE_CELL] + _WIDE.get(rt.key, [])


def _row_object(rt, obj: dict, include: str):
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(rt, doc: dict, include: str = "") -> dict:
    """The Table for a list (``items``) or a single object ``doc``."""
    include = include or "Metadata"
    if include not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f'includeObject "{include}" is not one of None, Metadata, Object')
    cells = _cells(rt)
    objects = doc.get("items", [doc])
    meta = {k: v for k, v in doc["metadata"].items() if k in ("resourceVersion", "continue")} if "items" in doc else {}
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": [{"description": "", **column} for column, _ in cells],
        "rows": [{"cells": [get(o) for _, get in cells], "object": _row_object(rt, o, include)} for o in objects],
    }
