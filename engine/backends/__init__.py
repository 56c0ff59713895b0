"""State backends: where each stack's state lives (see :mod:`engine.backends.base` for the interface).

The backend of a project is, first found wins:

1. ``$FLEETFORM_BACKEND``;
2. the URL given to ``fleetform login`` in this working copy (kept in ``.fleetform/backend``);
3. ``backend: {url: …}`` in ``Pulumi.yaml`` (as Pulumi's ``backend.url``);
4. the local directory ``$FLEETFORM_STATE_DIR``, else ``<project>/.fleetform``.

URLs: ``file://PATH`` (relative to the project, ``~`` expanded), ``s3://bucket/prefix?region=…&endpoint=…
&profile=…``, ``postgres://`` or ``postgresql://`` (libpq's URI form).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..files import private_dir, write_atomically
from .base import Backend, BackendUrlError, mask_password

BACKEND_ENV = "FLEETFORM_BACKEND"
STATE_DIR_ENV = "FLEETFORM_STATE_DIR"
SCHEMES = ("file", "s3", "postgres", "postgresql")


@dataclass(frozen=True)
class Choice:
    url: str | None  # None: the default local directory
    source: str  # where the choice came from, for `fleetform whoami`


def login_file(project_dir: Path) -> Path:
    return project_dir / ".fleetform" / "backend"


def default_root(project_dir: Path) -> Path:
    override = os.environ.get(STATE_DIR_ENV)
    return Path(override).absolute() if override else project_dir / ".fleetform"


def choose(project_dir: Path, project_url: str | None) -> Choice:
    """Which backend applies, and why (the order is in this module's docstring)."""
    if os.environ.get(BACKEND_ENV):
        return Choice(os.environ[BACKEND_ENV], f"${BACKEND_ENV}")
    stored = login_file(project_dir)
    if stored.is_file():
        return Choice(stored.read_text(encoding="utf-8").strip(), f"`fleetform login` ({stored})")
    if project_url:
        return Choice(project_url, f"backend.url in {project_dir / 'Pulumi.yaml'}")
    root = default_root(project_dir)
    return Choice(None, f"${STATE_DIR_ENV}" if os.environ.get(STATE_DIR_ENV) else f"the default ({root})")


def check_url(url: str) -> str:
    """The URL's scheme, or BackendUrlError naming the forms that work."""
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise BackendUrlError(
            f"backend URL {mask_password(url)!r}: unknown scheme {scheme!r}; use file://PATH, "
            f"s3://BUCKET[/PREFIX][?region=…&endpoint=…&profile=…] or postgres://USER@HOST[:PORT]/DB"
        )
    return scheme


def open_backend(project_dir: Path, project_name: str, url: str | None) -> Backend:
    """The backend at ``url`` (None: the default local directory) for the project's stacks."""
    from .file import FileBackend

    if url is None:
        return FileBackend(default_root(project_dir))
    scheme = check_url(url)
    if scheme == "file":
        text = url[len("file://") :]
        if not text:
            return FileBackend(default_root(project_dir), url)
        path = Path(os.path.expanduser(text))
        return FileBackend(path if path.is_absolute() else project_dir / path, url)
    if scheme == "s3":
        from .s3 import S3Backend

        return S3Backend(url, project_name)
    from .postgres import PostgresBackend

    return PostgresBackend(url, project_name)


def store_login(project_dir: Path, url: str) -> Path:
    """Remember ``url`` as this working copy's backend (0600: it may hold a password)."""
    path = login_file(project_dir)
    private_dir(path.parent)
    write_atomically(path, (url + "\n").encode(), durable=True)
    return path
