"""Eligibility gates of a lot (or a buyer's requirement), evaluated against a product's facts.
Pure: the facts are gathered elsewhere, each gate says what it needed, what it saw and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from checks.catalogue import CheckKind, post_quantum_kinds
from kernel.data_yaml import load_data_yaml
from posture.scoring.bands import PostureBand, meets_band
from supplier_portal.forms import FormModel
from supplier_portal.vocabulary import CertificationScheme, DataLocation

AgedGate = Literal["pqc_readiness", "api_conformance"]


class GateEvidencePolicy(BaseModel):
    """supplier_portal/data/gate_evidence.yaml: the oldest check run each gate trusts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_check_age_days: dict[AgedGate, int] = Field(min_length=2)

    def limit(self, gate: AgedGate, named: int | None) -> int:
        """A lot's own limit where it names one and it is no longer than the platform's."""
        default = self.max_check_age_days[gate]
        return default if named is None else min(named, default)


@cache
def gate_evidence_policy() -> GateEvidencePolicy:
    text = (resources.files("supplier_portal") / "data" / "gate_evidence.yaml").read_text("utf-8")
    return GateEvidencePolicy.model_validate(load_data_yaml(text))


class Gates(FormModel):
    min_posture_band: PostureBand | None = None
    required_certifications: list[CertificationScheme] = Field(
        default_factory=list, max_length=len(CertificationScheme)
    )
    min_pqc_readiness: float | None = Field(default=None, ge=0, le=100)
    min_api_score: float | None = Field(default=None, ge=0, le=100)
    # A shorter limit than the platform's on the age of the check runs these two gates trust.
    max_pqc_check_age_days: int | None = Field(default=None, ge=1, le=365)
    max_api_check_age_days: int | None = Field(default=None, ge=1, le=365)
    allowed_data_locations: list[DataLocation] = Field(
        default_factory=list, max_length=len(DataLocation)
    )

    def stored(self) -> dict[str, Any]:
        """The gates as kept with a lot or a requirement: vocabularies as their values."""
        return self.model_dump(mode="json")


@dataclass(frozen=True)
class ProductFacts:
    product_id: int
    posture_band: str | None
    posture_score: float | None
    pqc_readiness: float | None
    api_score: float | None
    certifications: dict[str, date]  # scheme -> expiry
    data_locations: tuple[str, ...]
    # The profile the product's facts require, and the one its band was measured against: a
    # band measured against less than the target proves nothing about the target.
    target_profile: str | None = None
    scored_profile: str | None = None
    # The supplier profiles, least demanding first: a band measured against a more demanding
    # profile than the target also proves the target.
    profile_order: tuple[str, ...] = ()
    # Outcomes forces have excused the product from, e.g. "A4.b accepted by Force X until
    # 2027-03-01": shown to the buyer, never counted as met.
    exceptions: tuple[str, ...] = ()
    # When each kind's newest run (the one whose score counts) finished: evidence too old for
    # a gate fails it, however good its score.
    checked_at: dict[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class GateResult:
    gate: str
    required: Any
    actual: Any
    passed: bool
    reason: str


def evaluate(gates: Gates, facts: ProductFacts, today: date) -> list[GateResult]:
    results = []
    if gates.min_posture_band:
        band = facts.posture_band
        on_target = facts.scored_profile == facts.target_profile or (
            facts.scored_profile in facts.profile_order
            and facts.target_profile in facts.profile_order
            and facts.profile_order.index(facts.scored_profile)
            >= facts.profile_order.index(facts.target_profile)
        )
        passed = meets_band(band, gates.min_posture_band) and on_target
        if band is None:
            reason = "no submitted assessment to score"
        elif not on_target:
            reason = (
                f"band {band} was measured against {facts.scored_profile}, not the "
                f"{facts.target_profile} profile the product's facts require"
            )
        else:
            verdict = "meets" if passed else "is below"
            reason = (
                f"band {band} {verdict} {gates.min_posture_band} against the "
                f"{facts.target_profile} profile"
            )
        results.append(GateResult("posture_band", gates.min_posture_band, band, passed, reason))
    for scheme in gates.required_certifications:
        expiry = facts.certifications.get(scheme)
        passed = expiry is not None and expiry >= today
        reason = (
            "not held"
            if expiry is None
            else f"{'valid until' if passed else 'expired on'} {expiry.isoformat()}"
        )
        results.append(
            GateResult(
                f"certification:{scheme}", "valid", expiry and expiry.isoformat(), passed, reason
            )
        )
    policy = gate_evidence_policy()
    pq_kinds = set(post_quantum_kinds())
    aged: tuple[tuple[AgedGate, float | None, float | None, str, set[str], int | None], ...] = (
        ("pqc_readiness", gates.min_pqc_readiness, facts.pqc_readiness,
         "post-quantum readiness", pq_kinds, gates.max_pqc_check_age_days),
        ("api_conformance", gates.min_api_score, facts.api_score,
         "API conformance score", {CheckKind.API.value}, gates.max_api_check_age_days),
    )  # fmt: skip
    for name, needed, actual, what, kinds, named_limit in aged:
        if needed is None:
            continue
        limit = policy.limit(name, named_limit)
        passed = actual is not None and actual >= needed
        reason = (
            f"no assessable {what} check on record"
            if actual is None
            else f"{what} {actual:g} {'meets' if passed else 'is below'} {needed:g}"
        )
        if actual is not None:
            too_old = _too_old(facts.checked_at, kinds, today, limit)
            if too_old:
                passed = False
                reason = f"{reason}, but {too_old}; this gate trusts runs up to {limit} days old"
        results.append(GateResult(name, needed, actual, passed, reason))
    if gates.allowed_data_locations:
        outside = sorted(set(facts.data_locations) - set(gates.allowed_data_locations))
        passed = bool(facts.data_locations) and not outside
        reason = (
            "no data location stated"
            if not facts.data_locations
            else f"data held in {', '.join(outside)}"
            if outside
            else "all data locations allowed"
        )
        results.append(
            GateResult(
                "data_location",
                gates.allowed_data_locations,
                list(facts.data_locations),
                passed,
                reason,
            )
        )
    return results


def _too_old(checked_at: dict[str, datetime], kinds: set[str], today: date, limit: int) -> str:
    """What makes the evidence too old for the gate, or "" when every run counted is recent
    enough. A score whose run's time is not on record is not trusted either."""
    counted = {kind: moment for kind, moment in checked_at.items() if kind in kinds}
    if not counted:
        return "when its check ran is not on record"
    stale = sorted(
        (kind, (today - moment.date()).days)
        for kind, moment in counted.items()
        if not 0 <= (today - moment.date()).days <= limit
    )
    # A run dated after today (a worker's clock ahead) would never age: trusted no more than
    # one too old.
    return "; ".join(
        f"the newest {kind} run is {age} days old"
        if age >= 0
        else f"the newest {kind} run is dated after today"
        for kind, age in stale
    )


def as_records(results: list[GateResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
