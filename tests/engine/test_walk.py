"""The walk always ends, and says exactly what happened to each resource: deep chains and diamonds
with a failure at every level, for up (creates), refresh (reads) and destroy (deletes), with one
provider call at a time and with many."""

from __future__ import annotations

import shutil

import pytest

from engine.errors import EXIT_FAILED, EXIT_OK

FILE = "pulumi-python:dynamic/files:File"
DEPTH = 6  # chain c<k> fails at level k, for every k; chain "ok" does not fail
DEEP = 40  # one long chain without failures


def shape() -> tuple[list[dict], dict[str, set[str]]]:
    """The resources (without fail flags) and what each needs."""
    specs: list[dict] = []
    needs: dict[str, set[str]] = {}

    def add(name: str, after: list[str], via_content: bool = False) -> None:
        spec = {"name": name, "content": name}
        if after and via_content:
            spec["content_from"] = after
        elif after:
            spec["depends_on"] = after
        specs.append(spec)
        needs[name] = set(after)

    for chain in [*(f"c{k}" for k in range(DEPTH)), "ok"]:
        for level in range(DEPTH):
            add(f"{chain}-{level}", [f"{chain}-{level - 1}"] if level else [], via_content=level % 2 == 0)
    for diamond in ("top", "left", "bottom", "none"):  # where the diamond fails
        d = f"d{diamond}"
        add(f"{d}-top", [])
        add(f"{d}-left", [f"{d}-top"])
        add(f"{d}-right", [f"{d}-top"], via_content=True)
        add(f"{d}-bottom", [f"{d}-left", f"{d}-right"])
    for level in range(DEEP):
        add(f"deep-{level}", [f"deep-{level - 1}"] if level else [])
    return specs, needs


def failing() -> set[str]:
    """One failure at every level of the chains, and at each position of the diamonds."""
    return {f"c{k}-{k}" for k in range(DEPTH)} | {"dtop-top", "dleft-left", "dbottom-bottom"}


def outcomes(run) -> dict[str, str]:
    return {s["urn"].rsplit("::", 1)[-1]: s["status"] for s in run.json()["steps"] if s["type"] == FILE}


def expected(order_needs: dict[str, set[str]], names: list[str], bad: set[str]) -> dict[str, str]:
    """A resource runs iff everything it needs (in walk order) succeeded; ``names`` is in walk order."""
    status: dict[str, str] = {}
    for name in names:
        if all(status[n] == "done" for n in order_needs[name]):
            status[name] = "failed" if name in bad else "done"
        else:
            status[name] = "skipped"
    return status


@pytest.mark.timeout(240)
@pytest.mark.parametrize("parallel", ["1", "64"])
def test_up_refresh_and_destroy_end_and_account_for_every_resource(files_project, parallel):
    specs, needs = shape()
    names = [s["name"] for s in specs]
    bad = failing()

    # up: a failed create skips every resource that needs it, directly or not
    files_project.declare(*({**s, "fail": s["name"] in bad} for s in specs))
    up = files_project.cli("up", "--yes", "--json", "--parallel", parallel)
    assert up.code == EXIT_FAILED
    want = expected(needs, names, bad)
    assert outcomes(up) == want
    assert files_project.urns() == {n for n, s in want.items() if s == "done"}
    assert sorted(want.values()).count("failed") == len(bad)
    assert want["c0-5"] == "skipped" and want["c5-4"] == "done" and want["dleft-right"] == "done"

    files_project.declare(*specs)  # the re-run converges
    assert files_project.cli("up", "--yes", "--parallel", parallel).code == EXIT_OK
    assert files_project.urns() == set(names)

    # refresh: reads are independent; exactly the unreadable ones fail
    for name in bad:
        (files_project.files / f"{name}.txt").write_text("not json")
    refresh = files_project.cli("refresh", "--preview-only", "--json", "--parallel", parallel)
    assert refresh.code == EXIT_FAILED
    assert outcomes(refresh) == {n: ("failed" if n in bad else "done") for n in names}

    # destroy: a failed delete skips everything it needs (dependents go first)
    for name in bad:
        path = files_project.files / f"{name}.txt"
        path.unlink()
        path.mkdir()  # deleting a directory with unlink fails
    dependents: dict[str, set[str]] = {n: set() for n in names}
    for name, needed in needs.items():
        for n in needed:
            dependents[n].add(name)
    destroy = files_project.cli("destroy", "--yes", "--json", "--parallel", parallel)
    assert destroy.code == EXIT_FAILED
    want = expected(dependents, list(reversed(names)), bad)
    assert outcomes(destroy) == want
    assert want["c0-0"] == "failed" and want["c5-5"] == "failed" and want["c5-4"] == "skipped"
    assert want["dbottom-top"] == "skipped" and want["dleft-right"] == "done" and want["dleft-top"] == "skipped"
    assert files_project.urns() == {n for n, s in want.items() if s != "done"}

    for name in bad:  # once the deletes can succeed, a second destroy finishes the job
        path = files_project.files / f"{name}.txt"
        shutil.rmtree(path)
        path.write_text('{"content": "x"}')
    assert files_project.cli("destroy", "--yes", "--parallel", parallel).code == EXIT_OK
    assert files_project.urns() == set()
