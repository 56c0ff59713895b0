"""Google GKE control-plane emulator: the v1 REST API of container.googleapis.com for clusters and
operations, plus an OAuth 2.0 token endpoint, on loopback HTTP.

Point ``google.cloud.container_v1.ClusterManagerClient(transport="rest",
client_options={"api_endpoint": emulator.endpoint})`` at it, with application-default credentials
from :meth:`GkeEmulator.environment`: a service-account key file whose ``token_uri`` is this
emulator's ``/token``. Errors use Google's envelope ``{"error": {"code", "message", "status"}}``.

Every cluster is backed by the virtual cluster ``gke-<cluster name>`` of the Kubernetes emulator:
``endpoint`` and ``masterAuth.clusterCaCertificate`` are that cluster's, and every access token the
token endpoint issues opens it as a member of ``system:masters`` (what a project-level
``roles/container.admin`` grant gives on GKE).

Emulated: GetCluster and ListClusters (``/v1/projects/*/locations/*/clusters[/*]``; ListClusters in location
``-`` answers every location of the project, as GKE does for ``gcloud container clusters list``); UpdateCluster
with ``desiredDatabaseEncryption`` (an ``UPDATE_CLUSTER`` operation that is ``DONE``
:attr:`GkeEmulator.operation_seconds` after it started and once GetOperation has shown it running
:attr:`GkeEmulator.operation_polls` times, the cluster ``RECONCILING`` and ``currentState``
``CURRENT_STATE_ENCRYPTION_PENDING`` (or ``..._DECRYPTION_PENDING``) meanwhile; a key change
keeps the old key in ``decryptionKeys``; a second update while one runs is refused with
FAILED_PRECONDITION; :meth:`GkeEmulator.fail_next_operation` makes the next one end with an
``error``, ``CURRENT_STATE_ENCRYPTION_ERROR`` and ``lastOperationErrors``, as when the key is
disabled mid-way); GetOperation; enums accepted as names or numbers (the REST transport sends
numbers). :meth:`GkeEmulator.set_database_encryption` changes the encryption as someone else would
(gcloud, the console), and :attr:`GkeEmulator.calls` counts API calls by method name.

Credentials: the JWT-bearer grant at ``/token`` checks the assertion's RS256 signature, issuer and
audience; the API accepts an issued access token or a self-signed JWT of the service account (what
the client library sends when the credentials are a service-account key). Fault knobs:
:meth:`throttle_next`, :meth:`fail_next`, :meth:`deny_next` (API calls) and
:meth:`revoke_credentials` (token endpoint).

Not emulated: Cloud KMS (any well-formed key name is usable; the GKE service agent's grant is not
checked), ``ALL_OBJECTS_ENCRYPTION_ENABLED``, creating or deleting clusters through the API, node
pools, the legacy ``/zones/`` paths, ``locations/-`` for anything but ListClusters, IAM (any valid credential may do anything in
any project), the other ``desired*`` updates, the authorized-user (refresh token) grant, gRPC.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import shutil
import tempfile
import time
import weakref
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Self
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sandbox.kubeapi import KubeApiEmulator, UserInfo, VirtualCluster
from sandbox.kubeapi.persistence import atomic_write
from sandbox.kubeapi.users import AUTHENTICATED, MASTERS

from .emulator import CloudEmulator
from .loopback import Request, Response

CLUSTER_STATES = ("PROVISIONING", "RUNNING", "RECONCILING", "STOPPING", "ERROR", "DEGRADED")
TOKEN_TTL = 3600  # seconds, as Google's token endpoint answers for service accounts
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # google-auth's assertion audience, whatever token_uri says
_JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_DATABASE_STATES = ("UNKNOWN", "ENCRYPTED", "DECRYPTED")  # by enum number; 3 (all objects) is refused
_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_CLUSTERS = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/clusters(?:/(?P<name>[^/:]+))?$"
)
_OPERATION = re.compile(r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/operations/(?P<name>[^/:]+)$")


class GkeApiError(Exception):
    """An error answer in Google's envelope; ``status`` is the canonical code name (``NOT_FOUND``)."""

    def __init__(self, status: str, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    def response(self) -> tuple[int, dict]:
        code = _HTTP_STATUS[self.status]
        return code, {"error": {"code": code, "message": self.message, "status": self.status}}


class GkeEmulator(CloudEmulator):
    """GKE API on ``127.0.0.1``; clusters live in :attr:`kube` as ``gke-<cluster name>``.

    With ``data_dir`` the service-account key, port, clusters, operations and issued tokens are
    kept in ``<data_dir>/gke.json`` (key file: ``<data_dir>/gke-service-account.json``), so a new
    emulator on the same directory answers as before; without it they live in memory and the key
    file goes to a temporary directory.
    """

    kind = "gke"
    operation_seconds = 0.5  # how long an UpdateCluster operation runs
    operation_polls = 0  # how many GetOperation answers show it RUNNING before it can finish

    def __init__(self, kube: KubeApiEmulator, data_dir: Path | None = None):
        super().__init__(kube, data_dir)
        self._dir = self.data_dir  # without one, a temporary directory made when it starts
        self._revoked = False
        self._failing_operations: list[str] = []  # error messages the next UpdateCluster operations end with
        self.calls: Counter[str] = Counter()  # API calls answered, by method (GetCluster, UpdateCluster, ...)
        self._checked: weakref.WeakSet[VirtualCluster] = weakref.WeakSet()
        saved = self._load()
        self._private_key_pem = saved.get("private_key") or _new_private_key()
        self._key_id = saved.get("private_key_id") or secrets.token_hex(20)
        self._public_key = serialization.load_pem_private_key(self._private_key_pem.encode(), None).public_key()
        self._clusters: dict[tuple[str, str, str], dict] = {}
        self._operations: dict[str, dict] = saved.get("operations", {})
        self._tokens: dict[str, dict] = saved.get("tokens", {})
        for record in saved.get("clusters", []):
            self._clusters[_key(record)] = record
            self._backing(record)

    # --- lifecycle: the key file names the token endpoint ----------------------------------------

    def start(self) -> Self:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="gke-emulator-"))
        super().start()
        self._write_key_file()
        return self

    def stop(self) -> None:
        super().stop()
        if self.data_dir is None and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)  # the temporary key file
            self._dir = None

    @property
    def service_account_email(self) -> str:
        return "fleetform-sandbox@fleetform-sandbox.iam.gserviceaccount.com"

    def environment(self) -> dict[str, str]:
        """What google-auth's application-default chain needs to use this emulator."""
        return {"GOOGLE_APPLICATION_CREDENTIALS": str(self._key_file)}

    # --- clusters -------------------------------------------------------------------------------

    def add_cluster(
        self,
        project: str,
        location: str,
        cluster_name: str,
        *,
        version: str = "1.29.4",
        state: str = "RUNNING",
        autopilot: bool = False,
        private_endpoint: bool = False,
        database_encryption_key: str | None = None,
    ) -> dict:
        """Create a cluster (or set the state and flags of an existing one, which keeps its version)
        and return it as GetCluster shows it. ``database_encryption_key`` (a Cloud KMS key name)
        makes Secrets encrypted from the start."""
        if state not in CLUSTER_STATES:
            raise ValueError(f"state must be one of {CLUSTER_STATES}")
        with self._lock:
            record = self._clusters.get((project, location, cluster_name)) or {
                "project": project,
                "location": location,
                "cluster_name": cluster_name,
                "version": version,
                "id": secrets.token_hex(16),
                "created": _now_rfc3339(),
            }
            record.update(
                state=state,
                autopilot=autopilot,
                private_endpoint=private_endpoint,
                database_encryption=_encryption(database_encryption_key),
            )
            self._clusters[_key(record)] = record
            self._backing(record)
            self._save()
            return self._render(record)

    def remove_cluster(self, project: str, location: str, cluster_name: str) -> None:
        """The cluster is deleted in the cloud: the API forgets it and its API server goes away."""
        with self._lock:
            record = self._clusters.pop((project, location, cluster_name), None)
            self._save()
        if record:
            self._remove_backing(cluster_name)

    # --- fault knobs ----------------------------------------------------------------------------

    def throttle_next(self, count: int = 1) -> None:
        """The next ``count`` API calls answer 429 RESOURCE_EXHAUSTED."""
        self._faults.add(
            count,
            GkeApiError(
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Requests' of service 'container.googleapis.com' (sandbox throttle).",
            ),
        )

    def fail_next(self, count: int = 1, code: str = "UNAVAILABLE") -> None:
        """The next ``count`` API calls fail with the canonical status ``code`` (e.g. ``INTERNAL``)."""
        if code not in _HTTP_STATUS:
            raise ValueError(f"code must be one of {sorted(_HTTP_STATUS)}")
        self._faults.add(count, GkeApiError(code, "The service is currently unavailable (sandbox fault)."))

    def deny_next(self, count: int = 1) -> None:
        """The next ``count`` API calls answer 401 UNAUTHENTICATED, as for a revoked credential.
        google-auth refreshes and retries a 401 twice by itself: 3 make one client call fail."""
        self._faults.add(count, _unauthenticated())

    def fail_next_operation(self, message: str = "Cloud KMS key is disabled or destroyed.") -> None:
        """The next UpdateCluster is accepted but its operation ends with ``error`` (FAILED_PRECONDITION)
        and the cluster reports ``CURRENT_STATE_ENCRYPTION_ERROR`` with ``lastOperationErrors``."""
        with self._lock:
            self._failing_operations.append(message)

    def set_database_encryption(self, project: str, location: str, cluster_name: str, key_name: str | None) -> None:
        """Encrypt Secrets with ``key_name`` (None: decrypt) at once, outside the API, as someone
        using gcloud or the console would (drift for fleetform to find)."""
        with self._lock:
            record = self._record(project, location, cluster_name)
            record["database_encryption"] = _encryption(key_name)
            self._save()

    def revoke_credentials(self, revoked: bool = True) -> None:
        """While revoked, the token endpoint refuses every grant with ``invalid_grant``."""
        self._revoked = revoked

    # --- HTTP -----------------------------------------------------------------------------------

    def _handle(self, request: Request) -> Response:
        status, document = self._answer(request)
        return Response.json(status, document, content_type="application/json; charset=UTF-8")

    def _answer(self, request: Request) -> tuple[int, dict]:
        """``(HTTP status, JSON body)`` for one request."""
        path = request.raw_path
        if path == "/token" and request.method == "POST":
            return self._token_grant(request.body)
        try:
            if fault := self._faults.take():
                raise fault
            if self._caller(request.headers.get("Authorization", "")) is None:
                raise _unauthenticated()
            with self._lock:  # one API call at a time: records and operations stay consistent
                self._progress()
                return 200, self._dispatch(request.method, path, request.body)
        except GkeApiError as exc:
            return exc.response()

    def _dispatch(self, method: str, path: str, body: bytes) -> dict:
        if match := _OPERATION.match(path):
            if method == "GET":
                self.calls["GetOperation"] += 1
                return self._get_operation(**match.groupdict())
        elif match := _CLUSTERS.match(path):
            project, location, name = match["project"], match["location"], match["name"]
            if name is None and method == "GET":
                self.calls["ListClusters"] += 1
                return self._list_clusters(project, location)
            if name is not None and method == "GET":
                self.calls["GetCluster"] += 1
                return self._render(self._record(project, location, name))
            if name is not None and method == "PUT":
                self.calls["UpdateCluster"] += 1
                return self._update_cluster(self._record(project, location, name), _json(body))
        raise GkeApiError("NOT_FOUND", f"The requested URL {method} {path} was not found on this server.")

    def _list_clusters(self, project: str, location: str) -> dict:
        """The project's clusters in ``location``; ``-`` stands for every location."""
        records = [r for r in self._clusters.values() if r["project"] == project and location in ("-", r["location"])]
        return {"clusters": [self._render(r) for r in records]}

    def _record(self, project: str, location: str, name: str) -> dict:
        record = self._clusters.get((project, location, name))
        if record is None:
            raise GkeApiError("NOT_FOUND", f"Not found: projects/{project}/locations/{location}/clusters/{name}.")
        return record

    # --- UpdateCluster and operations -----------------------------------------------------------

    def _update_cluster(self, record: dict, body: dict) -> dict:
        update = body.get("update") or {}
        desired = [k for k in update if k.startswith("desired")]
        if len(desired) != 1:
            raise GkeApiError("INVALID_ARGUMENT", "Exactly one update can be applied to a cluster with each request.")
        if desired[0] != "desiredDatabaseEncryption":
            raise GkeApiError("INVALID_ARGUMENT", f"{desired[0]} is not supported by the sandbox emulator.")
        wanted = _database_encryption_request(update["desiredDatabaseEncryption"])
        if record.get("operation"):
            raise GkeApiError(
                "FAILED_PRECONDITION", f"Cluster is running incompatible operation {record['operation']}."
            )
        name = f"operation-{int(time.time() * 1000)}-{secrets.token_hex(4)}"
        parent = f"https://container.googleapis.com/v1/projects/{record['project']}/locations/{record['location']}"
        operation = {
            "name": name,
            "zone": record["location"],
            "location": record["location"],
            "operationType": "UPDATE_CLUSTER",
            "status": "RUNNING",
            "startTime": _now_rfc3339(),
            "selfLink": f"{parent}/operations/{name}",
            "targetLink": f"https://container.googleapis.com/v1/{_resource(record)}",
        }
        self._operations[name] = {
            "operation": operation,
            "cluster": list(_key(record)),
            "wanted": wanted,
            "started": time.time(),
            "polls": 0,
            "fails_with": self._failing_operations.pop(0) if self._failing_operations else None,
        }
        record["operation"] = name
        pending = "ENCRYPTION" if wanted["state"] == "ENCRYPTED" else "DECRYPTION"
        record["database_encryption"]["currentState"] = f"CURRENT_STATE_{pending}_PENDING"
        self._save()
        return dict(operation)

    def _get_operation(self, project: str, location: str, name: str) -> dict:
        entry = self._operations.get(name)
        if entry is None or entry["cluster"][:2] != [project, location]:
            raise GkeApiError("NOT_FOUND", f"Not found: operation {name}.")
        if entry["operation"]["status"] == "RUNNING":
            entry["polls"] = entry.get("polls", 0) + 1
        return dict(entry["operation"])

    def _progress(self) -> None:
        """Finish the operations that have run for :attr:`operation_seconds` and been polled
        :attr:`operation_polls` times."""
        due = [
            entry
            for entry in self._operations.values()
            if entry["operation"]["status"] == "RUNNING"
            and time.time() - entry["started"] >= self.operation_seconds
            and entry.get("polls", 0) >= self.operation_polls
        ]
        for entry in due:
            self._finish(entry)
        if due:
            self._save()

    def _finish(self, entry: dict) -> None:
        entry["operation"].update(status="DONE", endTime=_now_rfc3339())
        record = self._clusters.get(tuple(entry["cluster"]))
        if record is None:  # deleted meanwhile
            return
        record.pop("operation", None)
        wanted, previous = entry["wanted"], record["database_encryption"]
        if entry.get("fails_with"):
            entry["operation"]["error"] = {"code": 9, "message": entry["fails_with"]}  # FAILED_PRECONDITION
            pending = "ENCRYPTION" if wanted["state"] == "ENCRYPTED" else "DECRYPTION"
            failure = {"keyName": wanted.get("keyName", ""), "errorMessage": entry["fails_with"]}
            record["database_encryption"] = {
                **previous,
                "currentState": f"CURRENT_STATE_{pending}_ERROR",
                "lastOperationErrors": [{**failure, "timestamp": _now_rfc3339()}],
            }
            return
        encryption = {"state": wanted["state"], "currentState": f"CURRENT_STATE_{wanted['state']}"}
        if wanted["state"] == "ENCRYPTED":
            encryption["keyName"] = wanted["keyName"]
        old_key = previous.get("keyName")
        if old_key and old_key != wanted.get("keyName"):  # the old key still decrypts what it wrote
            encryption["decryptionKeys"] = [old_key]
        record["database_encryption"] = encryption

    # --- cluster shape --------------------------------------------------------------------------

    def _render(self, record: dict) -> dict:
        backing = self._backing(record)
        host = backing.url.removeprefix("https://")
        private = record["private_endpoint"]
        status = "RECONCILING" if record.get("operation") and record["state"] == "RUNNING" else record["state"]
        return {
            "name": record["cluster_name"],
            "id": record["id"],
            "location": record["location"],
            "zone": record["location"],
            "selfLink": f"https://container.googleapis.com/v1/{_resource(record)}",
            "createTime": record["created"],
            "status": status,
            "currentMasterVersion": record["version"],
            "currentNodeVersion": record["version"],
            "initialClusterVersion": record["version"],
            "endpoint": host,
            "masterAuth": {"clusterCaCertificate": base64.b64encode(backing.ca_pem.encode()).decode()},
            "autopilot": {"enabled": record["autopilot"]},
            "privateClusterConfig": {
                "enablePrivateNodes": private,
                "enablePrivateEndpoint": private,
                "privateEndpoint": host,
                "publicEndpoint": "" if private else host,
            },
            "databaseEncryption": dict(record["database_encryption"]),
            "releaseChannel": {"channel": "REGULAR"},
        }

    def _backing(self, record: dict) -> VirtualCluster:
        cluster = self._backing_cluster(record["cluster_name"], record["version"], _placement(record))
        if cluster not in self._checked:
            cluster.add_token_checker(self._kube_user)
            self._checked.add(cluster)
        return cluster

    # --- credentials ----------------------------------------------------------------------------

    def _token_grant(self, body: bytes) -> tuple[int, dict]:
        """The OAuth 2.0 token endpoint: JWT-bearer grant (RFC 7523) for the service account."""
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if self._revoked:
            return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
        if form.get("grant_type") != _JWT_GRANT:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "Only the JWT-bearer grant is emulated.",
            }
        claims = self._verified_claims(form.get("assertion", ""))
        if claims is None or claims.get("aud") not in (GOOGLE_TOKEN_URI, f"{self.endpoint}/token"):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        token = f"ya29.sandbox-{secrets.token_urlsafe(32)}"
        now = time.time()
        with self._lock:
            self._tokens = {t: v for t, v in self._tokens.items() if v["expires"] > now}
            self._tokens[token] = {"email": claims["iss"], "expires": now + TOKEN_TTL}
            self._save()
        return 200, {"access_token": token, "expires_in": TOKEN_TTL, "token_type": "Bearer"}

    def _caller(self, authorization: str) -> str | None:
        """The service-account email behind an ``Authorization`` header, or None."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        if email := self._token_owner(token):
            return email
        claims = self._verified_claims(token)
        return claims["iss"] if claims else None

    def _token_owner(self, token: str) -> str | None:
        with self._lock:
            entry = self._tokens.get(token)
        return entry["email"] if entry and entry["expires"] > time.time() else None

    def _kube_user(self, token: str) -> UserInfo | None:
        """Token checker of the backing clusters: issued access tokens are cluster admins."""
        email = self._token_owner(token)
        return UserInfo(email, (MASTERS, AUTHENTICATED)) if email else None

    def _verified_claims(self, token: str) -> dict | None:
        """Claims of an unexpired RS256 JWT signed with the service-account key, or None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header, claims = json.loads(_unb64(parts[0])), json.loads(_unb64(parts[1]))
            if header.get("alg") != "RS256":
                return None
            self._public_key.verify(
                _unb64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (ValueError, InvalidSignature):
            return None
        if claims.get("iss") != self.service_account_email or claims.get("exp", 0) < time.time():
            return None
        return claims

    @property
    def _key_file(self) -> Path:
        return self._dir / "gke-service-account.json"

    def _write_key_file(self) -> None:
        key = {
            "type": "service_account",
            "project_id": "fleetform-sandbox",
            "private_key_id": self._key_id,
            "private_key": self._private_key_pem,
            "client_email": self.service_account_email,
            "client_id": "100000000000000000001",
            "token_uri": f"{self.endpoint}/token",
        }
        self._dir.mkdir(parents=True, exist_ok=True)
        atomic_write(self._key_file, json.dumps(key, indent=2))

    def _snapshot(self) -> dict:
        return {
            "private_key": self._private_key_pem,
            "private_key_id": self._key_id,
            "clusters": list(self._clusters.values()),
            "operations": self._operations,
            "tokens": self._tokens,
        }


def _key(record: dict) -> tuple[str, str, str]:
    return record["project"], record["location"], record["cluster_name"]


def _placement(record: dict) -> dict[str, str]:
    """Where the cluster runs, for the nodes of a new backing cluster (:mod:`.cluster_addons`)."""
    return {"project": record["project"], "location": record["location"]}


def _resource(record: dict) -> str:
    return f"projects/{record['project']}/locations/{record['location']}/clusters/{record['cluster_name']}"


def _encryption(key_name: str | None) -> dict:
    if key_name:
        return {"state": "ENCRYPTED", "keyName": key_name, "currentState": "CURRENT_STATE_ENCRYPTED"}
    return {"state": "DECRYPTED", "currentState": "CURRENT_STATE_DECRYPTED"}


def _database_encryption_request(spec: dict) -> dict:
    """``desiredDatabaseEncryption`` normalised to ``{"state": name, "keyName": ...}``."""
    state = spec.get("state", 0)
    if isinstance(state, int):
        state = _DATABASE_STATES[state] if 0 <= state < len(_DATABASE_STATES) else str(state)
    if state not in ("ENCRYPTED", "DECRYPTED"):
        raise GkeApiError("INVALID_ARGUMENT", f"desiredDatabaseEncryption.state {state} is not supported.")
    key_name = spec.get("keyName", "")
    if state == "ENCRYPTED" and not re.fullmatch(
        r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+", key_name
    ):
        raise GkeApiError(
            "INVALID_ARGUMENT",
            f"desiredDatabaseEncryption.keyName '{key_name}' is not a Cloud KMS "
            "key name (projects/*/locations/*/keyRings/*/cryptoKeys/*).",
        )
    return {"state": state, "keyName": key_name} if key_name else {"state": state}


def _unauthenticated() -> GkeApiError:
    return GkeApiError(
        "UNAUTHENTICATED",
        "Request had invalid authentication credentials. Expected an OAuth 2 "
        "access token or another valid authentication credential.",
    )


def _json(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError as exc:
        raise GkeApiError("INVALID_ARGUMENT", f"Invalid JSON payload received: {exc}") from exc
    if not isinstance(value, dict):
        raise GkeApiError("INVALID_ARGUMENT", "Invalid JSON payload received: expected an object.")
    return value


def _new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
