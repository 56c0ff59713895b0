"""Where a cloud emulator keeps its state between processes: one JSON file in its data directory."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.kubeapi.persistence import atomic_write


class JsonStore:
    """``<data_dir>/<name>``, written atomically; without a data directory nothing is read or
    written, so every emulator starts afresh."""

    def __init__(self, data_dir: Path | None, name: str):
        self.path = data_dir / name if data_dir is not None else None

    def load(self) -> dict:
        if self.path is None or not self.path.exists():
            return {}
        return json.loads(self.path.read_text())

    def save(self, state: dict) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(state, indent=1, sort_keys=True, ensure_ascii=False))
