"""The one exception family of :mod:`kubeclient`; callers map it onto their own errors."""

from __future__ import annotations


class KubeClientError(Exception):
    """A kubeconfig could not be used or an API server could not be reached; the message says which and why."""


class KubeconfigError(KubeClientError):
    """The kubeconfig is unreadable, malformed, or lacks the context or cluster asked for."""


class Unreachable(KubeClientError):
    """No HTTP answer came back from the API server, even after the retries."""
