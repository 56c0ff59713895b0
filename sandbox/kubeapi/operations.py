"""The API semantics of one virtual cluster: get, list, create, replace, patch, apply, delete.

Both the HTTP layer and the in-process object API call these methods, so clients and simulated
controllers see exactly the same behaviour. Each method holds the store lock for its whole
read-modify-write, which makes every request atomic (the emulator never needs retries on
conflicts of its own making). Authorization happens before, in the HTTP layer.
"""

from __future__ import annotations

import base64
import copy
import json
import random

from . import errors, managedfields, meta
from .patch import APPLY, JSON_PATCH, MERGE, PATCH_TYPES, STRATEGIC, json_patch, merge_patch, strategic_merge_patch
from .resources import ResourceType
from .rules import KindRules
from .selectors import field_matcher, label_matcher
from .shapes import root_shape
from .store import Store

ORPHAN_FINALIZER = "orphan"
FOREGROUND_FINALIZER = "foregroundDeletion"
_NAMESPACES = ("", "namespaces")


class Operations:
    def __init__(self, store: Store, rules: KindRules, seed: int = 0):
        self.store = store
        self.rules = rules
        self._rng = random.Random(seed)

    # --- helpers --------------------------------------------------------------------------------

    @staticmethod
    def present(rt: ResourceType, obj: dict) -> dict:
        """A copy shown in the requested version (custom resources: only apiVersion differs)."""
        shown = copy.deepcopy(obj)
        shown["apiVersion"], shown["kind"] = rt.api_version, rt.kind
        return shown

    @staticmethod
    def view(rt: ResourceType, obj: dict) -> dict:
        """``obj`` shown in the requested version without copying it: a new top level over the
        stored values. Only for a caller that encodes it and lets it go (the HTTP layer's reads and
        watches); whoever may change what it gets takes :meth:`present`'s copy."""
        return {**obj, "apiVersion": rt.api_version, "kind": rt.kind}

    def _live(self, rt: ResourceType, namespace: str, name: str) -> dict:
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return obj

    @staticmethod
    def _check_body(rt: ResourceType, body, namespace: str, name: str | None = None) -> dict:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        if obj.get("apiVersion") and obj["apiVersion"] != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({obj['apiVersion']}) does not "
                f"match the expected API version ({rt.api_version})"
            )
        if obj.get("kind") and obj["kind"] != rt.kind:
            raise errors.bad_request(
                f"the kind in the data ({obj['kind']}) does not match the expected kind ({rt.kind})"
            )
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        m = meta.metadata(obj)
        if rt.namespaced:
            if m.get("namespace") and m["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            m["namespace"] = namespace
        else:
            m.pop("namespace", None)
        if name is not None:
            if m.get("name") and m["name"] != name:
                raise errors.bad_request(
                    f"the name of the object ({m['name']}) does not match the name on the URL ({name})"
                )
            m["name"] = name
        return obj

    @staticmethod
    def _strip_system(obj: dict, keep: tuple[str, ...] = ()) -> None:
        m = obj["metadata"]
        for field in meta.SYSTEM_FIELDS:
            if field not in ("name", "namespace") + keep:
                m.pop(field, None)

    def _validate(self, rt: ResourceType, obj: dict, old: dict | None) -> None:
        causes = meta.label_causes(obj["metadata"]) + self.rules.causes(rt, obj, old)
        if causes:
            raise errors.invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), causes)

    @staticmethod
    def _precondition(rt: ResourceType, live: dict, rv: str | None, required: bool) -> None:
        name = live["metadata"]["name"]
        if not rv:
            if required:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    name,
                    [errors.field_invalid("metadata.resourceVersion", 0, "must be specified for an update")],
                )
            return
        if rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)

    # --- reads ----------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str, *, view: bool = False) -> dict:
        """The object (``view``: as :meth:`view` shows it, else a copy)."""
        with self.store.lock:
            return (self.view if view else self.present)(rt, self._live(rt, namespace, name))

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
        view: bool = False,
    ) -> dict:
        """The matching objects, a page of them with ``limit`` (``view``: as :meth:`view` shows them, else copies)."""
        labels, fields = label_matcher(label_selector), field_matcher(field_selector, rt.key)
        with self.store.lock:
            rv = self.store.resource_version
            items = [
                o for o in self.store.objects(rt.key, namespace if rt.namespaced else None) if labels(o) and fields(o)
            ]
        list_meta: dict = {}
        if continue_token:
            rv, start = _decode_continue(continue_token)
            items = [o for o in items if _position(o) > start]
        if limit and len(items) > limit:
            items = items[:limit]
            list_meta["continue"] = _encode_continue(rv, _position(items[-1]))
        list_meta["resourceVersion"] = str(rv)
        return {
            "kind": rt.list_kind_name,
            "apiVersion": rt.api_version,
            "metadata": list_meta,
            "items": [(self.view if view else self.present)(rt, o) for o in items],
        }

    # --- create ---------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: dict, *, manager: str = "", dry_run: bool = False) -> dict:
        obj = self._check_body(rt, body, namespace)
        self._strip_system(obj)
        with self.store.lock:
            return self._create_locked(rt, namespace, obj, dry_run, manager)

    def _create_locked(self, rt: ResourceType, namespace: str, obj: dict, dry_run: bool, manager: str | None) -> dict:
        m = obj["metadata"]
        if rt.terminating:
            raise errors.method_not_allowed("create not allowed while custom resource definition is terminating")
        if not m.get("name"):
            if not m.get("generateName"):
                raise errors.invalid(
                    rt.kind, rt.group, "", [errors.field_required("metadata.name", "name or generateName is required")]
                )
            m["name"] = self._unique_name(rt, namespace, m["generateName"])
        meta.check_name(rt.name_rule, rt.kind, rt.group, m["name"])
        if rt.namespaced:
            self._require_active_namespace(rt, namespace, m["name"])
        if self.store.get(rt.key, namespace if rt.namespaced else "", m["name"]) is not None:
            raise errors.already_exists(rt.plural, rt.group, m["name"])
        if rt.status:
            obj.pop("status", None)
        self.rules.prepare(rt, obj, None)
        self._validate(rt, obj, None)
        m["uid"], m["creationTimestamp"] = meta.new_uid(), meta.now()
        if rt.generation:
            m["generation"] = 1
        if manager:
            managedfields.record_write(None, obj, rt, manager)
        if dry_run:
            return self.present(rt, obj)
        stored = self.store.put(rt.key, obj)
        self.rules.committed(rt, stored, removed=False)
        return self.present(rt, stored)

    def _unique_name(self, rt: ResourceType, namespace: str, prefix: str) -> str:
        for _ in range(8):
            name = meta.generated_name(prefix, self._rng)
            if self.store.get(rt.key, namespace if rt.namespaced else "", name) is None:
                return name
        raise errors.already_exists(rt.plural, rt.group, prefix)

    def _require_active_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        ns = self.store.get(_NAMESPACES, "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if meta.is_deleting(ns):
            raise errors.forbidden(
                f'{errors.qualified(rt.plural, rt.group)} "{name}" is forbidden: unable to create '
                f"new content in namespace {namespace} because it is being terminated",
                resource=rt.plural,
                group=rt.group,
                name=name,
            )

    # --- update: replace, patch, apply ----------------------------------------------------------

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: dict,
        *,
        subresource: str = "",
        manager: str = "",
        dry_run: bool = False,
    ) -> dict:
        obj = self._check_body(rt, body, namespace, name)
        with self.store.lock:
            live = self._live(rt, namespace, name)
            self._precondition(rt, live, obj["metadata"].get("resourceVersion"), required=rt.custom)
            new = self._merge_for_write(rt, live, obj, subresource)
            return self._update_locked(rt, live, new, subresource, dry_run, manager)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        doc,
        patch_type: str,
        *,
        subresource: str = "",
        manager: str = "",
        force: bool = False,
        dry_run: bool = False,
    ) -> tuple[dict, bool]:
        """Apply a patch document; returns ``(object, created)`` (only apply creates)."""
        if patch_type not in PATCH_TYPES:
            raise errors.unsupported_media_type(list(PATCH_TYPES))
        if patch_type == STRATEGIC and rt.custom:
            raise errors.unsupported_media_type([JSON_PATCH, MERGE, APPLY])
        if patch_type == APPLY:
            return self.apply(
                rt, namespace, name, doc, subresource=subresource, manager=manager, force=force, dry_run=dry_run
            )
        if force:
            raise errors.bad_request("force may only be set for apply patches")
        with self.store.lock:
            live = self._live(rt, namespace, name)
            current = self.present(rt, live)
            if patch_type == JSON_PATCH:
                patched = json_patch(current, doc)
            elif not isinstance(doc, dict):
                raise errors.bad_request("a merge patch must be a JSON object")
            elif patch_type == MERGE:
                patched = merge_patch(current, doc)
            else:
                patched = strategic_merge_patch(current, doc, root_shape(rt))
            obj = self._check_body(rt, patched, namespace, name)
            self._precondition(rt, live, obj["metadata"].get("resourceVersion"), required=False)
            new = self._merge_for_write(rt, live, obj, subresource)
            return self._update_locked(rt, live, new, subresource, dry_run, manager), False

    def apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        intent,
        *,
        subresource: str = "",
        manager: str = "",
        force: bool = False,
        dry_run: bool = False,
    ) -> tuple[dict, bool]:
        if not manager:
            raise errors.bad_request("PATCH requests with an apply patch require a fieldManager")
        if not isinstance(intent, dict) or not intent.get("apiVersion") or not intent.get("kind"):
            raise errors.bad_request("an apply configuration must be an object with apiVersion and kind")
        obj = self._check_body(rt, intent, namespace, name)
        with self.store.lock:
            live = self.store.get(rt.key, namespace if rt.namespaced else "", name)
            if live is None:
                if subresource:
                    raise errors.not_found(rt.plural, rt.group, name)
                self._strip_system(obj)
                created = managedfields.apply(None, obj, rt, manager, force)
                return self._create_locked(rt, namespace, created, dry_run, None), True
            self._precondition(rt, live, obj["metadata"].get("resourceVersion"), required=False)
            self._strip_system(obj)
            result = managedfields.apply(self.present(rt, live), obj, rt, manager, force, subresource)
            managed = result["metadata"].get("managedFields")
            new = self._merge_for_write(rt, live, result, subresource)
            new["metadata"].pop("managedFields", None)
            if managed:
                new["metadata"]["managedFields"] = managed
            return self._update_locked(rt, live, new, subresource, dry_run, None), False

    @staticmethod
    def _merge_for_write(rt: ResourceType, live: dict, incoming: dict, subresource: str) -> dict:
        """What a write may change: ``/status`` only status, ``/finalize`` only spec.finalizers,
        the main resource everything but server-owned metadata (and status if it has /status)."""
        if subresource in ("status", "finalize"):
            new = copy.deepcopy(live)
            if subresource == "finalize":
                new.setdefault("spec", {})["finalizers"] = (incoming.get("spec") or {}).get("finalizers") or []
            elif "status" in incoming:
                new["status"] = copy.deepcopy(incoming["status"])
            else:
                new.pop("status", None)
            return new
        new = incoming
        m, old_meta = new["metadata"], live["metadata"]
        for field in meta.SYSTEM_FIELDS:
            if field in old_meta:
                m[field] = copy.deepcopy(old_meta[field])
            else:
                m.pop(field, None)
        if rt.status:
            if "status" in live:
                new["status"] = copy.deepcopy(live["status"])
            else:
                new.pop("status", None)
        return new

    def _update_locked(
        self, rt: ResourceType, live: dict, new: dict, subresource: str, dry_run: bool, manager: str | None
    ) -> dict:
        if meta.is_deleting(live):
            added = [f for f in meta.finalizers(new) if f not in meta.finalizers(live)]
            if added:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    live["metadata"]["name"],
                    [
                        errors.field_forbidden(
                            "metadata.finalizers",
                            f"no new finalizers can be added if the object is being "
                            f"deleted, found new finalizers {added}",
                        )
                    ],
                )
        self.rules.prepare(rt, new, live, subresource)
        self._validate(rt, new, live)
        if rt.generation and _desired_state(rt, new) != _desired_state(rt, live):
            new["metadata"]["generation"] = live["metadata"].get("generation", 0) + 1
        if manager:
            managedfields.record_write(live, new, rt, manager, subresource)
        if meta.without_volatile(new) == meta.without_volatile(live) and not self.store.stale(rt.key, live):
            return self.present(rt, live)
        if dry_run:
            return self.present(rt, new)
        stored = self.store.put(rt.key, new)
        self.rules.committed(rt, stored, removed=False)
        if meta.is_deleting(stored) and not self.rules.pending_finalizers(rt, stored):
            self._remove(rt, stored)
        return self.present(rt, stored)

    # --- delete ---------------------------------------------------------------------------------

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        *,
        preconditions: dict | None = None,
        propagation: str | None = None,
        dry_run: bool = False,
    ) -> tuple[dict, bool]:
        """Delete or start deleting; returns ``(object, gone)``. Objects with finalizers (and
        namespaces, whose ``spec.finalizers`` hold them) get a deletionTimestamp and stay."""
        with self.store.lock:
            live = self._live(rt, namespace, name)
            self._check_delete_preconditions(rt, live, preconditions or {})
            new = copy.deepcopy(live)
            if not meta.is_deleting(live):
                extra = {"Orphan": ORPHAN_FINALIZER, "Foreground": FOREGROUND_FINALIZER}.get(propagation or "")
                if extra and extra not in meta.finalizers(new):
                    new["metadata"]["finalizers"] = meta.finalizers(new) + [extra]
            if not self.rules.pending_finalizers(rt, new):
                if dry_run:
                    return self.present(rt, live), True
                return self.present(rt, self._remove(rt, live)), True
            if meta.is_deleting(live):
                return self.present(rt, live), False
            new["metadata"]["deletionTimestamp"] = meta.now()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            self.rules.start_deletion(rt, new)
            if dry_run:
                return self.present(rt, new), False
            stored = self.store.put(rt.key, new)
            self.rules.committed(rt, stored, removed=False)
            return self.present(rt, stored), False

    @staticmethod
    def _check_delete_preconditions(rt: ResourceType, live: dict, pre: dict) -> None:
        m = live["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            if pre.get(field) and pre[field] != m.get(field):
                raise errors.conflict(
                    rt.plural,
                    rt.group,
                    m["name"],
                    f"Precondition failed: {label} in precondition: {pre[field]}, "
                    f"{label} in object meta: {m.get(field)}",
                )

    def _remove(self, rt: ResourceType, obj: dict) -> dict:
        gone = self.store.remove(rt.key, obj)
        self.rules.committed(rt, gone, removed=True)
        return gone

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        dry_run: bool = False,
    ) -> None:
        with self.store.lock:
            listed = self.list(rt, namespace, label_selector=label_selector, field_selector=field_selector)
            for item in listed["items"]:
                m = item["metadata"]
                self.delete(rt, m.get("namespace", ""), m["name"], dry_run=dry_run)


def _desired_state(rt: ResourceType, obj: dict) -> dict:
    """Everything that bumps ``metadata.generation`` when it changes."""
    skip = {"apiVersion", "kind", "metadata"} | ({"status"} if rt.status else set())
    return {k: v for k, v in obj.items() if k not in skip}


def _position(obj: dict) -> list[str]:
    return [obj["metadata"].get("namespace", ""), obj["metadata"]["name"]]


def _encode_continue(rv: int, position: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": position}).encode()).decode()


def _decode_continue(token: str) -> tuple[int, list[str]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), list(data["start"])
    except (ValueError, KeyError, TypeError):
        raise errors.bad_request("invalid continue token") from None
