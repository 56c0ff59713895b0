"""Where a kubeconfig comes from: the hub's and an idc cluster's credential source."""

import os
from pathlib import Path

from pydantic import Field, SecretStr

from .common import Issue, StrictModel
from .scalars import EnvVarName


class KubeconfigSource(StrictModel):
    """A kubeconfig given inline (a secret), as a file path, or as the name of an environment variable.

    Files and variables keep secrets out of stack files. They are read only when the program needs the
    credential (:meth:`read_kubeconfig`), so a stack validates on machines that do not hold them.
    """

    kubeconfig: SecretStr | None = None
    kubeconfig_file: str | None = Field(None, description='a path, e.g. "~/.kube/hub-prod.yaml"')
    kubeconfig_env: EnvVarName | None = None

    def kubeconfig_sources(self) -> list[str]:
        """The kubeconfig keys that are set."""
        return [key for key in ("kubeconfig", "kubeconfig_file", "kubeconfig_env") if getattr(self, key) is not None]

    def read_kubeconfig(self) -> SecretStr | None:
        """The kubeconfig text from whichever source is set; ``None`` when none is (sandbox, manual agent)."""
        if self.kubeconfig is not None:
            return self.kubeconfig
        if self.kubeconfig_file is not None:
            return SecretStr(Path(self.kubeconfig_file).expanduser().read_text(encoding="utf-8"))
        if self.kubeconfig_env is not None:
            if self.kubeconfig_env not in os.environ:
                raise LookupError(f"environment variable {self.kubeconfig_env} (kubeconfig_env) is not set")
            return SecretStr(os.environ[self.kubeconfig_env])
        return None

    def source_issues(self, required: bool, kind: str | None) -> list[Issue]:
        """At most one of kubeconfig / kubeconfig_file / kubeconfig_env; exactly one when ``required``.

        ``kind`` names the cluster kind whose identifying input the kubeconfig is (V7); None for the hub.
        """
        given = self.kubeconfig_sources()
        if len(given) > 1:
            return [Issue((given[1],), f"{', '.join(given)} are set together", "give exactly one kubeconfig source")]
        if not given and required:
            hint = 'or kubeconfig_file / kubeconfig_env, e.g. kubeconfig_env: "HUB_KUBECONFIG"'
            message = f"FF-KIND-002 kind {kind} requires kubeconfig; missing: kubeconfig" if kind else "field required"
            return [Issue(("kubeconfig",), message, hint)]
        return []
