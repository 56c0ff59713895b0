"""Built-in implementation of ``pulumi_kubernetes`` resource types for the embedded engine.

Resources of type ``kubernetes:<group>/<version>:<Kind>`` are applied by server-side apply, read
back on refresh, and deleted with a wait for the object to be gone. The provider behaves as
pulumi-kubernetes does where it matters to a program: objects without ``metadata.name`` are
auto-named ``<resource name>-<8 random characters>`` with the ``pulumi.com/autonamed`` annotation;
namespaced objects without a namespace land in the provider's default namespace; creates and
updates wait for the kinds pulumi-kubernetes waits for (Deployments available, LoadBalancer
Services given an address, CRDs established), bounded by ``pulumi.com/timeoutSeconds`` or the
default, and skipped with ``pulumi.com/skipAwait: "true"``.

Field ownership, as pulumi-kubernetes's annotations say:

* ``pulumi.com/patchFieldManager``: the field manager this resource applies as (default
  ``pulumi-kubernetes``). Resources that share one object (each setting its own labels, say) give
  themselves different managers, so that one's apply does not remove what the other set.
* ``pulumi.com/patchForce: "true"``: take over fields another manager owns. Without it such a
  conflict fails the step with the server's 409 naming the other manager, as in pulumi-kubernetes.
  One exception: a resource that names its own manager takes over, by a forced re-apply, fields
  whose only other owner is the default manager (``pulumi-kubernetes``): that is the same resource
  as written before it had a manager of its own (an upgrade), not another owner.
  Not forcing is the default because forcing is not needed for what it used to be for here, a
  create after an interrupted run: the object left behind is owned by the same manager, so the
  re-apply adopts it without conflict. Forcing by default would instead let two owners that
  disagree on a field (two resources, or a resource and ``kubectl edit``) silently overwrite each
  other on every run.

These two annotations instruct the provider and are not written to the cluster: sent, they would
themselves be a field the owners of one object disagree on. (pulumi-kubernetes sends them.)

Connections go through :mod:`kubeclient` (one per cluster per process, shared with fleetform's
providers); its errors become :class:`ProviderError`.
"""

from __future__ import annotations

import logging
import re
import secrets as random_source
import threading
import time
from typing import Any

from kubeclient import (
    DELETE_UNREACHABLE_ENV,
    KubeClientError,
    Kubeconfig,
    KubeconfigError,
    RestClient,
    Unreachable,
    delete_unreachable,
)

from . import progress
from .diff import diff_properties, restrict_to
from .kubernetes_import import declared_fields
from .numbers import whole_numbers
from .providers import CheckFailure, DiffOutcome, Found, Imported, ProviderError, UnreachableError
from .secrets import UNKNOWN, is_secret, wrap_secret

FIELD_MANAGER = "pulumi-kubernetes"
PATCH_FIELD_MANAGER = "pulumi.com/patchFieldManager"
PATCH_FORCE = "pulumi.com/patchForce"
_CONFLICT_OWNER = re.compile(r'conflict with "([^"]+)"')
AUTONAMED = "pulumi.com/autonamed"
SKIP_AWAIT = "pulumi.com/skipAwait"
TIMEOUT_SECONDS = "pulumi.com/timeoutSeconds"
DEFAULT_AWAIT_SECONDS = 600
log = logging.getLogger("fleetform.kubernetes")
_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def type_to_api_version(type_: str) -> tuple[str, str]:
    """``kubernetes:apps/v1:Deployment`` -> (``apps/v1``, ``Deployment``); the core group is ``v1``."""
    _package, group_version, kind = type_.split(":", 2)
    if group_version.startswith("core/"):
        group_version = group_version[len("core/") :]
    return group_version, kind


