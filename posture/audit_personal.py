"""Personal data in audit events: what may be hashed, how the rest is split off, and the salted
commitments that stand in for it in the chain.

Only values under keys judged not personal (`HASHED_DATA_KEYS`: ids, codes, counts, states,
vocabulary values) stay in an event's hashed data; every other value, at any depth and inside
lists, becomes a personal item, as does a person's name as actor. Each item is committed to on
its own: SHA-256(salt || path and value) with a 32-byte random salt, and the event's hash covers
`personal_digest`, the SHA-256 of its items' sorted commitments. So one person's values can be
erased from an event that also names someone else, and a digest left behind confirms no guess:
the salt that would let a guessed address be checked is erased with the value.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from posture.audit_encoding import canonical_bytes

# Judged not personal: a key here is a decision that no person's name or words can ever be its
# value. Every other key is kept apart; tests/test_audit_personal_keys.py lists the keys code
# writes and fails on one judged both ways.
HASHED_DATA_KEYS = frozenset(
    {
        "accounts", "acr", "after", "alerts", "algorithm", "allocations", "amr", "answers",
        "api_available", "as_of", "assessment_id", "attempt", "attempts", "audit_events",
        "before", "case_reference", "catalogue_id", "category", "certifications", "challenge_id",
        "changed", "check_run_id", "code", "controls", "counts", "data_locations",
        "deployment_model", "eligible", "end_of_life", "endpoint_id", "endpoints", "entry_id",
        "erased_digest", "evidence_id", "expires_at", "failed_gates", "failed_logins",
        "findings", "framework", "framework_id", "from", "fund", "gates", "in_scope",
        "indicators_met", "jobs", "judge_user_id", "key", "kind", "left", "locked", "lot_id",
        "lot_ids", "max_classification", "media_type", "method", "mfa_asserted",
        "not_applicable", "organisation_id", "outcome_id", "policy_version", "posture_band",
        "product_id", "products", "profile", "provider", "public_key_sha256", "ranking",
        "requirement_id", "role", "scopes", "score", "seed", "sha256", "size_bytes", "status",
        "subjects", "support_ends", "suppliers", "target", "text_fields", "to", "transports",
        "user_id", "version", "weight", "withdrawn_from_entries", "worker", "name", "website",
        "converted_events", "legacy_tip_event_id", "level", "action", "days", "cutoff",
        "count", "dependents", "attachments", "pq_challenges_unlinked", "check_runs_detached",
        "files_released", "cleared", "ids", "issuer", "passkeys", "inferred", "kept",
        "confirmed_inferred", "format", "catalogue_version", "sensitive_caveat", "classification",
        "police_networks", "national_systems", "vetting", "forces_served", "records_held",
        "because", "scenario_id", "threat", "likelihood", "impact", "suggested", "residual",
        "expires_on", "links", "ref", "deployment_id", "treatment_id", "action_id",
        "acceptance_id", "exception_id", "due_on", "matrix_version", "facts_digest",
        "subject_kind", "supplier_id", "approver_role", "addresses", "expired",
        "residual_level", "criticality", "internet_facing", "contract_start", "contract_end",
        "renewal_notice_days", "passport_number", "reason_code",
        # notifications (posture/notify): ids, counts and vocabulary values only; a webhook's
        # host and a person's address are kept apart.
        "deliveries", "digest_entries", "delivery_id", "channel", "status_code",
        "email_enabled", "modes", "muted_categories", "severities",
        "opened", "reopened", "resolved", "upheld", "held",
        # scheduled runs (posture/schedules): names, periods and outcomes from the schedule book.
        "schedule", "period", "outcome", "trigger", "regraded",
        # disabling an account (posture/identity/people): how many sessions and tokens it ended.
        "sessions_ended", "tokens_revoked",
        # outcome ids of the framework a piece of evidence supports (supplier_portal/evidence)
        "outcomes",
    }
)  # fmt: skip
# Actors that are the platform itself, never a person. Any other label is a person's (an
# address typed at sign-in, say) and kept apart.
SYSTEM_ACTOR = re.compile(
    r"^(?:cli|system|schedule|retention"
    r"|first-run setup|sign-in|migration \d+|worker|worker-[0-9a-f]{1,64}"
    r"|worker for user \d+|oidc:[A-Za-z0-9._-]{1,100})$"
)
ERASED = "erased person"  # what an erased value reads as
PERSON_LABEL = "user"  # the stored actor label of a person, whose name is an item
# The event migration 0020 appends once it has moved an existing trail's personal data out.
PERSONAL_DATA_SEPARATED = "audit.personal_data_separated"
ACTOR_PATH: tuple[str, ...] = ("actor",)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class PersonalItem:
    path: Path
    value: Any


@dataclass(frozen=True)
class SplitEvent:
    actor_label: str  # safe to hash
    data: dict[str, Any]  # safe to hash
    items: list[PersonalItem]


def actor_is_person(label: str, user_id: int | None) -> bool:
    return user_id is not None or SYSTEM_ACTOR.fullmatch(label) is None


def _split_value(value: Any, path: Path, items: list[PersonalItem]) -> Any:
    if isinstance(value, dict):
        kept: dict[str, Any] = {}
        for key, inner in value.items():
            if key in HASHED_DATA_KEYS:
                kept[key] = _split_value(inner, (*path, key), items)
            else:
                items.append(PersonalItem((*path, key), inner))
        return kept
    if isinstance(value, list):
        return [_split_value(inner, (*path, index), items) for index, inner in enumerate(value)]
    return value


def split(label: str, user_id: int | None, data: dict[str, Any]) -> SplitEvent:
    items: list[PersonalItem] = []
    if actor_is_person(label, user_id):
        items.append(PersonalItem(ACTOR_PATH, label))
        label = PERSON_LABEL
    kept = _split_value(data, ("data",), items)
    return SplitEvent(label, kept, items)


def new_salt() -> str:
    return secrets.token_hex(32)


def item_commitment(salt: str, path: list[Any] | Path, value: Any) -> str:
    body = canonical_bytes({"path": list(path), "value": value})
    return hashlib.sha256(bytes.fromhex(salt) + body).hexdigest()


def personal_digest(commitments: list[str]) -> str:
    return hashlib.sha256(canonical_bytes(sorted(commitments))).hexdigest()  # type: ignore[arg-type]


def sealed_items(items: list[PersonalItem]) -> tuple[list[dict[str, Any]], str]:
    """The stored form of the items (each with its own salt) and the digest the event hashes."""
    stored = []
    for item in items:
        salt = new_salt()
        stored.append({"path": list(item.path), "value": item.value, "salt": salt})
    digest = personal_digest([item_commitment(s["salt"], s["path"], s["value"]) for s in stored])
    return stored, digest


def is_erased(item: Any) -> bool:
    return isinstance(item, dict) and set(item) == {"path", "commitment", "erased_by"}


def stored_commitment(item: Any) -> str | None:
    """The commitment a stored item stands for, or None for an item that is not well formed
    (so a tampered row is a break in verification, never a crash)."""
    if not isinstance(item, dict) or not isinstance(item.get("path"), list) or not item["path"]:
        return None
    if is_erased(item):
        commitment, erased_by = item["commitment"], item["erased_by"]
        ok = isinstance(commitment, str) and _HEX64.fullmatch(commitment) is not None
        by_event = isinstance(erased_by, int) and not isinstance(erased_by, bool)
        return commitment if ok and by_event else None
    if set(item) != {"path", "value", "salt"}:
        return None
    salt = item["salt"]
    if not isinstance(salt, str) or _HEX64.fullmatch(salt) is None:
        return None
    return item_commitment(salt, item["path"], item["value"])


def erased_form(item: dict[str, Any], erasure_id: int) -> dict[str, Any]:
    commitment = item_commitment(item["salt"], item["path"], item["value"])
    return {"path": item["path"], "commitment": commitment, "erased_by": erasure_id}


def item_key(event_id: int, path: list[Any]) -> str:
    return f"{event_id}:{canonical_bytes(path).decode()}"  # type: ignore[arg-type]


def erased_digest(keys: list[str]) -> str:
    """What an erasure event signs into the chain: exactly which items it erased."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def stored_items(personal: Any) -> list[Any]:
    payload = getattr(personal, "payload", None)
    items = payload.get("items") if isinstance(payload, dict) else None
    return items if isinstance(items, list) else []


