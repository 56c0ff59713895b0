"""A test-only dynamic provider whose resources are files named after them, created exclusively: a second
create of a file that exists is a duplicate, recorded in ``duplicates.log`` and refused. Every call logs
``start-<call> <name>`` first and sleeps around its write, so that a kill can land before, between or after.
It names a resource from its inputs (``locate``), so an interrupted create can be looked up and adopted."""

from __future__ import annotations

import time
from pathlib import Path

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult


def _log(props: dict, line: str, log: str = "events.log") -> None:
    with open(Path(props["dir"]) / log, "a") as out:
        out.write(f"{line}\n")


def _pause(props: dict) -> None:
    time.sleep(float(props["sleep"]))


class LedgerProvider(ResourceProvider):
    def create(self, props):
        _log(props, f"start-create {props['name']}")
        _pause(props)
        try:
            with open(Path(props["dir"]) / props["name"], "x") as out:
                out.write(props["content"])
        except FileExistsError:
            _log(props, f"duplicate {props['name']}", "duplicates.log")
            raise
        _pause(props)
        return CreateResult(id_=props["name"], outs=props)

    def locate(self, props):
        return props["name"]

    def read(self, id_, props):
        path = Path(props["dir"]) / id_
        if not path.exists():
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "content": path.read_text()})

    def diff(self, _id, olds, news):
        return DiffResult(changes=olds.get("content") != news.get("content"), replaces=[])

    def update(self, _id, _olds, news):
        _log(news, f"start-update {news['name']}")
        _pause(news)
        (Path(news["dir"]) / news["name"]).write_text(news["content"])
        _pause(news)
        return UpdateResult(outs=news)

    def delete(self, id_, props):
        _log(props, f"start-delete {id_}")
        _pause(props)
        (Path(props["dir"]) / id_).unlink(missing_ok=True)
        _pause(props)


class Ledger(Resource, module="kill", name="Ledger"):
    def __init__(self, name: str, props: dict, opts=None):
        super().__init__(LedgerProvider(), name, {**props, "name": name}, opts)
