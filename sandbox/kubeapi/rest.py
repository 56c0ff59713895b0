"""The REST surface of one virtual cluster: faults, authentication, routing, authorization, verbs.

Paths follow the Kubernetes layout (``/api/v1/...``, ``/apis/<g>/<v>/...``, optional
``namespaces/<ns>/`` segment, ``/<name>/<subresource>``, legacy ``/watch/`` prefix). Health
endpoints and ``/version`` answer without credentials; everything else needs a valid bearer token
or client certificate (anonymous requests get 401, as with ``--anonymous-auth=false``).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass

import yaml

from . import (
    discovery,
    errors,
    execstream,
    fieldvalidation,
    impersonation,
    openapi,
    protobody,
    reviews,
    scale,
    tables,
    watchstream,
)
from .auth import Attributes
from .httpserver import HttpRequest, HttpResponse, query_flag
from .patch import APPLY
from .resources import ResourceType
from .selectors import name_from_field_selector
from .users import UserInfo

log = logging.getLogger("sandbox.kubeapi.rest")

_PUBLIC = ("/healthz", "/livez", "/readyz", "/version")
_COLLECTION_VERBS = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}
_ITEM_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}


@dataclass
class Target:
    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    verb: str


class RestApi:
    """Callable HTTP application of one cluster (see :class:`cluster.VirtualCluster`)."""

    def __init__(self, cluster):
        self.cluster = cluster

    def __call__(self, req: HttpRequest) -> HttpResponse:
        try:
            delay, fault = self.cluster.faults.decide()
            if delay:
                time.sleep(delay)
            if fault:
                raise fault
            return self._handle(req)
        except errors.ApiError as err:
            headers = {"Retry-After": str(err.retry_after)} if err.retry_after is not None else {}
            return HttpResponse.json(err.code, err.status(), headers)
        except Exception as exc:  # a bug in the emulator: answer like the API server would
            log.exception("request %s %s failed", req.method, req.path)
            err = errors.internal_error(f"{type(exc).__name__}: {exc}")
            return HttpResponse.json(500, err.status())

    def _handle(self, req: HttpRequest) -> HttpResponse:
        path = "/" + req.path.strip("/")
        if path in _PUBLIC or path.startswith(tuple(p + "/" for p in _PUBLIC[:3])):
            self.cluster.authenticator.authenticate(req.headers.get("authorization"), req.client_cert)
            if path == "/version":
                return HttpResponse.json(200, discovery.version_info(self.cluster.version))
            return HttpResponse.text(200, "ok")
        user = self.cluster.authenticator.authenticate(req.headers.get("authorization"), req.client_cert)
        if user is None:
            raise errors.unauthorized()
        user = impersonation.impersonated(self.cluster.authorizer, user, req.headers)
        segments = path.strip("/").split("/")
        if segments[0] == "api" and len(segments) >= 3 and segments[1] == "v1":
            return self._resource(req, user, "", "v1", segments[2:])
        if segments[0] == "apis" and len(segments) >= 4:
            return self._resource(req, user, segments[1], segments[2], segments[3:])
        return self._non_resource(req, user, path, segments)

    # --- discovery and other non-resource paths -------------------------------------------------

    def _non_resource(self, req: HttpRequest, user: UserInfo, path: str, segments: list[str]) -> HttpResponse:
        self.cluster.authorizer.check(user, Attributes(verb=req.method.lower(), path=path))
        if req.method != "GET":
            raise errors.method_not_allowed()
        registry = self.cluster.registry
        doc = None
        if segments[0] == "openapi":
            return self._openapi(req, segments[1:])
        if segments == ["api"]:
            doc = discovery.core_versions(f"127.0.0.1:{self.cluster.port}")
        elif segments == ["api", "v1"]:
            doc = discovery.resource_list(registry, "", "v1")
        elif segments == ["apis"]:
            doc = discovery.group_list(registry)
        elif len(segments) == 2 and segments[0] == "apis":
            doc = discovery.group(registry, segments[1])
        elif len(segments) == 3 and segments[0] == "apis":
            doc = discovery.resource_list(registry, segments[1], segments[2])
        if doc is None:
            raise errors.page_not_found()
        return HttpResponse.json(200, doc)

    def _openapi(self, req: HttpRequest, segments: list[str]) -> HttpResponse:
        accept = req.headers.get("accept", "")
        if segments == ["v2"] and accept and "json" not in accept and "*/*" not in accept:
            raise errors.not_acceptable(["application/json"])
        return HttpResponse.json(200, openapi.respond(self.cluster.registry, segments, self.cluster.version))

    # --- resources ------------------------------------------------------------------------------

    def _target(self, req: HttpRequest, group: str, version: str, rest: list[str]) -> Target:
        registry = self.cluster.registry
        watch = bool(rest) and rest[0] == "watch"
        rest = rest[1:] if watch else rest
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            nested = registry.lookup(group, version, rest[2])
            if nested is not None and nested.namespaced:
                namespace, rest = rest[1], rest[2:]
        rt = registry.lookup(group, version, rest[0]) if rest else None
        if rt is None or len(rest) > 3 or (namespace and not rt.namespaced):
            raise errors.page_not_found()
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if (rt.namespaced and name and not namespace) or (sub and sub not in {s.name for s in rt.subresources()}):
            raise errors.page_not_found()
        watch = watch or query_flag(req.query, "watch")
        verb = (_ITEM_VERBS if name else _COLLECTION_VERBS).get(req.method)
        if verb == "get" and watch or verb == "list" and watch:
            verb = "watch"
        allowed = next((s.verbs for s in rt.subresources() if s.name == sub), None) if sub else rt.verbs
        if verb is None or verb not in allowed or (verb == "create" and name and sub not in ("token", "exec")):
            raise errors.method_not_allowed()
        return Target(rt, namespace, name, sub, verb)

    def _resource(self, req: HttpRequest, user: UserInfo, group: str, version: str, rest: list[str]) -> HttpResponse:
        t = self._target(req, group, version, rest)
        if t.subresource == "exec" and discovery.parse_version(self.cluster.version)[1] >= 35:
            t.verb = (
                "create"  # a WebSocket upgrade (GET) needs create too (AuthorizePodWebsocketUpgradeCreatePermission)
            )
        name_for_rbac = (
            t.name
            or (name_from_field_selector(req.query.get("fieldSelector")) if t.verb in ("list", "watch") else "")
            or ""
        )
        self.cluster.authorizer.check(
            user, Attributes(t.verb, t.namespace, t.rt.group, t.rt.plural, t.subresource, name_for_rbac)
        )
        if t.rt.virtual:
            return self._review(req, user, t)
        if t.subresource == "token":
            return self._token_request(req, t)
        if t.subresource == "exec":
            return self._exec(req, t)
        if t.subresource == "scale":
            return self._scale(req, t)
        warnings = self._field_validation(req, t)
        response = getattr(self, f"_{t.verb}")(req, user, t)
        if warnings:
            response.headers["Warning"] = fieldvalidation.warning_header(warnings)
        return response

    @staticmethod
    def _field_validation(req: HttpRequest, t: Target) -> list[str]:
        if t.verb not in ("create", "update", "patch") or t.subresource not in ("", "status"):
            return []
        patch_type = req.headers.get("content-type", "").split(";")[0].strip().lower() if t.verb == "patch" else None
        return fieldvalidation.check(t.rt, req.query, _body(req, yaml_ok=patch_type == APPLY), patch_type)

    def _list(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        q = req.query
        return self._shown(
            req,
            t,
            self.cluster.ops.list(
                t.rt,
                t.namespace or None,
                label_selector=q.get("labelSelector", ""),
                field_selector=q.get("fieldSelector", ""),
                limit=_int(q.get("limit")),
                continue_token=q.get("continue", ""),
                view=True,
            ),
        )

    def _watch(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        query = dict(req.query)
        if t.name:
            query["fieldSelector"] = ",".join(filter(None, [query.get("fieldSelector"), f"metadata.name={t.name}"]))
        events = watchstream.stream(
            self.cluster.store, t.rt, t.namespace, query, self.cluster.ops.view, req.disconnected
        )
        return HttpResponse(200, events, {"Content-Type": "application/json"})

    def _get(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        return self._shown(req, t, self.cluster.ops.get(t.rt, t.namespace, t.name, view=True))

    @staticmethod
    def _shown(req: HttpRequest, t: Target, doc: dict) -> HttpResponse:
        """``doc`` as JSON, or as a Table when the client asks for one (kubectl get)."""
        if tables.wants_table(req.headers.get("accept", "")):
            doc = tables.table(t.rt, doc, req.query.get("includeObject", ""))
        return HttpResponse.json(200, doc)

    def _create(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        created = self.cluster.ops.create(t.rt, t.namespace, _body(req), manager=_manager(req), dry_run=_dry_run(req))
        return HttpResponse.json(201, created)

    def _update(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        return HttpResponse.json(
            200,
            self.cluster.ops.replace(
                t.rt,
                t.namespace,
                t.name,
                _body(req),
                subresource=t.subresource,
                manager=_manager(req),
                dry_run=_dry_run(req),
            ),
        )

    def _patch(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        patch_type = req.headers.get("content-type", "").split(";")[0].strip().lower()
        manager = req.query.get("fieldManager", "") if patch_type == APPLY else _manager(req)
        if patch_type == APPLY and not self.cluster.store.get(t.rt.key, t.namespace, t.name):
            # an apply that creates needs the create permission too
            self.cluster.authorizer.check(user, Attributes("create", t.namespace, t.rt.group, t.rt.plural, "", t.name))
        obj, created = self.cluster.ops.patch(
            t.rt,
            t.namespace,
            t.name,
            _body(req, yaml_ok=patch_type == APPLY),
            patch_type,
            subresource=t.subresource,
            manager=manager,
            force=query_flag(req.query, "force"),
            dry_run=_dry_run(req),
        )
        return HttpResponse.json(201 if created else 200, obj)

    def _delete(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        options = _body(req) if req.body else {}
        propagation = req.query.get("propagationPolicy") or options.get("propagationPolicy")
        dry_run = _dry_run(req) or options.get("dryRun") == ["All"]
        obj, gone = self.cluster.ops.delete(
            t.rt,
            t.namespace,
            t.name,
            preconditions=options.get("preconditions"),
            propagation=propagation,
            dry_run=dry_run,
        )
        if gone and not t.rt.custom:
            return HttpResponse.json(200, _success(t, obj))
        return HttpResponse.json(200, obj)

    def _deletecollection(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        self.cluster.ops.delete_collection(
            t.rt,
            t.namespace or None,
            label_selector=req.query.get("labelSelector", ""),
            field_selector=req.query.get("fieldSelector", ""),
            dry_run=_dry_run(req),
        )
        return HttpResponse.json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})

    # --- special endpoints ----------------------------------------------------------------------

    def _token_request(self, req: HttpRequest, t: Target) -> HttpResponse:
        account = self.cluster.ops.get(t.rt, t.namespace, t.name)
        return HttpResponse.json(201, self.cluster.sa_tokens.token_request(account, _body(req)))

    def _exec(self, req: HttpRequest, t: Target) -> HttpResponse:
        """``pods/<name>/exec``: the command (``command``, repeated: the argv) in a container of a running pod on
        a sandbox node (:mod:`.kubelet`), over a WebSocket (:mod:`.execstream`)."""
        argv = req.params.get("command") or []
        if not argv:
            raise errors.bad_request("you must specify at least 1 command")
        if not any(query_flag(req.query, stream) for stream in ("stdin", "stdout", "stderr")):
            raise errors.bad_request("you must specify at least one of stdin, stdout, stderr")
        container = self.cluster.kubelets.container(
            self.cluster.ops.get(t.rt, t.namespace, t.name), req.query.get("container", "")
        )
        return execstream.upgrade(req, lambda stdin: container.run(argv, stdin))

    def _scale(self, req: HttpRequest, t: Target) -> HttpResponse:
        ops = self.cluster.ops
        if t.verb == "get":
            return HttpResponse.json(200, scale.get(ops, t.rt, t.namespace, t.name))
        patch_type = req.headers.get("content-type", "").split(";")[0].strip().lower() if t.verb == "patch" else None
        doc = _body(req, yaml_ok=patch_type == APPLY)
        return HttpResponse.json(
            200, scale.write(ops, t.rt, t.namespace, t.name, doc, patch_type, _manager(req), _dry_run(req))
        )

    def _review(self, req: HttpRequest, user: UserInfo, t: Target) -> HttpResponse:
        return HttpResponse.json(201, reviews.review(self.cluster, user, t.rt, t.namespace, _body(req)))


# --- request helpers ----------------------------------------------------------------------------


def _body(req: HttpRequest, yaml_ok: bool = False):
    content_type = req.headers.get("content-type", "")
    if content_type.split(";")[0].strip() == protobody.MEDIA_TYPE:
        return protobody.decode(req.body)
    try:
        if yaml_ok or "yaml" in content_type:
            doc = yaml.safe_load(req.body.decode() or "null")
        else:
            doc = json.loads(req.body or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"the request body could not be decoded: {exc}") from None
    if doc is None:
        raise errors.bad_request("the request body is empty")
    return doc


def _manager(req: HttpRequest) -> str:
    """``fieldManager``, else the user agent's product name, as the API server derives it."""
    manager = req.query.get("fieldManager") or req.headers.get("user-agent", "unknown").split("/")[0]
    if len(manager) > 128:
        raise errors.bad_request("fieldManager must not be longer than 128 characters")
    return manager


def _dry_run(req: HttpRequest) -> bool:
    value = req.query.get("dryRun", "")
    if value not in ("", "All"):
        raise errors.bad_request(f'unsupported dryRun value "{value}" (only "All" is supported)')
    return value == "All"


def _int(text: str | None) -> int:
    try:
        return max(0, int(text or 0))
    except ValueError:
        raise errors.bad_request(f"invalid integer {text!r}") from None


def _success(t: Target, obj: dict) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": t.name, "group": t.rt.group, "kind": t.rt.plural, "uid": obj["metadata"].get("uid")},
    }
