"""Cloud emulators without a data directory keep their temporary files (AKS's CA bundle, GKE's key file)
only while they run: one that is only built writes none, and stopping removes what starting wrote."""

from __future__ import annotations

import tempfile

import pytest

from sandbox.clouds.aks import AksEmulator
from sandbox.clouds.gke import GkeEmulator
from sandbox.kubeapi import KubeApiEmulator


@pytest.mark.parametrize(
    ("emulator_type", "file_variable"),
    [(AksEmulator, "REQUESTS_CA_BUNDLE"), (GkeEmulator, "GOOGLE_APPLICATION_CREDENTIALS")],
)
def test_temporary_files_exist_only_while_the_emulator_runs(tmp_path, monkeypatch, emulator_type, file_variable):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with KubeApiEmulator() as kube:
        emulator = emulator_type(kube)
        assert list(tmp_path.iterdir()) == []
        emulator.start()
        written = emulator.environment()[file_variable]
        assert written.startswith(str(tmp_path))
        emulator.start()  # a second start writes nothing new
        assert emulator.environment()[file_variable] == written
        emulator.stop()
        assert list(tmp_path.iterdir()) == []
