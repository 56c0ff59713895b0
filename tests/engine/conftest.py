"""Fixtures for engine tests: a copy of the file-resource test project in a temp dir."""

from __future__ import annotations

import pytest
from backend_servers import moto_endpoint, postgres_server, postgres_url, s3_url  # noqa: F401 (state backend fixtures)
from files_project import FilesProject


@pytest.fixture
def files_project(tmp_path, monkeypatch) -> FilesProject:
    monkeypatch.setenv("FLEETFORM_PASSPHRASE", "test-passphrase")
    monkeypatch.delenv("FLEETFORM_STATE_DIR", raising=False)
    return FilesProject(tmp_path)
