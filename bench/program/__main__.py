"""Benchmark graph: `bench:clusters` chains of `bench:depth` resources (each depends on the previous)."""

import pulumi
from benchprovider import SleepProvider
from pulumi.dynamic import Resource


class Step(Resource, module="bench", name="Step"):
    def __init__(self, name, props, opts=None):
        super().__init__(SleepProvider(), name, {**props, "ready": None}, opts)


config = pulumi.Config("bench")
clusters = config.require_int("clusters")
depth = config.require_int("depth")
latency = config.require_float("latency")
generation = config.get_int("generation") or 1
for c in range(clusters):
    previous = None
    for d in range(depth):
        key = f"c{c:04d}-r{d}"
        previous = Step(
            key,
            {"key": key, "latency": latency, "generation": generation},
            pulumi.ResourceOptions(depends_on=[previous] if previous else None),
        )
pulumi.export("resources", clusters * depth)
