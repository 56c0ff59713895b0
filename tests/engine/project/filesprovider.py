"""A test-only dynamic provider with real side effects: each resource is a file in a directory.

``content`` changes update the file in place; ``path`` changes replace it. A resource whose
``fail`` input is true fails on create/update. ``sleep`` delays each call, for tests that kill a run;
``gate`` (a path) holds a create or update until that file exists, for tests that race two runs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult


def _log(props: dict, event: str) -> None:
    with open(Path(props["dir"]) / "events.log", "a") as log:
        log.write(f"{event} {props['path']}\n")


def _write(props: dict, event: str) -> None:
    if props.get("fail"):
        _sdk_noise(props["path"])
        raise RuntimeError(f"refusing to write {props['path']} (fail=true)")
    _log(props, f"start-{event}")
    time.sleep(float(props.get("sleep", 0)))
    while props.get("gate") and not Path(props["gate"]).exists():
        time.sleep(0.05)
    path = Path(props["dir"]) / props["path"]
    path.write_text(json.dumps({"content": props["content"], "secret": props.get("secret")}))
    _log(props, event)


def _sdk_noise(path: str) -> None:
    """Print as cloud SDKs do when they fail: a line on stdout, a log record through a handler the SDK adds
    itself (as on import), and a traceback on stderr."""
    import logging
    import sys
    import traceback

    print(f"sdk: retrying {path}")
    logger = logging.getLogger("fake-sdk")
    if not logger.handlers:
        logger.addHandler(logging.StreamHandler())
    logger.warning("sdk: credentials for %s not found", path)
    try:
        raise LookupError("no credentials in the chain")
    except LookupError:
        traceback.print_exc(file=sys.stderr)


class FileProvider(ResourceProvider):
    def create(self, props):
        _write(props, "create")
        return CreateResult(id_=props["path"], outs={**props, "size": len(str(props["content"]))})

    def diff(self, _id, olds, news):
        keys = [k for k in ("path", "dir", "content", "secret", "fail") if olds.get(k) != news.get(k)]
        replaces = [k for k in keys if k in ("path", "dir")]
        return DiffResult(changes=bool(keys), replaces=replaces, delete_before_replace=bool(news.get("dbr")))

    def update(self, _id, olds, news):
        _write(news, "update")
        return UpdateResult(outs={**news, "size": len(str(news["content"]))})

    def read(self, id_, props):
        path = Path(props["dir"]) / id_
        if not path.exists():
            return ReadResult(None, {})
        data = json.loads(path.read_text())
        return ReadResult(id_, {**props, "content": data["content"]})

    def delete(self, id_, props):
        time.sleep(float(props.get("sleep", 0)))
        (Path(props["dir"]) / id_).unlink(missing_ok=True)
        _log(props, "delete")
