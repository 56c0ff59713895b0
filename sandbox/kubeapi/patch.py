"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch and JSON patch (RFC 6902).

Strategic merge patch, as supported here (built-in kinds only; custom resources get 415):

* maps merge recursively, ``null`` deletes a key (as merge patch);
* keyed lists (see :mod:`shapes`) merge item by item on their key; an item ``{"$patch":
  "delete", <key>}`` removes the matching item; unkeyed lists are replaced;
* ``metadata.finalizers`` merges as a set (upstream's ``patchStrategy: merge`` on a list of
  strings) and ``$deleteFromPrimitiveList/<field>`` removes values from such a list;
* ``{"$patch": "replace"}`` inside a map replaces that map instead of merging;
* ``$setElementOrder/<field>`` and ``$retainKeys`` directives are accepted and ignored.
"""

from __future__ import annotations

import copy

from . import errors

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target, patch, shape):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    removals = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            removals[key.split("/", 1)[1]] = value or []
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, shape.field(key))
        else:
            result[key] = strategic_merge_patch(result.get(key), value, shape.field(key))
    for key, values in removals.items():
        if isinstance(result.get(key), list):
            result[key] = [v for v in result[key] if v not in values]
    return result


def _merge_list(current, patch: list, shape) -> list:
    current = current if isinstance(current, list) else []
    items = [i for i in patch if not (isinstance(i, dict) and i.get("$patch") == "delete")]
    keys = shape.list_keys(current + patch)
    if keys:
        result = list(current)
        for item in patch:
            ident = tuple(item.get(k) for k in keys)
            index = next((n for n, old in enumerate(result) if tuple(old.get(k) for k in keys) == ident), None)
            if item.get("$patch") == "delete":
                if index is not None:
                    result.pop(index)
            elif index is None:
                result.append(strategic_merge_patch({}, item, shape.item()))
            else:
                result[index] = strategic_merge_patch(result[index], item, shape.item())
        return result
    if shape.merges_scalars:
        return list(dict.fromkeys(current + items))
    return copy.deepcopy(items)


# --- RFC 6902 -----------------------------------------------------------------------------------


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise _patch_error(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _patch_error(message: str) -> errors.ApiError:
    return errors.ApiError(422, "Invalid", f"the server rejected our request due to an error in our request: {message}")


def _index(container: list, token: str, *, for_insert: bool) -> int:
    if token == "-" and for_insert:
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise _patch_error(f"invalid array index {token!r}")
    index = int(token)
    if index > len(container) or (index == len(container) and not for_insert):
        raise _patch_error(f"array index {index} out of bounds")
    return index


def _parent(doc, tokens: list[str]):
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, for_insert=False)]
        else:
            raise _patch_error(f"path /{'/'.join(tokens)} does not exist")
    return node


def _get(doc, tokens: list[str]):
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, for_insert=False)]
    raise _patch_error(f"path /{'/'.join(tokens)} does not exist")


def _add(doc, tokens: list[str], value):
    if not tokens:
        return value
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, for_insert=True), value)
    else:
        raise _patch_error(f"cannot add to a scalar at /{'/'.join(tokens)}")
    return doc


def _remove(doc, tokens: list[str]):
    if not tokens:
        raise _patch_error("cannot remove the whole document")
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, for_insert=False))
    raise _patch_error(f"path /{'/'.join(tokens)} does not exist")


def json_patch(doc, operations) -> dict:
    if not isinstance(operations, list):
        raise errors.bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise _patch_error(f"malformed operation {op!r}")
        kind, tokens = op["op"], _pointer(op["path"])
        if kind in ("add", "replace", "test") and "value" not in op:
            raise _patch_error(f"operation {kind} needs a value")
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            _get(doc, tokens)
            if tokens:
                _remove(doc, tokens)
            doc = _add(doc, tokens, copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            source = _pointer(op.get("from", ""))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_get(doc, source))
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op["value"]:
                raise _patch_error(f"test operation failed at {op['path']}")
        else:
            raise _patch_error(f"unknown operation {kind!r}")
    return doc
