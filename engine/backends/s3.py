"""``s3://bucket/prefix?region=…&endpoint=…&profile=…``: state in AWS S3 or any S3-compatible store.

Keys under ``<prefix>/<project>/``::

    stacks/<stack>.json      the state; every write is ``PutObject`` with ``If-Match`` on the ETag
                             read (``If-None-Match: *`` for a new stack), so a lost race is refused
    stacks/<stack>.json.bak  the state before the last run that changed it (a server-side copy)
    locks/<stack>.json       the lock: the holder's record

The lock is taken with ``PutObject`` and ``If-None-Match: *``: of two runners only one can create the
object. Its holder renews it (a conditional overwrite) every ``LEASE / 4`` seconds; a lock is stale
when its holder is a process of this host that no longer runs, or when the store's clock says it was
not renewed for ``LEASE`` seconds. A stale lock is broken only by overwriting it with ``If-Match`` on
the ETag that was judged stale, so two runners breaking it together cannot both win. A holder deletes
the lock with ``If-Match`` on its own ETag: never a lock someone else took over.

With versioning on the bucket, every state write is kept as an object version (the history).
Credentials come from boto3's standard chain (``profile`` picks a named profile).
"""

from __future__ import annotations

import functools
import json
import threading
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

from ..errors import StackLockedError
from ..locking import locked_message, owner_record, pid_is_gone
from .base import Backend, BackendError, BackendUrlError, Blob, OnStale, StateConflictError

LEASE = 60.0  # seconds without renewal after which a lock from another host is stale
_OPTIONS = ("region", "endpoint", "profile")
_CONFLICT = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409")
_MISSING = ("NoSuchKey", "404", "NotFound")


