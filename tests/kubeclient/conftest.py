"""A tiny local HTTP server for kubeclient's tests: it answers as scripted, then 200 with a version."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Script:
    """The answers the server gives, in order: (status, headers); then 200 with a JSON body."""

    def __init__(self, *answers: tuple[int, dict]):
        self.answers = list(answers)
        self.seen: list[tuple[str, str, str | None]] = []


@pytest.fixture
def server():
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            script.seen.append(("GET", self.path, self.headers.get("Authorization")))
            status, headers = script.answers.pop(0) if script.answers else (200, {})
            body = json.dumps(
                {"kind": "Status", "code": status} if status != 200 else {"gitVersion": "v1.29.4"}
            ).encode()
            self.send_response(status)
            for name, value in {
                **headers,
                "Content-Type": "application/json",
                "Content-Length": str(len(body)),
            }.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
