"""``postgres://user@host:port/db``: state rows in PostgreSQL, through psycopg.

Tables (created on first use)::

    fleetform_state(project, stack, version, body, backup, updated_at)   one row per stack
    fleetform_lock_holders(project, stack, holder)                      who holds a stack's lock

A write is ``UPDATE … SET version = version + 1 WHERE version = <read>`` (an ``INSERT … ON CONFLICT DO
NOTHING`` for a new stack): a lost race updates no row and is refused, never an overwrite.

The lock is a session-level advisory lock (``pg_try_advisory_lock``) on a key derived from project and
stack, held on a connection of its own for the whole run. The server releases it when that session
ends, however the run ends, so a killed run's lock is free at once and taking a stale lock is the same
atomic step as taking a free one (as with ``flock`` for files). The holder row only names the holder
for the exit-4 message; one found by the next holder means the previous run was killed.

Connection parameters not in the URL come from libpq's environment (``PGPASSWORD``, ``PGSSLMODE``, …).
"""

from __future__ import annotations

import hashlib
import json
import threading
from contextlib import contextmanager

from ..errors import StackLockedError
from ..locking import locked_message, owner_record
from .base import Backend, BackendError, Blob, OnStale, StateConflictError, mask_password

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fleetform_state (
    project text NOT NULL, stack text NOT NULL, version bigint NOT NULL, body bytea NOT NULL,
    backup bytea, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (project, stack));
CREATE TABLE IF NOT EXISTS fleetform_lock_holders (
    project text NOT NULL, stack text NOT NULL, holder jsonb NOT NULL, PRIMARY KEY (project, stack));
"""
_SCHEMA_LOCK = 0x666C656574666F72  # serializes the CREATE TABLEs of runners starting together


def _lock_key(project: str, stack: str) -> int:
    digest = hashlib.sha256(f"fleetform-lock\0{project}\0{stack}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresBackend(Backend):
    def __init__(self, url: str, project: str):
        self._dsn = url
        self.url = mask_password(url)
        self.project = project
        self._guard = threading.Lock()  # one statement at a time on the shared connection
        self._conn = None

    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise BackendError(f"cannot connect to the state backend {self.url}: {_reason(exc)}") from None

    def _run(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with self._guard:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                    with self._conn.transaction():
                        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                        self._conn.execute(_SCHEMA)
                cursor = self._conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else [(cursor.rowcount,)]
            except psycopg.Error as exc:
                raise BackendError(f"state backend {self.url}: {_reason(exc)}") from None

    def location(self, stack: str) -> str:
        return f"{self.url} (project '{self.project}', stack '{stack}')"

    # -- state -----------------------------------------------------------------------------------
    def read(self, stack: str) -> Blob | None:
        rows = self._run(
            "SELECT body, version FROM fleetform_state WHERE project = %s AND stack = %s", (self.project, stack)
        )
        return Blob(bytes(rows[0][0]), str(rows[0][1])) if rows else None

    def write(self, stack: str, data: bytes, expected: str | None, durable: bool) -> str:
        key = (self.project, stack)
        if expected is None:
            rows = self._run(
                "INSERT INTO fleetform_state (project, stack, version, body) VALUES (%s, %s, 1, %s) "
                "ON CONFLICT DO NOTHING RETURNING version",
                (*key, data),
            )
        else:
            rows = self._run(
                "UPDATE fleetform_state SET body = %s, version = version + 1, updated_at = now() "
                "WHERE project = %s AND stack = %s AND version = %s RETURNING version",
                (data, *key, int(expected)),
            )
        if not rows:
            raise StateConflictError(
                f"the state of stack '{stack}' in {self.url} changed since this run read it (another run took the "
                f"stack over); nothing was overwritten. Check `fleetform stack ls`, then run the command again"
            )
        return str(rows[0][0])

    def backup(self, stack: str) -> None:
        self._run("UPDATE fleetform_state SET backup = body WHERE project = %s AND stack = %s", (self.project, stack))

    def restore_hint(self, stack: str) -> str | None:
        rows = self._run(
            "SELECT 1 FROM fleetform_state WHERE project = %s AND stack = %s AND backup IS NOT NULL",
            (self.project, stack),
        )
        if not rows:
            return None
        return (
            f"UPDATE fleetform_state SET body = backup, version = version + 1 "
            f"WHERE project = '{self.project}' AND stack = '{stack}'"
        )

    def stacks(self) -> list[str]:
        return [
            row[0]
            for row in self._run("SELECT stack FROM fleetform_state WHERE project = %s ORDER BY stack", (self.project,))
        ]

    def remove(self, stack: str) -> None:
        self._run("DELETE FROM fleetform_state WHERE project = %s AND stack = %s", (self.project, stack))

    # -- lock ------------------------------------------------------------------------------------
    def _holder(self, stack: str) -> dict | None:
        rows = self._run(
            "SELECT holder FROM fleetform_lock_holders WHERE project = %s AND stack = %s", (self.project, stack)
        )
        return rows[0][0] if rows else None

    def _locked(self, stack: str) -> StackLockedError:
        released = f"the lock is released as soon as its session ends (advisory lock in {self.url})"
        return StackLockedError(locked_message(stack, self._holder(stack), released))

    @contextmanager
    def _session_lock(self, stack: str):
        """A connection holding the stack's advisory lock, or StackLockedError."""
        import psycopg

        self._run("SELECT 1")  # the tables exist
        key = _lock_key(self.project, stack)
        conn = self._connect()
        try:
            try:
                taken = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
            except psycopg.Error as exc:
                raise BackendError(f"state backend {self.url}: {_reason(exc)}") from None
            if not taken:
                raise self._locked(stack)
            yield
            # released here, not only by closing: the server ends a closed session asynchronously
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            conn.close()  # ends the session: whatever happened, the server releases the lock

    @contextmanager
    def lock(self, stack: str, operation: str, since: str, on_stale: OnStale = None):
        with self._session_lock(stack):
            previous = self._holder(stack)
            if previous and on_stale is not None:
                on_stale(previous)
            owner = owner_record(operation, since)
            self._run(
                "INSERT INTO fleetform_lock_holders (project, stack, holder) VALUES (%s, %s, %s) "
                "ON CONFLICT (project, stack) DO UPDATE SET holder = EXCLUDED.holder",
                (self.project, stack, json.dumps(owner)),
            )
            try:
                yield owner
            finally:
                self._run("DELETE FROM fleetform_lock_holders WHERE project = %s AND stack = %s", (self.project, stack))

    def is_locked(self, stack: str) -> bool:
        """Looks the advisory lock up in ``pg_locks`` (taking it would disturb a run that is starting)."""
        key = _lock_key(self.project, stack) & 0xFFFFFFFFFFFFFFFF
        rows = self._run(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s::bigint::oid "
            "AND objid = %s::bigint::oid AND objsubid = 1 AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (key >> 32, key & 0xFFFFFFFF),
        )
        return bool(rows)

    def unlock(self, stack: str) -> dict | None:
        with self._session_lock(stack):
            previous = self._holder(stack)
            self._run("DELETE FROM fleetform_lock_holders WHERE project = %s AND stack = %s", (self.project, stack))
        return previous


def _reason(exc) -> str:
    """The server's or libpq's message, first line only (never the connection string)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