def _code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3Backend(Backend):
    def __init__(self, url: str, project: str):
        parts = urlsplit(url)
        if not parts.netloc:
            raise BackendUrlError(f"backend URL {url!r} names no bucket: use s3://BUCKET[/PREFIX][?region=…]")
        query = parse_qs(parts.query)
        unknown = sorted(set(query) - set(_OPTIONS))
        if unknown:
            raise BackendUrlError(
                f"backend URL {url!r}: unknown option {', '.join(unknown)} (known: {', '.join(_OPTIONS)})"
            )
        options = {key: values[-1] for key, values in query.items()}
        self.bucket = parts.netloc
        prefix = parts.path.strip("/")
        self.base = f"{prefix}/{project}/" if prefix else f"{project}/"
        self.url = url
        self._client = _client(options.get("region"), options.get("endpoint"), options.get("profile"))
        self._held: dict[str, _Lease] = {}

    # -- keys ------------------------------------------------------------------------------------
    def _key(self, stack: str) -> str:
        return f"{self.base}stacks/{stack}.json"

    def _lock_key(self, stack: str) -> str:
        return f"{self.base}locks/{stack}.json"

    def location(self, stack: str) -> str:
        return f"s3://{self.bucket}/{self._key(stack)}"

    def _call(self, what: str, method, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(Bucket=self.bucket, **kwargs)
        except ClientError:
            raise
        except BotoCoreError as exc:
            raise BackendError(f"cannot {what} in s3://{self.bucket}/{self.base}: {exc}") from None

    def _denied(self, what: str, exc) -> BackendError:
        return BackendError(f"cannot {what} in s3://{self.bucket}/{self.base}: {exc}")

    # -- state -----------------------------------------------------------------------------------
    def _get(self, key: str) -> tuple[bytes, str, dict] | None:
        from botocore.exceptions import ClientError

        try:
            response = self._call("read", self._client.get_object, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise self._denied(f"read {key}", exc) from None
        return response["Body"].read(), response["ETag"], response

    def read(self, stack: str) -> Blob | None:
        got = self._get(self._key(stack))
        return None if got is None else Blob(got[0], got[1])

    def write(self, stack: str, data: bytes, expected: str | None, durable: bool) -> str:
        from botocore.exceptions import ClientError

        lease = self._held.get(stack)
        if lease is not None and lease.lost:
            raise StateConflictError(self._lost_message(stack))
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            response = self._call("write", self._client.put_object, Key=self._key(stack), Body=data, **condition)
        except ClientError as exc:
            if _code(exc) in _CONFLICT + _MISSING:
                raise StateConflictError(
                    f"the state {self.location(stack)} changed since this run read it (another run took the "
                    f"stack over); nothing was overwritten. Check `fleetform stack ls`, then run the command again"
                ) from None
            raise self._denied(f"write {self._key(stack)}", exc) from None
        return response["ETag"]

    def backup(self, stack: str) -> None:
        from botocore.exceptions import ClientError

        key = self._key(stack)
        try:
            self._call(
                "back up", self._client.copy_object, Key=f"{key}.bak", CopySource={"Bucket": self.bucket, "Key": key}
            )
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise self._denied(f"copy {key} to {key}.bak", exc) from None

    def restore_hint(self, stack: str) -> str | None:
        from botocore.exceptions import ClientError

        key = self._key(stack)
        try:
            self._call("read", self._client.head_object, Key=f"{key}.bak")
        except ClientError:
            return None
        return f"aws s3 cp s3://{self.bucket}/{key}.bak s3://{self.bucket}/{key}"

    def stacks(self) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        prefix = f"{self.base}stacks/"
        names = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
                keys = [item["Key"][len(prefix) :] for item in page.get("Contents", [])]
                names += [key[: -len(".json")] for key in keys if key.endswith(".json") and "/" not in key]
        except (ClientError, BotoCoreError) as exc:
            raise self._denied("list stacks", exc) from None
        return sorted(names)

    def remove(self, stack: str) -> None:
        from botocore.exceptions import ClientError

        for key in (self._key(stack), f"{self._key(stack)}.bak"):
            try:
                self._call("remove", self._client.delete_object, Key=key)
            except ClientError as exc:
                raise self._denied(f"remove {key}", exc) from None

    # -- lock ------------------------------------------------------------------------------------
    def _lock_state(self, stack: str) -> tuple[dict, str, bool] | None:
        """The lock's record, ETag and whether it is stale; None when there is no lock."""
        got = self._get(self._lock_key(stack))
        if got is None:
            return None
        data, etag, response = got
        try:
            record = json.loads(data)
        except ValueError:
            record = {}
        record = record if isinstance(record, dict) else {}
        headers = response["ResponseMetadata"].get("HTTPHeaders", {})
        now = parsedate_to_datetime(headers["date"]) if "date" in headers else response["LastModified"]
        idle = (now - response["LastModified"]).total_seconds()
        return record, etag, idle > LEASE or pid_is_gone(record)

    def _put_lock(self, stack: str, record: dict, **condition) -> str | None:
        """The new ETag, or None if the condition failed (someone else holds or took the lock)."""
        from botocore.exceptions import ClientError

        body = json.dumps(record).encode()
        try:
            response = self._call("lock", self._client.put_object, Key=self._lock_key(stack), Body=body, **condition)
        except ClientError as exc:
            if _code(exc) in _CONFLICT + _MISSING:
                return None
            raise self._denied(f"write the lock {self._lock_key(stack)}", exc) from None
        return response["ETag"]

    def _locked(self, stack: str, record: dict | None) -> StackLockedError:
        released = (
            f"the lock is released when it ends, or taken over {int(LEASE)}s after its holder stops renewing it "
            f"(lock: s3://{self.bucket}/{self._lock_key(stack)})"
        )
        return StackLockedError(locked_message(stack, record, released))

    @contextmanager
    def lock(self, stack: str, operation: str, since: str, on_stale: OnStale = None):
        owner = owner_record(operation, since)
        etag = self._put_lock(stack, owner, IfNoneMatch="*")
        if etag is None:
            found = self._lock_state(stack)
            if found is not None and not found[2]:
                raise self._locked(stack, found[0])
            if found is not None:  # stale: break it, only if it is still the lock judged stale
                etag = self._put_lock(stack, owner, IfMatch=found[1])
                if etag is None:
                    raise self._locked(stack, (self._lock_state(stack) or ({},))[0])
                if on_stale is not None:
                    on_stale(found[0])
            else:  # released between the two calls
                etag = self._put_lock(stack, owner, IfNoneMatch="*")
                if etag is None:
                    raise self._locked(stack, (self._lock_state(stack) or ({},))[0])
        lease = _Lease(self, stack, owner, etag)
        self._held[stack] = lease
        try:
            yield owner
        finally:
            lease.release()
            self._held.pop(stack, None)

    def _lost_message(self, stack: str) -> str:
        return (
            f"this run lost the lock of stack '{stack}' (it could not renew it in time and another run took it "
            f"over); nothing more was written. Check `fleetform stack ls`, then run the command again"
        )

    def is_locked(self, stack: str) -> bool:
        found = self._lock_state(stack)
        return found is not None and not found[2]

    def unlock(self, stack: str) -> dict | None:
        from botocore.exceptions import ClientError

        found = self._lock_state(stack)
        if found is None:
            return None
        record, etag, stale = found
        if not stale:
            raise self._locked(stack, record)
        try:
            self._call("unlock", self._client.delete_object, Key=self._lock_key(stack), IfMatch=etag)
        except ClientError as exc:
            if _code(exc) in _CONFLICT:
                raise self._locked(stack, (self._lock_state(stack) or ({},))[0]) from None
            if _code(exc) not in _MISSING:
                raise self._denied("remove the lock", exc) from None
        return record


class _Lease:
    """Renews a held lock in the background until released; notes when it was lost."""

    def __init__(self, backend: S3Backend, stack: str, owner: dict, etag: str):
        self._backend, self._stack, self._owner, self._etag = backend, stack, owner, etag
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._renew, name="fleetform-lock-lease", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        renewals = 0
        while not self._stop.wait(LEASE / 4):
            renewals += 1
            try:
                etag = self._backend._put_lock(self._stack, {**self._owner, "renewals": renewals}, IfMatch=self._etag)
            except BackendError:
                continue  # out of reach for now: try again; the state writes still check their own version
            if etag is None:
                self.lost = True
                return
            self._etag = etag

    def release(self) -> None:
        from botocore.exceptions import ClientError

        self._stop.set()
        self._thread.join()
        if self.lost:
            return
        try:  # only our own lock: a lock someone took over has another ETag
            self._backend._call(
                "unlock",
                self._backend._client.delete_object,
                Key=self._backend._lock_key(self._stack),
                IfMatch=self._etag,
            )
        except ClientError as exc:
            if _code(exc) not in _CONFLICT + _MISSING:
                raise self._backend._denied("release the lock", exc) from None


@functools.cache
def _client(region: str | None, endpoint: str | None, profile: str | None):
    """One client per process and settings: building one loads botocore's service model (slow)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise BackendUrlError(f"backend URL option profile: {exc}") from None
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}) if endpoint else None
    return session.client("s3", endpoint_url=endpoint, config=config)
