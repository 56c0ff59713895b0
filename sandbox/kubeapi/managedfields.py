"""Field ownership (``metadata.managedFields``) and server-side apply.

Ownership is tracked per manager entry ``(manager, operation, subresource)`` at the granularity
of *leaf* paths: scalars, atomic lists and empty maps are leaves; maps recurse; keyed lists (see
:mod:`shapes`) recurse item by item. A path is a tuple of ``fieldsV1`` elements: ``"f:<field>"``
for a map field and ``'k:{"name":"x"}'`` for a keyed list item, so entries serialise straight to
the upstream ``FieldsV1`` format.

* A create or non-apply write (``operation: Update``) gives the writer every leaf it set or
  changed; other managers lose those leaves. Removed leaves leave every manager.
* Apply (:func:`apply`) computes the leaves of the applied configuration, refuses with a 409
  listing each leaf another manager owns with a different value (unless ``force``, which moves
  ownership), removes the leaves this manager applied last time but no longer applies (unless
  someone else owns them; a keyed item left with only unowned fields - server defaults - goes
  with them), and merges the configuration into the object. Equal values end up
  shared. Lists of scalars are atomic (upstream ``set`` lists are not merged per value).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from . import errors, meta
from .resources import ResourceType
from .shapes import root_shape

Path = tuple[str, ...]
_MISSING = object()
_UNTRACKED_META = set(meta.SYSTEM_FIELDS) | {"generateName"}


@dataclass
class Entry:
    manager: str
    operation: str
    subresource: str
    api_version: str
    time: str
    fields: set[Path] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def render(self) -> dict:
        out = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if self.subresource:
            out["subresource"] = self.subresource
        return out


# --- paths --------------------------------------------------------------------------------------


def _item_element(item: dict, keys: tuple[str, ...]) -> str:
    return "k:" + json.dumps({k: item[k] for k in keys}, separators=(",", ":"))


def leaves(value, shape, prefix: Path = ()) -> set[Path]:
    if isinstance(value, dict) and value:
        out: set[Path] = set()
        for key, child in value.items():
            out |= leaves(child, shape.field(key), prefix + ("f:" + key,))
        return out
    if isinstance(value, list) and value and (keys := shape.list_keys(value)):
        out = set()
        for item in value:
            out |= leaves(item, shape.item(), prefix + (_item_element(item, keys),))
        return out
    return {prefix}


def _child(node, element: str):
    if element.startswith("f:"):
        return node.get(element[2:], _MISSING) if isinstance(node, dict) else _MISSING
    if not isinstance(node, list):
        return _MISSING
    ident = json.loads(element[2:])
    return next((i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in ident.items())), _MISSING)


def value_at(obj, path: Path):
    node = obj
    for element in path:
        node = _child(node, element)
        if node is _MISSING:
            break
    return node


def _delete_child(parent, element: str) -> None:
    if element.startswith("f:"):
        parent.pop(element[2:], None)
    else:
        target = _child(parent, element)
        parent[:] = [i for i in parent if i is not target]


def _hollow(node, element: str) -> bool:
    """A container the pruning emptied: an empty map/list or a keyed item holding only its key."""
    if isinstance(node, list):
        return not node
    if not isinstance(node, dict):
        return False
    if element.startswith("k:"):
        return set(node) <= set(json.loads(element[2:]))
    return not node


def _unowned_item(item_path: Path, owned: set[Path]) -> bool:
    """A keyed list item none of whose fields (its key aside) anyone owns: what is left in it
    are server defaults, which go with the item, as upstream."""
    return item_path[-1].startswith("k:") and not any(
        p[: len(item_path)] == item_path and len(p) > len(item_path) and not _is_item_key(p) for p in owned
    )


def _remove_leaf(root: dict, path: Path, owned: set[Path] = frozenset()) -> None:
    nodes = [root]
    for element in path:
        child = _child(nodes[-1], element)
        if child is _MISSING:
            return
        nodes.append(child)
    _delete_child(nodes[-2], path[-1])
    for depth in range(len(path) - 1, 0, -1):
        if not (_hollow(nodes[depth], path[depth - 1]) or _unowned_item(path[:depth], owned)):
            break
        _delete_child(nodes[depth - 1], path[depth - 1])


def _is_item_key(path: Path) -> bool:
    return len(path) >= 2 and path[-2].startswith("k:") and path[-1][2:] in json.loads(path[-2][2:])


def to_fields_v1(paths: set[Path]) -> dict:
    root: dict = {}
    for path in paths:
        node = root
        for element in path:
            node = node.setdefault(element, {})
        node["."] = {}
    return _tidy(root)


def _tidy(node: dict) -> dict:
    """Leaves render as ``{}``; ``"."`` stays only on nodes that also have children."""
    children = {k: _tidy(v) for k, v in node.items() if k != "."}
    if "." in node and children:
        return {".": {}, **children}
    return children


def from_fields_v1(tree: dict, prefix: Path = ()) -> set[Path]:
    children = {k: v for k, v in tree.items() if k != "."}
    if not children:
        return {prefix} if prefix else set()
    out = {prefix} if "." in tree and prefix else set()
    for element, sub in children.items():
        out |= from_fields_v1(sub or {}, prefix + (element,))
    return out


def render_path(path: Path) -> str:
    """``.spec.containers[name="app"].image``, the way upstream names conflicting fields."""
    text = ""
    for element in path:
        if element.startswith("f:"):
            text += "." + element[2:]
        else:
            text += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(element[2:]).items()) + "]"
    return text


# --- entries ------------------------------------------------------------------------------------


def read(obj: dict) -> list[Entry]:
    entries = []
    for raw in obj.get("metadata", {}).get("managedFields") or []:
        if not isinstance(raw, dict) or not raw.get("manager"):
            continue
        entries.append(
            Entry(
                raw["manager"],
                raw.get("operation", "Update"),
                raw.get("subresource", ""),
                raw.get("apiVersion", ""),
                raw.get("time", ""),
                from_fields_v1(raw.get("fieldsV1") or {}),
            )
        )
    return entries


def write(obj: dict, entries: list[Entry]) -> None:
    rendered = [e.render() for e in entries if e.fields]
    if rendered:
        obj["metadata"]["managedFields"] = rendered
    else:
        obj["metadata"].pop("managedFields", None)


def trackable(obj: dict | None, rtype: ResourceType, subresource: str) -> dict:
    """The part of an object whose ownership is tracked for a write to ``subresource``."""
    obj = obj or {}
    if subresource == "status":
        return {"status": obj["status"]} if "status" in obj else {}
    out = {
        k: v
        for k, v in obj.items()
        if k not in ("apiVersion", "kind", "metadata") and not (rtype.status and k == "status")
    }
    tracked_meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in _UNTRACKED_META}
    if tracked_meta:
        out["metadata"] = tracked_meta
    return out


def _find(entries: list[Entry], key) -> Entry | None:
    return next((e for e in entries if e.key == key), None)


def record_write(old: dict | None, new: dict, rtype: ResourceType, manager: str, subresource: str = "") -> None:
    """Update ``new``'s managedFields for a create (``old`` None) or non-apply write."""
    shape = root_shape(rtype)
    old_t, new_t = trackable(old, rtype, subresource), trackable(new, rtype, subresource)
    old_leaves, new_leaves = leaves(old_t, shape), leaves(new_t, shape)
    changed = {p for p in new_leaves if p and value_at(old_t, p) != value_at(new_t, p)}
    removed = old_leaves - new_leaves
    entries = read(old) if old else []
    key = (manager, "Update", subresource)
    for entry in entries:
        entry.fields -= removed
        if entry.key != key:
            entry.fields -= changed
    if changed:
        mine = _find(entries, key)
        if mine is None:
            mine = Entry(manager, "Update", subresource, "", "")
            entries.append(mine)
        mine.fields |= changed
        mine.api_version, mine.time = new.get("apiVersion", ""), meta.now()
    write(new, entries)


