"""Test program of the kill campaign: `kill:count` ledger files in `kill:dir` holding `kill:content`; every
third one starts a chain the next two depend on, so creates and deletes run both in order and side by side."""

import pulumi
from ledger import Ledger

config = pulumi.Config("kill")
made: list[Ledger] = []
for index in range(int(config.require("count"))):
    needs = [made[-1]] if index % 3 else []
    props = {"dir": config.require("dir"), "content": config.require("content"), "sleep": config.require("sleep")}
    made.append(Ledger(f"l{index}", props, pulumi.ResourceOptions(depends_on=needs)))
