"""Dynamic provider for the benchmark: every call sleeps a fixed latency and has no other effect."""

import time

from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult


class SleepProvider(ResourceProvider):
    def create(self, props):
        time.sleep(float(props["latency"]))
        return CreateResult(id_=props["key"], outs={**props, "ready": True})

    def diff(self, _id, olds, news):
        return DiffResult(changes=olds.get("generation") != news.get("generation"))

    def update(self, _id, olds, news):
        time.sleep(float(news["latency"]))
        return UpdateResult(outs={**news, "ready": True})

    def delete(self, _id, props):
        time.sleep(float(props["latency"]))
