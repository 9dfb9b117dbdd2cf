"""The faults every flawed target plants, and what the API check must report for each: the one
place the ground-truth tests read their expectations from.

Where a fault lives in an operation the description declares, `operation` names it and the
finding must name it too, so a code raised for another reason elsewhere does not count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlantedFault:
    key: str
    planted: str  # what the flawed targets do (case_notes.py says where)
    codes: tuple[str, ...]  # every one must be reported
    operation: str | None = None  # where each code must point, when the fault has one place


def _object_level_codes() -> tuple[str, ...]:
    """The notes that existed before the run are the authorisation matrix's to find
    (API-AUTHZ-001); schemathesis's own finding on the same operation (ST402, a note the other
    identity created during the run) restates it and is folded into it (api_restates.yaml)."""
    return ("API-AUTHZ-001",)


def planted_faults() -> tuple[PlantedFault, ...]:
    return (
        PlantedFault(
            "ignored-authentication",
            "GET /v1/stats answers without any credential",
            ("ST401",),
            "GET /v1/stats",
        ),
        PlantedFault(
            "object-level-authorisation",
            "GET /v1/notes/{note_id} never asks whose note it is; each user has notes already",
            _object_level_codes(),
            "GET /v1/notes/{note_id}",
        ),
        PlantedFault(
            "response-schema",
            "GET /v1/notes with limit above 20 leaves out the required classification",
            ("ST108",),
            "GET /v1/notes",
        ),
        PlantedFault(
            "mass-assignment",
            "POST /v1/notes stores the readOnly owner the client sends",
            ("API-PROBE-009",),
            "POST /v1/notes",
        ),
        PlantedFault(
            "cors-with-credentials",
            "any Origin is reflected with credentials, and GET /v1/me sets a session cookie",
            ("API-PROBE-001",),
        ),
        PlantedFault(
            "unverified-jwt",
            "tokens are decoded without verifying the signature (alg none, no signature pass)",
            ("API-PROBE-003", "API-PROBE-004"),
        ),
        PlantedFault(
            "debug-page",
            "invalid JSON to a write escapes to the framework's debug page or a traceback",
            ("API-PROBE-007",),
        ),
        PlantedFault(
            "no-rate-limit",
            "no 429 and no RateLimit headers, however fast the requests come",
            ("API-PROBE-008",),
        ),
    )


# Of the codes above, those the gate must fail on: critical faults that hand the API to anyone.
GATE_CODES = ("ST401", "API-AUTHZ-001", "API-PROBE-001", "API-PROBE-003", "API-PROBE-004")