def _place(target: Any, path: list[Any], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(target, dict) and isinstance(head, str):
        return {**target, head: _place(target.get(head, {}), rest, value)}
    if isinstance(target, list) and isinstance(head, int) and 0 <= head < len(target):
        return [*target[:head], _place(target[head], rest, value), *target[head + 1 :]]
    return target


def shown_actor(label: str, personal: Any) -> str:
    """The actor as people read it: the person's name while it is held, else a marker."""
    for item in stored_items(personal):
        if isinstance(item, dict) and item.get("path") == list(ACTOR_PATH):
            return ERASED if is_erased(item) else str(item.get("value"))
    return label


def shown_data(data: dict[str, Any], personal: Any) -> dict[str, Any]:
    """The event's data with its personal items put back, erased ones as a marker."""
    shown: Any = {"data": dict(data) if isinstance(data, dict) else {}}
    for item in stored_items(personal):
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, list) or path[:1] != ["data"]:
            continue
        shown = _place(shown, path, ERASED if is_erased(item) else item.get("value"))
    return shown["data"]


def merge_items(data: dict[str, Any], items: list[dict[str, Any]]) -> tuple[str | None, dict]:
    """(the actor's label if an item holds it, the data as it was written) — for a downgrade."""
    actor = None
    shown: Any = {"data": dict(data)}
    for item in items:
        if item["path"] == list(ACTOR_PATH):
            actor = item["value"]
        else:
            shown = _place(shown, item["path"], item["value"])
    return actor, shown["data"]
