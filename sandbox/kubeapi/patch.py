"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge patch and JSON patch (RFC 6902, through ``jsonpatch``).

Strategic merge patch, as supported here (built-in kinds only; custom resources get 415):

* maps merge recursively, ``null`` deletes a key (as merge patch);
* keyed lists (see :mod:`shapes`) merge item by item on their key; an item ``{"$patch":
  "delete", <key>}`` removes the matching item; unkeyed lists are replaced;
* ``metadata.finalizers`` merges as a set (upstream's ``patchStrategy: merge`` on a list of
  strings) and ``$deleteFromPrimitiveList/<field>`` removes values from such a list;
* ``{"$patch": "replace"}`` inside a map replaces that map instead of merging;
* ``$setElementOrder/<field>`` orders the items it names (those only the server has keep their
  places); ``$retainKeys`` is accepted and ignored.
"""

from __future__ import annotations

import copy
import json

import jsonpatch
import jsonpointer

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
    for key, order in patch.items():
        field = key.split("/", 1)[1] if key.startswith("$setElementOrder/") else None
        if field and isinstance(result.get(field), list) and isinstance(order, list):
            result[field] = _in_order(result[field], order, shape.field(field))
    return result


def _in_order(items: list, order: list, shape) -> list:
    """``$setElementOrder``: the items the order names take its order, in the places those items
    hold; items only the server has keep theirs."""
    keys = shape.list_keys(items + [o for o in order if isinstance(o, dict)]) or ()

    def ident(item):
        return tuple(item.get(k) for k in keys) if keys and isinstance(item, dict) else json.dumps(item, sort_keys=True)

    rank = {ident(o): n for n, o in enumerate(order)}
    slots = [n for n, item in enumerate(items) if ident(item) in rank]
    ordered = sorted((items[n] for n in slots), key=lambda item: rank[ident(item)])
    result = list(items)
    for slot, item in zip(slots, ordered, strict=True):
        result[slot] = item
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


def json_patch(doc, operations) -> dict:
    """``operations`` applied to a copy of ``doc`` (the ``jsonpatch`` library); a malformed or failing
    operation is 422 Invalid, as the API server answers."""
    if not isinstance(operations, list):
        raise errors.bad_request("a JSON patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(doc, operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise errors.ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
