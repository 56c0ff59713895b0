"""The status the work agent writes on a ManifestWork from the outcomes of its manifests.

``status.resourceStatus.manifests[]``: per manifest, in order, its ``resourceMeta`` and conditions
``Applied`` (reasons ``AppliedManifestComplete`` / ``AppliedManifestFailed`` with the error as the
message, as OCM names them) and ``Available`` (the object exists: True / False / Unknown).
``status.conditions``: ``Applied`` True when every manifest applied, else False with a message
naming each failed manifest and its error; ``Available`` True when every object exists, False when
one is missing, otherwise Unknown. Every condition carries the work's ``observedGeneration``.
``Progressing``, ``Degraded``, ``Complete`` and ``Deleting`` are not written.
"""

from __future__ import annotations

from .conditions import condition, merged
from .manifests import Outcome, describe


def work_status(work: dict, outcomes: list[Outcome]) -> dict:
    generation = work["metadata"].get("generation")
    old = work.get("status") or {}
    old_manifests = {
        (m.get("resourceMeta") or {}).get("ordinal"): m.get("conditions") or []
        for m in (old.get("resourceStatus") or {}).get("manifests") or []
    }
    manifests = [
        {
            "resourceMeta": o.resource_meta,
            "conditions": merged(
                old_manifests.get(o.resource_meta["ordinal"], []), _manifest_conditions(o, generation)
            ),
        }
        for o in outcomes
    ]
    return {
        "conditions": merged(old.get("conditions") or [], _work_conditions(outcomes, generation)),
        "resourceStatus": {"manifests": manifests},
    }


def _manifest_conditions(outcome: Outcome, generation: int | None) -> list[dict]:
    if outcome.error is None:
        applied = condition("Applied", "True", "AppliedManifestComplete", "Apply manifest complete", generation)
    else:
        applied = condition("Applied", "False", "AppliedManifestFailed", outcome.error, generation)
    reason = {"True": "ResourceAvailable", "False": "ResourceNotAvailable"}.get(
        outcome.available, "ResourceStatusUnknown"
    )
    message = {"True": "the resource exists", "False": "the resource does not exist"}.get(
        outcome.available, "whether the resource exists cannot be told"
    )
    return [applied, condition("Available", outcome.available, reason, message, generation)]


def _work_conditions(outcomes: list[Outcome], generation: int | None) -> list[dict]:
    failed = [o for o in outcomes if o.error is not None]
    if failed:
        details = "; ".join(
            f"manifest {o.resource_meta['ordinal']} ({describe(o.resource_meta)}): {o.error}" for o in failed
        )
        applied = condition(
            "Applied", "False", "AppliedManifestWorkFailed", f"Failed to apply manifest work: {details}", generation
        )
    else:
        applied = condition(
            "Applied", "True", "AppliedManifestWorkComplete", "Apply manifest work complete", generation
        )
    states = [o.available for o in outcomes]
    if "False" in states:
        missing = ", ".join(describe(o.resource_meta) for o in outcomes if o.available == "False")
        available = condition("Available", "False", "ResourcesNotAvailable", f"not available: {missing}", generation)
    elif "Unknown" in states:
        available = condition(
            "Available",
            "Unknown",
            "ResourcesStatusUnknown",
            f"{states.count('Unknown')} of {len(states)} resources are in an unknown state",
            generation,
        )
    else:
        available = condition("Available", "True", "ResourcesAvailable", "All resources are available", generation)
    return [applied, available]
