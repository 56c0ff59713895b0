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


class Unreachable(Exception):
    """What a dynamic provider raises when it cannot reach where its resource lives."""

    unreachable = True


class ReacherProvider(ResourceProvider):
    """A resource living where the marker stands for; ``<marker>.down`` makes that place unreachable."""

    def create(self, props):
        return CreateResult(id_="reacher", outs=props)

    def delete(self, _id, props):
        if Path(props["path"] + ".down").exists():
            raise Unreachable(f"cannot reach the place of {props['path']}")


class Reacher(Resource, module="test", name="Reacher"):
    def __init__(self, name: str, path: str, opts=None):
        super().__init__(ReacherProvider(), name, {"path": path}, opts)
