"""Protobuf request bodies (``application/vnd.kubernetes.protobuf``) for the kinds kubectl sends so.

kubectl's typed commands (``create namespace``, ``create token``, ``auth can-i``, ``auth
whoami``, ``create configmap|secret|serviceaccount|deployment|service|role|rolebinding``...) post protobuf and do not fall back to JSON
on a 415. The body is the ``k8s\\0`` magic, then a ``runtime.Unknown`` envelope (typeMeta,
raw) whose ``raw`` is the object's message. Protobuf carries field numbers, not names, so each
kind decoded here has a table of its fields' numbers (facts of the Kubernetes ``generated.proto``
files) - for workloads only the fields ``kubectl create`` fills in; other kinds get a 415 that
names the JSON media types. Only decoding is emulated:
responses are always JSON (clients decode by the response's Content-Type).
"""

from __future__ import annotations

import base64

from . import errors

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_MAGIC = b"k8s\x00"
_RBAC = "rbac.authorization.k8s.io/v1"

# A field is (json name, kind): kind is "str", "int", "int0" (zero means unset), "intstr"
# (IntOrString), "bool", "bytes", "strs" (repeated string),
# "map" (map<string,string>), "bmap" (map<string,bytes>), a message table (dict), or
# ("msgs", table) for a repeated message.
_TYPE_META = {1: ("apiVersion", "str"), 2: ("kind", "str")}
_UNKNOWN = {1: ("typeMeta", _TYPE_META), 2: ("raw", "bytes"), 3: ("contentEncoding", "str"), 4: ("contentType", "str")}
_OWNER_REF = {
    1: ("kind", "str"),
    3: ("name", "str"),
    4: ("uid", "str"),
    5: ("apiVersion", "str"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_OBJECT_META = {
    1: ("name", "str"),
    2: ("generateName", "str"),
    3: ("namespace", "str"),
    5: ("uid", "str"),
    6: ("resourceVersion", "str"),
    11: ("labels", "map"),
    12: ("annotations", "map"),
    13: ("ownerReferences", ("msgs", _OWNER_REF)),
    14: ("finalizers", "strs"),
}
_LOCAL_REF = {1: ("name", "str")}
_RESOURCE_ATTRIBUTES = {
    1: ("namespace", "str"),
    2: ("verb", "str"),
    3: ("group", "str"),
    4: ("version", "str"),
    5: ("resource", "str"),
    6: ("subresource", "str"),
    7: ("name", "str"),
}
_NON_RESOURCE_ATTRIBUTES = {1: ("path", "str"), 2: ("verb", "str")}
_ACCESS_SPEC = {1: ("resourceAttributes", _RESOURCE_ATTRIBUTES), 2: ("nonResourceAttributes", _NON_RESOURCE_ATTRIBUTES)}
_BOUND_REF = {1: ("kind", "str"), 2: ("apiVersion", "str"), 3: ("name", "str"), 4: ("uid", "str")}

_CONTAINER = {
    1: ("name", "str"),
    2: ("image", "str"),
    3: ("command", "strs"),
    4: ("args", "strs"),
    5: ("workingDir", "str"),
    6: ("ports", ("msgs", {1: ("name", "str"), 3: ("containerPort", "int"), 4: ("protocol", "str")})),
    7: ("env", ("msgs", {1: ("name", "str"), 2: ("value", "str")})),
    8: ("resources", {}),
    14: ("imagePullPolicy", "str"),
}
_POD_TEMPLATE = {
    1: ("metadata", _OBJECT_META),
    2: (
        "spec",
        {2: ("containers", ("msgs", _CONTAINER)), 3: ("restartPolicy", "str"), 8: ("serviceAccountName", "str")},
    ),
}
_DEPLOYMENT_SPEC = {
    1: ("replicas", "int"),
    2: ("selector", {1: ("matchLabels", "map")}),
    3: ("template", _POD_TEMPLATE),
    4: ("strategy", {1: ("type", "str")}),
}

_INT_OR_STRING = {1: ("type", "int"), 2: ("intVal", "int"), 3: ("strVal", "str")}
_SERVICE_PORT = {
    1: ("name", "str"),
    2: ("protocol", "str"),
    3: ("port", "int"),
    4: ("targetPort", "intstr"),
    5: ("nodePort", "int0"),
}
_SERVICE_SPEC = {
    1: ("ports", ("msgs", _SERVICE_PORT)),
    2: ("selector", "map"),
    3: ("clusterIP", "str"),
    4: ("type", "str"),
}
_POLICY_RULE = {
    1: ("verbs", "strs"),
    2: ("apiGroups", "strs"),
    3: ("resources", "strs"),
    4: ("resourceNames", "strs"),
    5: ("nonResourceURLs", "strs"),
}
_BINDING = {
    2: (
        "subjects",
        ("msgs", {1: ("kind", "str"), 2: ("apiGroup", "str"), 3: ("name", "str"), 4: ("namespace", "str")}),
    ),
    3: ("roleRef", {1: ("apiGroup", "str"), 2: ("kind", "str"), 3: ("name", "str")}),
}


def _kind(spec: dict | None = None, extra: dict | None = None) -> dict:
    fields = {1: ("metadata", _OBJECT_META)}
    if spec is not None:
        fields[2] = ("spec", spec)
    fields.update(extra or {})
    return fields


KINDS: dict[tuple[str, str], dict] = {
    ("v1", "Namespace"): _kind({1: ("finalizers", "strs")}),
    ("v1", "ConfigMap"): _kind(None, {2: ("data", "map"), 3: ("binaryData", "bmap"), 4: ("immutable", "bool")}),
    ("v1", "Secret"): _kind(
        None, {2: ("data", "bmap"), 3: ("type", "str"), 4: ("stringData", "map"), 5: ("immutable", "bool")}
    ),
    ("v1", "ServiceAccount"): _kind(
        None,
        {
            3: ("imagePullSecrets", ("msgs", _LOCAL_REF)),
            4: ("automountServiceAccountToken", "bool"),
        },
    ),
    ("apps/v1", "Deployment"): _kind(_DEPLOYMENT_SPEC),
    ("v1", "Service"): _kind(_SERVICE_SPEC),
    **{
        (_RBAC, kind): _kind(None, {2: ("rules", ("msgs", _POLICY_RULE))} if kind.endswith("Role") else _BINDING)
        for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    },
    ("authentication.k8s.io/v1", "TokenRequest"): _kind(
        {1: ("audiences", "strs"), 3: ("boundObjectRef", _BOUND_REF), 4: ("expirationSeconds", "int")}
    ),
    ("authentication.k8s.io/v1", "TokenReview"): _kind({1: ("token", "str"), 2: ("audiences", "strs")}),
    ("authentication.k8s.io/v1", "SelfSubjectReview"): _kind(None),
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): _kind(_ACCESS_SPEC),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): _kind({1: ("namespace", "str")}),
    ("authorization.k8s.io/v1", "SubjectAccessReview"): _kind(
        {**_ACCESS_SPEC, 3: ("user", "str"), 4: ("groups", "strs"), 6: ("uid", "str")}
    ),
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _fields(data: bytes):
    """``(number, wire value)`` pairs: ints for varints, bytes for length-delimited fields."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
            if pos > len(data):
                raise ValueError("truncated field")
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, pos = data[pos : pos + size], pos + size
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, value


def _map_entry(data: bytes) -> tuple[str, bytes]:
    entry = dict(_fields(data))
    return entry.get(1, b"").decode(), entry.get(2, b"")


def decode_message(data: bytes, table: dict) -> dict:
    out: dict = {}
    for number, value in _fields(data):
        if number not in table:
            continue  # fields this table does not know are dropped, as for unknown JSON fields
        name, kind = table[number]
        if isinstance(kind, dict):
            out[name] = decode_message(value, kind)
        elif isinstance(kind, tuple):
            out.setdefault(name, []).append(decode_message(value, kind[1]))
        elif kind == "str":
            if value:  # Go writes empty non-pointer strings; JSON omits them
                out[name] = value.decode()
        elif kind in ("bytes", "int") or (kind == "int0" and value):  # int0: Go writes unset ints as 0
            out[name] = value
        elif kind == "intstr":
            parsed = decode_message(value, _INT_OR_STRING)
            out[name] = parsed.get("strVal", "") if parsed.get("type") == 1 else parsed.get("intVal", 0)
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "strs":
            out.setdefault(name, []).append(value.decode())
        elif kind == "map":
            key, raw = _map_entry(value)
            out.setdefault(name, {})[key] = raw.decode()
        elif kind == "bmap":
            key, raw = _map_entry(value)
            out.setdefault(name, {})[key] = base64.b64encode(raw).decode()
    return out


def decode(body: bytes) -> dict:
    """The JSON form of a protobuf request body; 415 for kinds without a field table."""
    if not body.startswith(_MAGIC):
        raise errors.bad_request("the protobuf body does not start with the Kubernetes magic number")
    try:
        envelope = decode_message(body[len(_MAGIC) :], _UNKNOWN)
        type_meta = envelope.get("typeMeta") or {}
        table = KINDS.get((type_meta.get("apiVersion", ""), type_meta.get("kind", "")))
        if table is None:
            raise errors.unsupported_media_type(["application/json", "application/yaml"])
        obj = decode_message(envelope.get("raw", b""), table)
    except ValueError as exc:
        raise errors.bad_request(f"the protobuf request body could not be decoded: {exc}") from None
    return {"apiVersion": type_meta["apiVersion"], "kind": type_meta["kind"], **obj}