def _drop_nulls(value):
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _merge(live, intent, shape):
    if isinstance(intent, dict) and isinstance(live, dict):
        out = dict(live)
        for key, value in intent.items():
            out[key] = _merge(live.get(key, _MISSING), value, shape.field(key))
        return out
    if isinstance(intent, list) and isinstance(live, list) and (keys := shape.list_keys(intent + live)):
        ident = lambda item: tuple(item[k] for k in keys)  # noqa: E731
        by_id = {ident(item): item for item in live}
        merged = [_merge(by_id.get(ident(item), _MISSING), item, shape.item()) for item in intent]
        applied = {ident(item) for item in intent}
        return merged + [item for item in live if ident(item) not in applied]
    return copy.deepcopy(intent)


def _owned_elsewhere(path: Path, others: set[Path]) -> bool:
    return any(p[: len(path)] == path or path[: len(p)] == p for p in others)


def apply(
    live: dict | None, intent: dict, rtype: ResourceType, manager: str, force: bool, subresource: str = ""
) -> dict:
    """Server-side apply of ``intent`` onto ``live`` (None: creation). Returns the new object
    with its managedFields set; raises a 409 Conflict listing fields owned by other managers."""
    shape = root_shape(rtype)
    intent = _drop_nulls(intent)
    intent_t = trackable(intent, rtype, subresource)
    live_t = trackable(live, rtype, subresource)
    applied = leaves(intent_t, shape) if intent_t else set()
    entries = read(live) if live else []
    key = (manager, "Apply", subresource)

    conflicts = sorted(
        {
            (e.manager, p)
            for e in entries
            if e.key != key
            for p in e.fields & applied
            if value_at(live_t, p) != value_at(intent_t, p)
        }
    )
    if conflicts and not force:
        raise _conflict_error(conflicts, rtype, intent)
    for entry in entries:
        if entry.key != key:
            entry.fields -= {p for _, p in conflicts}

    mine = _find(entries, key)
    previous = mine.fields if mine else set()
    others = {p for e in entries if e.key != key for p in e.fields}
    result = copy.deepcopy(live) if live else {}
    for path in sorted(previous - applied, key=len, reverse=True):
        if not _is_item_key(path) and not _owned_elsewhere(path, others):
            _remove_leaf(result, path, others | applied)
    result = _merge(result, intent_t, shape)
    for top in ("apiVersion", "kind"):
        result[top] = intent.get(top, result.get(top))
    result.setdefault("metadata", {})
    for name in ("name", "namespace", "generateName"):
        if name in intent.get("metadata", {}) and name not in result["metadata"]:
            result["metadata"][name] = intent["metadata"][name]

    if mine is None:
        mine = Entry(manager, "Apply", subresource, "", "")
        entries.append(mine)
    mine.fields, mine.api_version, mine.time = applied, intent.get("apiVersion", ""), meta.now()
    write(result, entries)
    return result


def _conflict_error(conflicts, rtype: ResourceType, intent: dict) -> errors.ApiError:
    name = intent.get("metadata", {}).get("name", "")
    lines = [f'conflict with "{m}": {render_path(p)}' for m, p in conflicts]
    noun = "conflict" if len(conflicts) == 1 else "conflicts"
    causes = [
        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": render_path(p)}
        for m, p in conflicts
    ]
    return errors.ApiError(
        409,
        "Conflict",
        f"Apply failed with {len(conflicts)} {noun}: " + "\n".join(lines),
        name=name,
        group=rtype.group,
        kind=rtype.plural,
        causes=causes,
    )
