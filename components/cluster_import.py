"""`fleetform import fleetform:index:RegisteredCluster NAME KIND:IDENTITY`: bring a cluster that already runs in
its cloud into the estate.

A cluster's declaration is its stack file entry (the program reads ``fleetform:clusters``), so importing one
writes that entry, as ``pulumi import`` writes the code to add: ``{name, kind, <the kind's identity fields>}``
(the kind's model names them, in its cloud API's order: ``eks:eu-west-1/prod-eks`` is region/cluster_name).
Before anything is written the entry must pass the stack file's schema and every stack rule (duplicate
names or identities, ...); then a preview runs the cluster's lookup in its cloud (exists, running, version,
the kind's rules, not registered twice). If the program or anything of the new cluster fails there, the file
is put back byte for byte and the lookup's error is the answer. Nothing is recorded in the state: the next
``up`` looks the cluster up again and registers it.
"""

from __future__ import annotations

from collections import Counter

from engine.errors import InvalidInputError
from engine.graph import top_of
from engine.importing import ImportedDeclaration
from engine.operations import StackOperations
from engine.stack_config import ConfigPath, StackFile

from .spec import CLUSTER_MODELS
from .spec.common import StackConfigError
from .spec.loading import spec_from_config

CLUSTER_TYPE = "fleetform:index:RegisteredCluster"


def import_cluster(ops: StackOperations, name: str, id_: str) -> ImportedDeclaration:
    entry = cluster_entry(name, id_)
    path = ops.project.stack_file(ops.stack)
    stack_file = StackFile(path, ops.project.name)
    clusters = ConfigPath.parse("clusters", ops.project.name, path=False)
    try:
        declared = stack_file.get(clusters)
    except InvalidInputError:  # no clusters yet
        declared = []
    for other in (c for c in declared if isinstance(c, dict)):
        if other.get("name") == name:
            raise InvalidInputError(f"{path} already declares a cluster named '{name}'; choose another NAME")
        if {k: other.get(k) for k in entry if k != "name"} == {k: v for k, v in entry.items() if k != "name"}:
            raise InvalidInputError(f"{path} already declares that {entry['kind']} cluster as '{other.get('name')}'")
    stack_file.set(ConfigPath(clusters.key, (len(declared),)), entry)
    try:
        spec_from_config(dict(stack_file.items()), str(path))
    except StackConfigError as exc:
        raise InvalidInputError(f"importing {name} would make the stack invalid:\n{exc}") from None
    original = path.read_bytes()
    stack_file.save()
    try:
        result = ops.preview()
    except BaseException:
        path.write_bytes(original)
        raise
    by_urn = {step.urn: step for step in result.steps}
    own = [s for s in result.steps if _top(s, by_urn) == (CLUSTER_TYPE, name)]
    failed = [s for s in own if s.error]
    if result.program_error is not None or failed or not own:
        path.write_bytes(original)
        reason = (
            str(result.program_error)
            if result.program_error is not None
            else "; ".join(f"{s.name}: {s.error}" for s in failed) or "the program declared nothing for it"
        )
        raise InvalidInputError(f"{name} was not imported (the stack file is unchanged): {reason}")
    counts = dict(Counter(str(step.op) for step in own))
    planned = ", ".join(f"{n} to {op}" for op, n in sorted(counts.items()))
    location = ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("name", "kind"))
    message = (
        f"found {entry['kind']} cluster {location} in its cloud and declared it as '{name}' in {path}\n"
        f"the next up registers it ({planned}): fleetform up -s {ops.stack}"
    )
    return ImportedDeclaration(message, {"file": str(path), "cluster": entry, "planned": counts})


def cluster_entry(name: str, id_: str) -> dict:
    """The stack file entry of cluster ``name`` located by ``id_`` (``KIND:IDENTITY``), or InvalidInputError
    naming the expected form."""
    kind, separator, location = id_.partition(":")
    cloud_kinds = sorted(k for k, model in CLUSTER_MODELS.items() if model.IDENTITY_FIELDS)
    if not separator or kind not in CLUSTER_MODELS:
        raise InvalidInputError(
            f"ID '{id_}': expected KIND:IDENTITY with KIND one of {', '.join(cloud_kinds)}, e.g. eks:eu-west-1/prod-eks"
        )
    fields = CLUSTER_MODELS[kind].IDENTITY_FIELDS
    if not fields:
        raise InvalidInputError(
            f"a {kind} cluster is not in a cloud that can be searched: declare it in the stack file with its "
            "kubeconfig (kubeconfig_file or kubeconfig_env) and run up"
        )
    values = location.split("/")
    if len(values) != len(fields) or not all(values):
        raise InvalidInputError(f"ID '{id_}': a {kind} cluster is located by {kind}:{'/'.join(fields)}")
    return {"name": name, "kind": kind, **dict(zip(fields, values, strict=True))}


def _top(step, by_urn: dict) -> tuple[str, str]:
    top = top_of(step, by_urn)
    return top.type, top.name