class KubeApiError(ProviderError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class KubernetesProvider:
    """One Kubernetes provider configuration (a ``pulumi:providers:kubernetes`` resource or the default)."""

    def __init__(self, config: dict | None):
        config = config or {}
        self._kubeconfig_source = config.get("kubeconfig")
        self._context = config.get("context")
        self._namespace = config.get("namespace")
        # pulumi-kubernetes's deleteUnreachable: objects of a cluster that cannot be reached any more leave
        # the state on delete (with a notice) instead of failing every destroy
        self._delete_unreachable = delete_unreachable(config.get("deleteUnreachable"))
        self._parsed: Kubeconfig | None = None
        self._rest: RestClient | None = None
        self._kinds: dict[tuple[str, str], tuple[str, bool]] = {}
        self._lock = threading.Lock()

    # -- connection ------------------------------------------------------------------------------
    def _kubeconfig(self) -> Kubeconfig:
        """Parsed on first use (the default namespace asks for it on every call)."""
        source = self._kubeconfig_source
        if source == UNKNOWN:
            raise ProviderError("the kubernetes provider's kubeconfig is not known yet")
        if self._parsed is None:
            try:
                if source in (None, ""):
                    self._parsed = Kubeconfig.from_default_location("the kubernetes provider (no kubeconfig given)")
                else:
                    self._parsed = Kubeconfig.load(source, "the kubernetes provider")
            except KubeClientError as exc:
                raise ProviderError(str(exc)) from exc
        return self._parsed

    def _request(self, method: str, path: str, **kwargs) -> tuple[int, Any]:
        """One request through the shared client (built on first use); no answer is a ProviderError."""
        try:
            with self._lock:
                if self._rest is None:
                    self._rest = RestClient(self._kubeconfig(), self._context)
            return self._rest.request(method, path, **kwargs)
        except KubeClientError as exc:
            raise ProviderError(str(exc)) from exc

    def _default_namespace(self) -> str:
        if self._namespace:
            return self._namespace
        try:
            return self._kubeconfig().context(self._context).namespace
        except (ProviderError, KubeClientError):
            return "default"

    def configured(self) -> bool:
        return self._kubeconfig_source != UNKNOWN

    # -- discovery -------------------------------------------------------------------------------
    def _kind_info(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural, namespaced) of a kind, from the server's discovery documents."""
        key = (api_version, kind)
        if key not in self._kinds:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            status, data = self._request("GET", path)
            if status != 404:  # 404: the group is not served; anything else but 200 is no answer about it
                _raise_for(status, data, f"discover the kinds of {api_version}")
                for entry in data.get("resources", []):
                    if "/" not in entry["name"]:
                        self._kinds[(api_version, entry["kind"])] = (entry["name"], bool(entry["namespaced"]))
            if key not in self._kinds:
                raise ProviderError(
                    f"the API server does not serve {kind} in {api_version} (is its CustomResourceDefinition installed?)"
                )
        return self._kinds[key]

    def _path(self, api_version: str, kind: str, name: str, namespace: str | None) -> str:
        plural, namespaced = self._kind_info(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            base += f"/namespaces/{namespace or self._default_namespace()}"
        return f"{base}/{plural}/{name}"

    # -- provider interface ----------------------------------------------------------------------
    def check(self, urn: str, olds: dict, news: dict) -> tuple[dict, list[CheckFailure]]:
        obj = _plain_object(news)
        metadata = dict(obj.get("metadata") or {})
        if not metadata.get("name"):
            old_meta = (olds or {}).get("metadata") or {}
            annotations = dict(metadata.get("annotations") or {})
            if old_meta.get("name") and (old_meta.get("annotations") or {}).get(AUTONAMED) == "true":
                metadata["name"] = old_meta["name"]
            else:
                suffix = "".join(random_source.choice(_NAME_ALPHABET) for _ in range(8))
                metadata["name"] = f"{urn.rsplit('::', 1)[-1]}-{suffix}"
            annotations[AUTONAMED] = "true"
            metadata["annotations"] = annotations
        obj["metadata"] = metadata
        failures = [CheckFailure(f, "required") for f in ("apiVersion", "kind") if not obj.get(f)]
        return _keep_secrets(obj, news), failures

    def diff(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> DiffOutcome:
        # only what decides a replacement is read: unwrapping whole objects (CRDs' schemas) showed in profiles
        old, new = _replacement_keys(old_inputs), _replacement_keys(new_inputs)
        replaces = [
            path
            for path, a, b in (
                ("kind", old.get("kind"), new.get("kind")),
                ("metadata.name", (old.get("metadata") or {}).get("name"), (new.get("metadata") or {}).get("name")),
                (
                    "metadata.namespace",
                    (old.get("metadata") or {}).get("namespace"),
                    (new.get("metadata") or {}).get("namespace"),
                ),
            )
            if a != b
        ]
        if old.get("kind") == "Secret" and old.get("type") != new.get("type"):
            replaces.append("type")
        return DiffOutcome(changes=None, replaces=replaces)

    def create(self, urn: str, inputs: dict) -> tuple[str, dict]:
        return self._apply(inputs)

    def update(self, urn: str, id_: str, old_outputs: dict, new_inputs: dict, old_inputs: dict) -> dict:
        return self._apply(new_inputs)[1]

    def read(self, urn: str, id_: str, inputs: dict, outputs: dict) -> tuple[str, dict] | None:
        obj = _plain_object(outputs or inputs)
        meta = obj.get("metadata") or {}
        status, data = self._request(
            "GET", self._path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        )
        if status == 404:
            return None
        _raise_for(status, data, f"read {obj['kind']} {meta['name']}")
        return id_, _secret_outputs(data)

    def find_created(self, urn: str, inputs: dict) -> Found | None:
        """An object an interrupted create applied is found by its name; it is adopted only when it carries
        this resource's field manager (else it is someone else's). An autonamed object's name was drawn
        by the interrupted run and is not known: None."""
        obj = _plain_object(inputs)
        meta = dict(obj.get("metadata") or {})
        if (meta.get("annotations") or {}).get(AUTONAMED) == "true" or not meta.get("name"):
            return None
        manager, _force = _ownership(meta)
        _plural, namespaced = self._kind_info(obj["apiVersion"], obj["kind"])
        namespace = (meta.get("namespace") or self._default_namespace()) if namespaced else None
        status, data = self._request("GET", self._path(obj["apiVersion"], obj["kind"], meta["name"], namespace))
        if status == 404:
            return Found()
        _raise_for(status, data, f"read {obj['kind']} {meta['name']}")
        managers = {entry.get("manager") for entry in (data.get("metadata") or {}).get("managedFields") or []}
        if manager not in managers:
            return None
        return Found(f"{namespace}/{meta['name']}" if namespaced else meta["name"], _secret_outputs(data))

    def read_for_import(self, type_: str, id_: str) -> Imported | None:
        """The object ``id_`` (``namespace/name``, or ``name``: in the provider's default namespace when the
        kind is namespaced) of ``type_``, with the fields a program declares as its inputs; None if absent."""
        api_version, kind = type_to_api_version(type_)
        _plural, namespaced = self._kind_info(api_version, kind)
        namespace, _, name = id_.rpartition("/")
        if not namespaced and namespace:
            raise ProviderError(f"{kind} is not namespaced: its id is its name alone, not {id_!r}")
        if namespaced:
            namespace = namespace or self._default_namespace()
        status, data = self._request("GET", self._path(api_version, kind, name, namespace or None))
        if status == 404:
            return None
        _raise_for(status, data, f"read {kind} {id_}")
        inputs = _secret_outputs(declared_fields(data))
        return Imported(f"{namespace}/{name}" if namespaced else name, inputs, _secret_outputs(data))

    def drift(self, inputs: dict, old_outputs: dict, new_outputs: dict) -> list:
        """Drift is a change to what the program manages: fields outside its inputs (status,
        resource versions, server defaults) are not compared."""
        shape = _plain_object(inputs)
        return diff_properties(
            restrict_to(shape, _plain_object(old_outputs)), restrict_to(shape, _plain_object(new_outputs))
        )

    def delete(self, urn: str, id_: str, outputs: dict) -> None:
        obj = _plain_object(outputs)
        meta = obj.get("metadata") or {}
        try:
            path = self._path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            status, data = self._request("DELETE", path, body={"propagationPolicy": "Background"})
        except ProviderError as exc:
            if not isinstance(exc.__cause__, Unreachable | KubeconfigError):
                raise
            if not self._delete_unreachable:
                raise UnreachableError(
                    f"{exc}. If the cluster no longer exists, run again with {DELETE_UNREACHABLE_ENV}=true "
                    "(or deleteUnreachable on its provider) to remove its objects from the state"
                ) from exc
            log.warning(
                "%s %s: the cluster is unreachable (%s); removed from the state only", obj["kind"], meta["name"], exc
            )
            return
        if status == 404:
            return
        _raise_for(status, data, f"delete {obj['kind']} {meta['name']}")
        deadline = time.monotonic() + _await_seconds(obj)
        while time.monotonic() < deadline:
            status, data = self._request("GET", path)
            if status == 404:
                return
            progress.report(_deletion_wait(data, _await_seconds(obj)))
            time.sleep(0.2)
        raise ProviderError(
            f"{obj['kind']} {meta['name']} is still present after delete (finalizers: "
            f"{(data or {}).get('metadata', {}).get('finalizers')})"
        )

    # -- apply and await -------------------------------------------------------------------------
    def _apply(self, inputs: dict) -> tuple[str, dict]:
        obj = _plain_object(inputs)
        meta = dict(obj.get("metadata") or {})
        api_version, kind = obj["apiVersion"], obj["kind"]
        _plural, namespaced = self._kind_info(api_version, kind)
        if namespaced and not meta.get("namespace"):
            meta["namespace"] = self._default_namespace()
        obj["metadata"] = meta
        path = self._path(api_version, kind, meta["name"], meta.get("namespace"))
        manager, force = _ownership(meta)

        def apply(forced: bool) -> tuple[int, Any]:
            # Strict: a field the server's type lacks (a typo) fails the step instead of being dropped
            query = {"fieldManager": manager, "force": "true" if forced else "false", "fieldValidation": "Strict"}
            return self._request("PATCH", path, query=query, body=obj, content_type="application/apply-patch+yaml")

        status, data = apply(force)
        if status == 409 and not force and manager != FIELD_MANAGER and _conflicts_only_with(data, FIELD_MANAGER):
            status, data = apply(True)  # the resource's own fields, written before it had a manager of its own
        _raise_for(status, data, f"apply {kind} {meta['name']}")
        live = self._await_ready(path, obj, data)
        id_ = f"{meta['namespace']}/{meta['name']}" if namespaced else meta["name"]
        return id_, _secret_outputs(live)

    def _await_ready(self, path: str, obj: dict, live: dict) -> dict:
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        if annotations.get(SKIP_AWAIT) == "true" or _ready(obj["kind"], live):
            return live
        deadline = time.monotonic() + _await_seconds(obj)
        while time.monotonic() < deadline:
            progress.report(
                f"waiting to be ready: {_readiness_hint(obj['kind'], live)} (up to {_await_seconds(obj):g}s)"
            )
            time.sleep(0.2)
            status, live = self._request("GET", path)
            _raise_for(status, live, f"read {obj['kind']} {obj['metadata']['name']}")
            if _ready(obj["kind"], live):
                return live
        raise ProviderError(
            f"{obj['kind']} {obj['metadata']['name']} did not become ready within {_await_seconds(obj):g}s "
            f"({_readiness_hint(obj['kind'], live)})"
        )


def _ownership(meta: dict) -> tuple[str, bool]:
    """(field manager, force) from the object's annotations, which it then no longer carries."""
    annotations = dict(meta.get("annotations") or {})
    manager = annotations.pop(PATCH_FIELD_MANAGER, None) or FIELD_MANAGER
    force = annotations.pop(PATCH_FORCE, None) == "true"
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return manager, force


def _conflicts_only_with(status: Any, manager: str) -> bool:
    """Whether a 409 from an apply names only ``manager`` as the other owner of the fields."""
    causes = ((status or {}).get("details") or {}).get("causes") or [] if isinstance(status, dict) else []
    owners = {match.group(1) for cause in causes if (match := _CONFLICT_OWNER.search(cause.get("message", "")))}
    return owners == {manager}


def _ready(kind: str, live: dict) -> bool:
    status = live.get("status") or {}
    if kind == "Deployment":
        wanted = (live.get("spec") or {}).get("replicas", 1)
        available = any(
            c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        fresh = status.get("observedGeneration", 0) >= (live.get("metadata") or {}).get("generation", 0)
        return fresh and available and status.get("availableReplicas", 0) >= wanted
    if kind == "Service" and (live.get("spec") or {}).get("type") == "LoadBalancer":
        return bool((status.get("loadBalancer") or {}).get("ingress"))
    if kind == "CustomResourceDefinition":
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in status.get("conditions") or [])
    return True


def _readiness_hint(kind: str, live: dict) -> str:
    status = live.get("status") or {}
    if kind == "Deployment":
        return f"{status.get('availableReplicas', 0)}/{(live.get('spec') or {}).get('replicas', 1)} replicas available"
    if kind == "Service":
        return "no load balancer address assigned"
    return "condition Established is not True"


def _deletion_wait(live: Any, seconds: float) -> str:
    """What a delete waits for while the object is still there."""
    finalizers = ((live or {}).get("metadata") or {}).get("finalizers") if isinstance(live, dict) else None
    if finalizers:
        return f"waiting for finalizers {', '.join(finalizers)} to be removed (up to {seconds:g}s)"
    return f"waiting for the API server to remove it (up to {seconds:g}s)"


def _await_seconds(obj: dict) -> float:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    try:
        return float(annotations.get(TIMEOUT_SECONDS, DEFAULT_AWAIT_SECONDS))
    except ValueError:
        return DEFAULT_AWAIT_SECONDS


def _raise_for(status: int, data: Any, action: str) -> None:
    if 200 <= status < 300:
        return
    message = (data or {}).get("message") if isinstance(data, dict) else str(data)
    raise KubeApiError(status, f"{action}: HTTP {status}: {message}")


def _plain_object(values: dict) -> dict:
    """Inputs without engine-internal keys and without secret wrappers, with whole numbers as
    integers: the SDK sends every number as a float, and an API server refuses ``replicas: 4.0``
    for an integer field (pulumi-kubernetes, in Go, encodes such a float as ``4``)."""
    from .secrets import unwrap_secrets

    plain = unwrap_secrets(values or {})
    return {k: whole_numbers(v) for k, v in plain.items() if not k.startswith("__") and v is not None}


def _replacement_keys(inputs: dict) -> dict:
    """The inputs a change of which replaces the object (kind, name, namespace, a Secret's type), unwrapped."""
    from .secrets import unwrap_secrets

    return unwrap_secrets({k: (inputs or {}).get(k) for k in ("kind", "metadata", "type")})


def _keep_secrets(obj: dict, source: dict) -> dict:
    """Top-level input properties that were secret stay secret after check."""
    return {k: (wrap_secret(v) if is_secret(source.get(k)) else v) for k, v in obj.items()}


def _secret_outputs(live: dict) -> dict:
    """Live object as outputs; a Secret's data is secret, as pulumi-kubernetes marks it."""
    outputs = dict(live)
    if live.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if key in outputs:
                outputs[key] = wrap_secret(outputs[key])
    return outputs


def kubernetes_factory(config: dict | None) -> KubernetesProvider:
    return KubernetesProvider(config)
