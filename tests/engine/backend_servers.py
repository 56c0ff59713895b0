"""State backend servers for tests, on loopback: moto's S3 server and a real PostgreSQL server.

moto checks ``If-Match`` / ``If-None-Match`` on ``PutObject`` and ``DeleteObject`` (5.2.5), but checks
and writes without a lock while its server handles requests on several threads, so two conditional
writes arriving together could both pass. S3 itself makes a conditional write atomic; the server here
gives the same guarantee by handling one request at a time.

PostgreSQL's ``initdb`` refuses to run as root: as root the cluster is made and run by ``nobody``.
Without a server binary the PostgreSQL tests are skipped, saying so (``.ci/run`` installs Debian's
``postgresql`` package).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _OneAtATime:
    """WSGI middleware: requests are handled one after another (S3's conditional writes are atomic)."""

    def __init__(self, app):
        self._app, self._lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        with self._lock:
            return list(self._app(environ, start_response))


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    class SerialMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    server = SerialMotoServer("127.0.0.1", free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_url(moto_endpoint, monkeypatch) -> str:
    """A fresh versioned bucket; the URL of a prefix in it. Credentials are moto's dummies."""
    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    bucket = f"state-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return f"s3://{bucket}/team/state?endpoint={moto_endpoint}&region=us-east-1"


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server on a free loopback port, trust auth for user ``fleetform``; yields its port."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binary (initdb) on this machine; install Debian's postgresql package")
    root = Path(tempfile.mkdtemp(prefix="fleetform-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: the cluster belongs to nobody
        shutil.chown(root, "nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    data, port = root / "data", free_port()
    env = {**os.environ, "LC_ALL": "C"}
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "fleetform", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        env=env,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F"
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
        env=env,
    )
    try:
        yield port
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh database on the test server."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"postgresql://fleetform@127.0.0.1:{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgres://fleetform@127.0.0.1:{postgres_server}/{name}"
