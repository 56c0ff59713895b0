"""Process settings that every user of this client shares: where kubeconfig exec plugins are found, and
pulumi-kubernetes's ``deleteUnreachable`` switch."""

from __future__ import annotations

import os
import sysconfig
from typing import Any

DELETE_UNREACHABLE_ENV = "PULUMI_K8S_DELETE_UNREACHABLE"  # pulumi-kubernetes's name for the switch


def scripts_on_path() -> None:
    """Put the directory pip installed this package's scripts in on ``PATH``: kubeconfigs name their exec
    plugin (``fleetform-credential``) by command, never by this machine's interpreter path."""
    scripts = sysconfig.get_path("scripts")
    path = os.environ.get("PATH", "")
    if scripts and scripts not in path.split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join(filter(None, (scripts, path)))


def delete_unreachable(setting: Any = None) -> bool:
    """Whether objects of a cluster that cannot be reached may leave the state on delete: a provider's own
    ``deleteUnreachable`` setting, or the environment switch."""
    return any(
        value is True or str(value).lower() == "true" for value in (setting, os.environ.get(DELETE_UNREACHABLE_ENV))
    )
