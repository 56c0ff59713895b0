"""JSON requests to one API server, authenticated from a kubeconfig by the official client.

The official ``kubernetes`` client turns the kubeconfig into credentials (tokens, client
certificates; exec plugins such as :mod:`providers.credential_exec` are run by
:mod:`kubeclient.exec_credential`); this module only adds what
every caller here needs on top: raw JSON in and out, and retries with backoff on throttling (429),
server faults (5xx) and network failures, honouring ``Retry-After``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from .connections import connection
from .errors import Unreachable
from .kubeconfig import Kubeconfig

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After is capped rather than stalling a whole run
_NO_ANSWER = 0


class RestClient:
    """One API server, through the process's shared connection to it (:mod:`kubeclient.connections`):
    cheap to make per call, while the connection pool, TLS context and credential are made once."""

    def __init__(
        self, kubeconfig: Kubeconfig, context: str | None = None, *, sleep: Callable[[float], None] = time.sleep
    ):
        self.context = kubeconfig.context(context)
        self.what = kubeconfig.what
        self._sleep = sleep
        self._connection = connection(kubeconfig, self.context)

    @property
    def api(self) -> Any:
        """The official ``ApiClient`` (for what it does beyond JSON requests, e.g. exec over websockets)."""
        return self._connection.client(self.what)

    @property
    def server(self) -> str:
        return self.context.server

    def request(
        self,
        method: str,
        path: str,
        query: dict | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
        attempts: int = 5,
    ) -> tuple[int, Any]:
        """``(HTTP status, parsed JSON body)``. Throttling, 5xx and network failures are retried up
        to ``attempts`` times, waiting ``Retry-After`` when the server sends one, else an exponential
        backoff; the last HTTP answer is returned. Raises :class:`Unreachable` when none came back. A 401
        to an exec credential asks the plugin anew and tries once more, as client-go does."""
        delay = 0.2
        renewed = False
        for attempt in range(attempts):
            status, data, retry_after = self._once(method, path, query, body, content_type, timeout)
            if status == 401 and not renewed and self._connection.renew(self.what):
                renewed = True  # an exec credential refused before it expired: once more with a new one
                status, data, retry_after = self._once(method, path, query, body, content_type, timeout)
            last = attempt == attempts - 1
            if status == _NO_ANSWER and last:
                raise Unreachable(f"{self.what}: cannot reach the API server {self.server} ({data})")
            if not (status == _NO_ANSWER or status in RETRYABLE_STATUS) or last:
                return status, data
            self._sleep(min(retry_after, MAX_RETRY_AFTER) if retry_after is not None else delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")

    def _once(self, method, path, query, body, content_type, timeout) -> tuple[int, Any, float | None]:
        from kubernetes.client.exceptions import ApiException

        api = self.api  # a KubeconfigError when its exec credential expired and no new one can be had
        try:
            response = api.call_api(
                path,
                method,
                query_params=list((query or {}).items()),
                header_params={"Content-Type": content_type, "Accept": "application/json"},
                body=body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _return_http_data_only=True,
                _request_timeout=timeout,
            )
            status, raw, headers = response.status, response.data, response.headers
        except ApiException as exc:
            status, raw, headers = exc.status, exc.body, exc.headers or {}
        except Exception as exc:  # connection refused, TLS failure, timeout
            return _NO_ANSWER, f"{type(exc).__name__}: {exc}", None
        if isinstance(raw, bytes):
            raw = raw.decode(errors="replace")
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = {"message": raw}
        return status, data, _seconds(headers.get("Retry-After"))


def _seconds(retry_after: str | None) -> float | None:
    """``Retry-After`` in its delay-seconds form (the one API servers send); None otherwise."""
    try:
        return max(0.0, float(retry_after)) if retry_after else None
    except ValueError:
        return None
