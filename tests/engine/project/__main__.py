"""Test program: declares file resources from the stack config `files:resources`.

Each entry: {name, content, path?, depends_on?: [names], parent?: name, secret?, fail?, protect?,
ignore_changes?: [...], replace_on_changes?: [...], dbr?, retain?, sleep?, gate?}.
"""

import json

import pulumi
from filesprovider import FileProvider
from pulumi.dynamic import Resource


class File(Resource, module="files", name="File"):
    def __init__(self, name, props, opts=None):
        super().__init__(FileProvider(), name, {**props, "size": None}, opts)


class Group(pulumi.ComponentResource):
    def __init__(self, name, opts=None):
        super().__init__("test:index:Group", name, None, opts)
        self.register_outputs({})


config = pulumi.Config("files")
directory = config.require("dir")
specs = json.loads(config.get("resources") or "[]")
made = {}
groups = {}
for spec in specs:
    if spec.get("group") and spec["group"] not in groups:
        groups[spec["group"]] = Group(spec["group"])
for spec in specs:
    props = {
        "dir": directory,
        "path": spec.get("path", spec["name"] + ".txt"),
        "content": spec["content"],
        "fail": spec.get("fail", False),
        "sleep": spec.get("sleep", 0),
        "dbr": spec.get("dbr", False),
    }
    if "gate" in spec:
        props["gate"] = spec["gate"]
    if "secret" in spec:
        props["secret"] = pulumi.Output.secret(spec["secret"])
    for dep in spec.get("content_from", []):
        props["content"] = made[dep].content.apply(lambda c, own=spec["content"]: f"{own}+{c}")
    opts = pulumi.ResourceOptions(
        depends_on=[made[d] for d in spec.get("depends_on", [])],
        parent=groups.get(spec.get("group")),
        protect=spec.get("protect", False),
        ignore_changes=spec.get("ignore_changes"),
        replace_on_changes=spec.get("replace_on_changes"),
        retain_on_delete=spec.get("retain", False),
    )
    made[spec["name"]] = File(spec["name"], props, opts)

pulumi.export("names", sorted(made))
pulumi.export("token", pulumi.Output.secret("s3cr3t-token-value"))
if made:
    first = next(iter(made.values()))
    pulumi.export("first_content", first.content)
    pulumi.export("first_size", first.size)
