"""A small Kubernetes client shared by the engine's built-in Kubernetes provider and fleetform's
providers, so that neither imports the other. It imports nothing of either.

* :class:`Kubeconfig` parses a kubeconfig (text, dict or file) and resolves a :class:`Context`.
* :class:`RestClient` sends JSON requests with retries (429, 5xx, network, ``Retry-After``).
* :func:`render_token_kubeconfig` writes a bearer-token kubeconfig.
* Every failure is a :class:`KubeClientError` (:class:`KubeconfigError`, :class:`Unreachable`).
"""

from .errors import KubeClientError, KubeconfigError, Unreachable
from .kubeconfig import Context, Kubeconfig, render_token_kubeconfig
from .rest import RestClient

__all__ = [
    "Context",
    "KubeClientError",
    "Kubeconfig",
    "KubeconfigError",
    "RestClient",
    "Unreachable",
    "render_token_kubeconfig",
]
