"""A test-only dynamic provider: a marker file standing for what a provider's configuration came from
(as a cluster lookup stands for its cluster). Reading it after the file is removed says it is gone."""

from __future__ import annotations

from pathlib import Path

from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider


class MarkerProvider(ResourceProvider):
    def create(self, props):
        Path(props["path"]).write_text("here")
        return CreateResult(id_=props["path"], outs=props)

    def read(self, id_, props):
        return ReadResult(id_, props) if Path(id_).exists() else ReadResult(None, {})

    def delete(self, id_, _props):
        Path(id_).unlink(missing_ok=True)


class Marker(Resource, module="test", name="Marker"):
    def __init__(self, name: str, path: str):
        super().__init__(MarkerProvider(), name, {"path": path})
