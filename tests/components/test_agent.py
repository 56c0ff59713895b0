"""The agent manifest is rendered once per distinct input in a process, and is what rendering its objects gives."""

from __future__ import annotations

import uuid

from components import agent


def test_the_agent_manifest_is_rendered_once_per_distinct_input(monkeypatch):
    renders: list[int] = []
    render = agent.render_manifest
    monkeypatch.setattr(agent, "render_manifest", lambda objects: renders.append(1) or render(objects))
    name, labels = f"c-{uuid.uuid4().hex[:8]}", {"env": "prod"}
    first = agent.agent_manifest(name, "kubeconfig-1", labels, {"zone": "a"})
    assert agent.agent_manifest(name, "kubeconfig-1", dict(labels), {"zone": "a"}) == first and len(renders) == 1
    assert first == render(list(agent.agent_objects(name, "kubeconfig-1", labels, {"zone": "a"}).values()))
    rotated = agent.agent_manifest(name, "kubeconfig-2", labels, {"zone": "a"})
    moved = agent.agent_manifest(name, "kubeconfig-2", labels, {"zone": "b"})
    assert len(renders) == 3 and "kubeconfig-2" in rotated and "zone: b" in moved and "zone: b" not in rotated
