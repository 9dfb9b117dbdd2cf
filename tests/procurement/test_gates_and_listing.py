"""Eligibility gates with a reason each, the listing lifecycle, and flags when posture slips."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.identity.permissions import NotFound, PermissionDenied
from posture.schedules.runner import ScheduleContext, run_schedule
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, LotApplication
from supplier_portal.automation import schedule_book
from supplier_portal.procurement import lots
from supplier_portal.procurement.gates import Gates, ProductFacts, evaluate
from tests.procurement.conftest import TODAY, WHEN, add_check

STRICT = Gates(
    min_posture_band="B",
    required_certifications=["cyber_essentials_plus"],
    min_pqc_readiness=60,
    min_api_score=70,
    allowed_data_locations=["uk"],
)


def facts(**changes) -> ProductFacts:
    base = {
        "product_id": 1,
        "posture_band": "A",
        "posture_score": 95.0,
        "pqc_readiness": 85.0,
        "api_score": 90.0,
        "certifications": {"cyber_essentials_plus": date(2027, 6, 1)},
        "data_locations": ("uk",),
        "target_profile": "supplier-saas",
        "scored_profile": "supplier-saas",
        "checked_at": {"tls": WHEN, "api": WHEN},
    }
    return ProductFacts(**{**base, **changes})


def _failed(product_facts: ProductFacts) -> dict[str, str]:
    return {r.gate: r.reason for r in evaluate(STRICT, product_facts, TODAY) if not r.passed}


def test_a_product_meeting_every_gate_passes() -> None:
    assert _failed(facts()) == {}


def test_a_band_measured_against_a_more_demanding_profile_proves_the_target() -> None:
    order = ("supplier-on-premises", "supplier-saas", "supplier-critical-national")
    higher = facts(scored_profile="supplier-critical-national", profile_order=order)
    assert _failed(higher) == {}
    lower = facts(
        scored_profile="supplier-on-premises", target_profile="supplier-saas", profile_order=order
    )
    assert list(_failed(lower)) == ["posture_band"]


@pytest.mark.parametrize(
    ("change", "gate", "reason"),
    [
        ({"posture_band": "C"}, "posture_band", "band C is below B"),
        ({"posture_band": None}, "posture_band", "no submitted assessment"),
        # A band measured against less than the facts require fails closed, however good.
        (
            {
                "target_profile": "supplier-critical-national",
                "profile_order": ("supplier-on-premises", "supplier-saas"),
            },
            "posture_band",
            "was measured against supplier-saas",
        ),
        (
            {"target_profile": "supplier-critical-national"},
            "posture_band",
            "band A was measured against supplier-saas, not the supplier-critical-national "
            "profile the product's facts require",
        ),
        ({"certifications": {}}, "certification:cyber_essentials_plus", "not held"),
        (
            {"certifications": {"cyber_essentials_plus": date(2026, 1, 1)}},
            "certification:cyber_essentials_plus",
            "expired on 2026-01-01",
        ),
        ({"pqc_readiness": None}, "pqc_readiness", "no assessable post-quantum readiness check"),
        ({"pqc_readiness": 20.0}, "pqc_readiness", "20 is below 60"),
        ({"api_score": 50.0}, "api_conformance", "50 is below 70"),
        ({"data_locations": ("uk", "us")}, "data_location", "data held in us"),
        # Evidence too old for the gate fails it, however good its score (30 days by default).
        (
            {"checked_at": {"tls": datetime(2026, 10, 1, tzinfo=UTC), "api": WHEN}},
            "pqc_readiness",
            "85 meets 60, but the newest tls run is 56 days old; this gate trusts runs up to "
            "30 days old",
        ),
        (
            {"checked_at": {"tls": WHEN, "api": datetime(2026, 10, 26, tzinfo=UTC)}},
            "api_conformance",
            "the newest api run is 31 days old",
        ),
        (
            {"checked_at": {"tls": datetime(2026, 11, 28, tzinfo=UTC), "api": WHEN}},
            "pqc_readiness",
            "the newest tls run is dated after today",
        ),
        # A score whose run's time is not on record is not trusted.
        ({"checked_at": {"api": WHEN}}, "pqc_readiness", "when its check ran is not on record"),
    ],
)
def test_each_gate_fails_with_its_reason(change, gate: str, reason: str) -> None:
    failed = _failed(facts(**change))
    assert list(failed) == [gate]
    assert reason in failed[gate]


def test_a_lot_may_trust_only_younger_evidence_but_never_older() -> None:
    six_days = facts()  # its runs finished six days before TODAY
    tighter = STRICT.model_copy(update={"max_pqc_check_age_days": 5})
    failed = {r.gate: r.reason for r in evaluate(tighter, six_days, TODAY) if not r.passed}
    assert failed == {
        "pqc_readiness": "post-quantum readiness 85 meets 60, but the newest tls run is 6 days "
        "old; this gate trusts runs up to 5 days old"
    }
    # A lot cannot loosen the platform's limit: 365 days still means 30.
    looser = STRICT.model_copy(update={"max_api_check_age_days": 365})
    old_api = facts(checked_at={"tls": WHEN, "api": datetime(2026, 9, 1, tzinfo=UTC)})
    assert [r.gate for r in evaluate(looser, old_api, TODAY) if not r.passed] == ["api_conformance"]


def test_a_lot_limit_outside_a_day_to_a_year_is_refused() -> None:
    for days in (0, 366, -1):
        with pytest.raises(ValueError, match="max_pqc_check_age_days"):
            Gates.model_validate({"max_pqc_check_age_days": days})


def _framework_lot(pw, gates: Gates = STRICT) -> int:
    with transaction(pw.sessions) as session:
        framework = lots.create_framework(
            session, pw.people["officer"], pw.orgs["home-office"], "PoliceTech COTS 2027"
        )
        return lots.add_lot(session, pw.people["officer"], framework.id, "saas", "SaaS", gates).id


def _apply(pw, lot_id: int, who: str = "a1", product: str = "vault") -> int:
    with transaction(pw.sessions) as session:
        return lots.apply_product(
            session, pw.people[who], lot_id, pw.products[product], today=TODAY
        ).id


def _move(pw, application_id: int, who: str, status: str) -> None:
    with transaction(pw.sessions) as session:
        lots.transition(session, pw.people[who], application_id, status, today=TODAY)


def test_applying_evaluates_and_keeps_every_gate(pw) -> None:
    lot_id = _framework_lot(pw)
    eligible = _apply(pw, lot_id)
    ineligible = _apply(pw, lot_id, "a2", "mapper")
    with pw.sessions() as session:
        good, bad = session.get(LotApplication, eligible), session.get(LotApplication, ineligible)
    assert good.eligible
    assert {r["gate"] for r in good.eligibility} == {
        "posture_band",
        "certification:cyber_essentials_plus",
        "pqc_readiness",
        "api_conformance",
        "data_location",
    }
    assert not bad.eligible
    assert [r["gate"] for r in bad.eligibility if not r["passed"]] == ["data_location"]


def test_a_product_applies_to_a_lot_once(pw) -> None:
    lot_id = _framework_lot(pw)
    _apply(pw, lot_id)
    with pytest.raises(ValidationFailed, match="already applied"):
        _apply(pw, lot_id)


def test_another_supplier_cannot_apply_my_product(pw) -> None:
    lot_id = _framework_lot(pw)
    with pytest.raises(NotFound):
        _apply(pw, lot_id, "a2", "vault")


def test_the_lifecycle_moves_only_as_the_table_allows(pw) -> None:
    application = _apply(pw, _framework_lot(pw))
    with pytest.raises(ValidationFailed, match="cannot become listed"):
        _move(pw, application, "officer", "listed")
    with pytest.raises(PermissionDenied, match="only procurement officers"):
        _move(pw, application, "a1", "under_review")
    for who, status in (
        ("officer", "under_review"),
        ("officer", "listed"),
        ("officer", "suspended"),
        ("officer", "listed"),
        ("a1", "withdrawn"),
    ):
        _move(pw, application, who, status)
    with pytest.raises(ValidationFailed, match="allowed: none"):
        _move(pw, application, "officer", "listed")
    with pw.sessions() as session:
        changes = session.scalars(
            select(AuditEvent.data)
            .where(AuditEvent.action == "procurement.status_changed")
            .order_by(AuditEvent.id)
        ).all()
    assert [c["to"] for c in changes] == [
        "under_review",
        "listed",
        "suspended",
        "listed",
        "withdrawn",
    ]


def test_an_ineligible_product_cannot_be_listed(pw) -> None:
    application = _apply(pw, _framework_lot(pw), "a2", "mapper")
    _move(pw, application, "officer", "under_review")
    with pytest.raises(ValidationFailed, match="not eligible to list: data_location"):
        _move(pw, application, "officer", "listed")


def test_a_listed_product_whose_checks_slip_is_flagged_then_cleared(pw) -> None:
    application = _apply(pw, _framework_lot(pw))
    _move(pw, application, "officer", "under_review")
    _move(pw, application, "officer", "listed")
    later = datetime(2026, 11, 25, tzinfo=UTC)
    with transaction(pw.sessions) as session:
        add_check(session, pw.orgs["s1"], pw.products["vault"], "tls", 10, later)
    with transaction(pw.sessions) as session:
        flagged = lots.recheck_listings(session, Actor("scheduler"), TODAY)
        assert [a.id for a in flagged] == [application]
        assert [f["gate"] for f in flagged[0].flagged] == ["pqc_readiness"]
    with transaction(pw.sessions) as session:
        add_check(
            session,
            pw.orgs["s1"],
            pw.products["vault"],
            "tls",
            90,
            datetime(2026, 11, 26, tzinfo=UTC),
        )
    with transaction(pw.sessions) as session:
        assert lots.recheck_listings(session, Actor("scheduler"), TODAY) == []
        assert session.get(LotApplication, application).flagged is None


def test_applications_are_seen_by_officers_and_their_own_supplier_only(pw) -> None:
    lot_id = _framework_lot(pw)
    mine = _apply(pw, lot_id)
    theirs = _apply(pw, lot_id, "a2", "mapper")
    with pw.sessions() as session:
        seen = {
            who: [a.id for a in lots.visible_applications(session, pw.people[who])]
            for who in ("officer", "a1", "a2")
        }
    assert seen == {"officer": [mine, theirs], "a1": [mine], "a2": [theirs]}


def test_the_daily_recheck_flags_a_listing_whose_newest_tls_run_has_aged_past_its_gate(
    pw, backend_settings
) -> None:
    application = _apply(pw, _framework_lot(pw))
    _move(pw, application, "officer", "under_review")
    _move(pw, application, "officer", "listed")
    book = schedule_book(backend_settings)
    # 31 days after the product's last TLS and API runs, with nothing run since.
    later = datetime(2026, 12, 21, 2, 0, tzinfo=UTC)
    outcome = run_schedule(
        book, "procurement.recheck_listings", ScheduleContext(backend_settings, pw.sessions, later)
    )
    assert (outcome.ran, outcome.status.value) == (True, "succeeded")
    assert outcome.summary["newly_flagged"] == 1
    with pw.sessions() as session:
        flagged = session.get(LotApplication, application).flagged
    assert {f["gate"]: f["reason"] for f in flagged} == {
        "pqc_readiness": "post-quantum readiness 85 meets 60, but the newest tls run is 31 days "
        "old; this gate trusts runs up to 30 days old",
        "api_conformance": "API conformance score 90 meets 70, but the newest api run is 31 days "
        "old; this gate trusts runs up to 30 days old",
    }


def test_a_flag_says_the_new_reasons_when_a_listing_fails_for_others_later(pw) -> None:
    application = _apply(pw, _framework_lot(pw))
    _move(pw, application, "officer", "under_review")
    _move(pw, application, "officer", "listed")
    with transaction(pw.sessions) as session:
        later = datetime(2026, 11, 25, tzinfo=UTC)
        add_check(session, pw.orgs["s1"], pw.products["vault"], "tls", 10, later)
    for day, gates in (
        (TODAY, ["pqc_readiness"]),
        # A month after the API run, with none since: its evidence has aged out too.
        (date(2026, 12, 21), ["pqc_readiness", "api_conformance"]),
    ):
        with transaction(pw.sessions) as session:
            lots.recheck_listings(session, Actor("scheduler"), day)
        with pw.sessions() as session:
            flagged = session.get(LotApplication, application).flagged
        assert [f["gate"] for f in flagged] == gates
    with pw.sessions() as session:
        events = session.scalars(
            select(AuditEvent.data).where(AuditEvent.action == "procurement.listing_flagged")
        ).all()
    assert [e["failed_gates"] for e in events] == [
        ["pqc_readiness"],
        ["pqc_readiness", "api_conformance"],
    ]
