"""A small Kubernetes client shared by the engine's built-in Kubernetes provider and fleetform's
providers, so that neither imports the other. It imports nothing of either.

* :class:`Kubeconfig` parses a kubeconfig (text, dict or file) and resolves a :class:`Context`.
* :class:`RestClient` sends JSON requests with retries (429, 5xx, network, ``Retry-After``), through one
  connection per kubeconfig and context per process (:mod:`.connections`), whose exec credentials are
  kept until they expire (:mod:`.exec_credential`).
* :func:`remembered` and :func:`new_run`: what a run reads from its clusters once (:mod:`.memo`).
* :func:`render_token_kubeconfig` writes a bearer-token kubeconfig; :mod:`.yaml_text` reads and writes kubeconfig YAML.
* :func:`scripts_on_path` and :func:`delete_unreachable`: process settings both users share.
* Every failure is a :class:`KubeClientError` (:class:`KubeconfigError`, :class:`Unreachable`).
"""

from .errors import KubeClientError, KubeconfigError, Unreachable
from .kubeconfig import Context, Kubeconfig, render_token_kubeconfig
from .memo import new_run, remembered
from .plugins import DELETE_UNREACHABLE_ENV, delete_unreachable, scripts_on_path
from .rest import RestClient

__all__ = [
    "DELETE_UNREACHABLE_ENV",
    "Context",
    "KubeClientError",
    "Kubeconfig",
    "KubeconfigError",
    "RestClient",
    "Unreachable",
    "delete_unreachable",
    "new_run",
    "remembered",
    "render_token_kubeconfig",
    "scripts_on_path",
]
