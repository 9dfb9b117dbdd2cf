"""My posture (service): who may read which subject, the explanation in words, the trend from the
subject's own snapshots, open findings, and a subject that has no submitted assessment."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass

import pytest
from sqlalchemy import event

from frameworks.loader import default_framework
from kernel.clock import utcnow
from posture.assessment_frameworks import framework_named
from posture.explanation_words import explanation
from posture.framework_registry import register_framework
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.my_posture import (
    MyPosture,
    my_posture,
    posture_frameworks,
    readable_subject,
    subject_choices,
)
from posture.storage.engine import transaction
from posture.storage.models.enums import Role
from tests.dashboards.conftest import Db, snapshots
from tests.findings.scenario import OLD_TLS, run_check
from tests.identity.world import World, add_force
from tests.risk_register.test_scenarios import contradict_c3b

__all__ = ["snapshots"]


def _product(world: World, slug: str) -> str:
    return f"product:{world.orgs[slug].product_id}"


def _org(world: World, slug: str) -> str:
    return f"org:{world.orgs[slug].organisation_id}"


def _read(db: Db, principal: Principal, key: str) -> MyPosture:
    with db[1]() as session:
        return my_posture(session, principal, key)


def _words(value: object) -> list[str]:
    """Every string a page could show of the result."""
    if is_dataclass(value):
        return [w for f in fields(value) for w in _words(getattr(value, f.name))]
    if isinstance(value, tuple | list):
        return [w for item in value for w in _words(item)]
    return [value] if isinstance(value, str) else []


def test_a_supplier_picks_from_its_own_products_and_organisation_only(world_db: Db) -> None:
    world, sessions, _ = world_db
    with sessions() as session:
        choices = subject_choices(session, world.principal(Role.SUPPLIER_MEMBER))
    assert [s.key for s in choices.subjects] == [_product(world, "s1"), _org(world, "s1")]
    assert not choices.estate_wide
    assert choices.subjects[0].label == "s1 Evidence Vault (a product of Organisation s1)"


def test_a_supplier_cannot_read_another_suppliers_product_or_a_force(world_db: Db) -> None:
    world = world_db[0]
    supplier = world.principal(Role.SUPPLIER_ADMIN)
    refusals = []
    for key in (_product(world, "s2"), _org(world, "s2"), _org(world, "f1"), "product:999999"):
        with pytest.raises(NotFound) as refused:
            _read(world_db, supplier, key)
        refusals.append(str(refused.value))
    # Another tenant's subject is refused exactly as one that does not exist.
    assert set(refusals) == {"subject not found"}
    assert _read(world_db, supplier, _product(world, "s1")).explanation is not None


def test_a_force_reads_itself_and_the_products_its_dashboards_show_but_no_other_force(
    world_db: Db,
) -> None:
    """A force assessor sees every product's score on the dashboards, so it may follow one to
    the product's posture; another organisation as a whole (a force's explanation names what it
    deploys) stays out of reach."""
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        other = add_force(session, "f2", Role.FORCE_ASSESSOR)
    force = world.principal(Role.FORCE_ASSESSOR)
    with sessions() as session:
        choices = subject_choices(session, force)
    # Its own force first, then the products it may search; no other organisation.
    assert [s.key for s in choices.subjects] == [
        _org(world, "f1"),
        _product(world, "s1"),
        _product(world, "s2"),
    ]
    assert choices.estate_wide
    own = _read(world_db, force, _org(world, "f1"))
    assert own.explanation is not None
    assert own.subject.kind == "organisation"
    product = _read(world_db, force, _product(world, "s1"))
    assert product.explanation is not None
    # Findings stay with those who may read them.
    assert product.open_findings is None
    f2 = f"org:{next(iter(other.organisation_ids()))}"
    for key in (f2, _org(world, "s1"), "org:999999", "product:999999", "org:x", "nonsense"):
        with pytest.raises(NotFound, match="subject not found"):
            _read(world_db, force, key)
    # ...and the other force cannot read f1.
    with pytest.raises(NotFound):
        _read(world_db, other, _org(world, "f1"))


def test_a_link_id_that_is_not_plain_digits_is_not_found_not_an_error(world_db: Db) -> None:
    world = world_db[0]
    national = world.principal(Role.NATIONAL_ASSESSOR)
    for key in ("product:²", "product:-1", "product:1.0", "product: 1", "product:" + "9" * 40):
        with pytest.raises(NotFound, match="subject not found"):
            _read(world_db, national, key)
    with world_db[1]() as session:
        assert readable_subject(session, national, "product:" + "9" * 40) is None
        assert readable_subject(session, national, _product(world, "s2")) is not None
        supplier = world.principal(Role.SUPPLIER_ADMIN, "s1")
        assert readable_subject(session, supplier, _product(world, "s2")) is None


def test_scores_can_be_shown_against_each_framework_loaded(world_db: Db) -> None:
    """The picker lists the frameworks loaded into the database, the default first; against
    one the subject has no assessment for, the page says so in words."""
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        register_framework(session, framework_named("ncsc-caf-4.0"))
    national = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        frameworks = posture_frameworks(session, national)
    assert frameworks[0] == (("ptsbd", "1.0"), "PoliceTech Secure by Design 1.0")
    assert (("ncsc-caf", "4.0"), "NCSC Cyber Assessment Framework 4.0") in frameworks
    with sessions() as session:
        caf = my_posture(session, national, _product(world, "s1"), framework=("ncsc-caf", "4.0"))
        ptsbd = my_posture(session, national, _product(world, "s1"))
    assert caf.explanation is None
    assert caf.unscored is not None
    assert "against NCSC Cyber Assessment Framework 4.0" in caf.unscored
    assert ptsbd.explanation is not None
    assert ptsbd.explanation.framework.startswith("PoliceTech Secure by Design")
    with sessions() as session, pytest.raises(NotFound):
        my_posture(session, national, _product(world, "s1"), framework=("no-such", "1"))


def test_a_role_without_score_reading_is_refused_before_anything_is_read(world_db: Db) -> None:
    world = world_db[0]
    for role in (Role.SIRO, Role.CHALLENGE_JUDGE):
        with pytest.raises(PermissionDenied):
            _read(world_db, world.principal(role), "product:999999")
        with world_db[1]() as session, pytest.raises(PermissionDenied):
            subject_choices(session, world.principal(role))


def test_an_estate_wide_reader_searches_and_a_link_pins_its_subject(world_db: Db) -> None:
    world, sessions, _ = world_db
    national = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        found = subject_choices(session, national, search="S2")
        everything = subject_choices(session, national)
        wildcard = subject_choices(session, national, search="%")
        pinned = subject_choices(session, national, search="s2", pinned=_org(world, "f1"))
        # A pinned subject outside the reader's reach is ignored, not revealed.
        supplier = subject_choices(
            session, world.principal(Role.SUPPLIER_ADMIN), pinned=_org(world, "f1")
        )
    assert found.estate_wide
    assert [s.key for s in found.subjects] == [_product(world, "s2"), _org(world, "s2")]
    # Every force and supplier without a search; a typed % is a character, not a wildcard.
    assert [s.name for s in everything.subjects if s.kind == "organisation"] == [
        "Organisation f1",
        "Organisation s1",
        "Organisation s2",
    ]
    assert wildcard.subjects == ()
    assert pinned.subjects[0].key == _org(world, "f1")
    assert _org(world, "f1") not in [s.key for s in supplier.subjects]


def test_the_explanation_is_score_explains_in_words_with_the_contradicted_claim(
    snapshots: Db,
) -> None:
    world, sessions, _ = snapshots
    contradict_c3b(sessions, world, "s1")
    posture = _read(snapshots, world.principal(Role.SUPPLIER_ADMIN), _product(world, "s1"))
    explained = posture.explanation
    assert explained is not None
    assert posture.unscored is None
    assert explained.band in {"A", "B", "C", "D", "E"}
    assert explained.band_meaning.startswith(f"band {explained.band} is a score")
    assert explained.profile.endswith("(supplier-saas)")
    (contradiction,) = explained.contradictions
    assert (contradiction.outcome, contradiction.claimed) == ("C3.b", "achieved")
    assert contradiction.verified == "not achieved"
    assert contradiction.finding_code == "PQC-TLS-001"
    c3b = next(o for o in explained.outcomes if o.outcome == "C3.b")
    assert c3b.contradicted
    assert "contradicted by finding PQC-TLS-001" in c3b.why
    assert c3b.check.startswith(f"check run {world.orgs['s1'].check_run_id} on ")
    assert "self-asserted" in c3b.evidence
    # Nothing answered but A1.a and C3.b: every other outcome is a gap to the profile.
    assert {g.outcome for g in explained.gaps} >= {"C3.b"}
    assert all(g.short_by > 0 for g in explained.gaps)
    assert "A1.a" in [o.outcome for o in explained.outcomes]
    unanswered = next(o for o in explained.outcomes if o.outcome == "A2.a")
    assert (unanswered.evidence, unanswered.why) == (
        "no answer given",
        "no answer: counted as not achieved",
    )
    assert unanswered.check == "no automated check covers this outcome"


def test_the_trend_is_the_subjects_own_snapshots_oldest_first(snapshots: Db) -> None:
    world = snapshots[0]
    posture = _read(snapshots, world.principal(Role.SUPPLIER_ADMIN), _product(world, "s1"))
    assert [(p.score, p.band) for p in posture.trend] == [(70.0, "B"), (55.5, "C")]
    assert [p.confidence for p in posture.trend] == [80.0, 80.0]
    force = _read(snapshots, world.principal(Role.FORCE_ASSESSOR), _org(world, "f1"))
    assert [(p.score, p.band) for p in force.trend] == [(80.0, "A")]
    # The supplier's organisation as a whole has no snapshot of its own.
    assert _read(snapshots, world.principal(Role.SUPPLIER_ADMIN), _org(world, "s1")).trend == ()


def test_the_trend_is_one_query_whatever_the_estate(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    statements: list[str] = []
    with sessions() as session:
        engine = session.get_bind()

        def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", seen)
        try:
            my_posture(session, world.principal(Role.SUPPLIER_ADMIN), _product(world, "s1"))
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    reads = [s for s in statements if "FROM posture_snapshots" in s]
    assert len(reads) == 1
    assert "posture_snapshots.organisation_id = " in reads[0]
    assert "posture_snapshots.product_id = " in reads[0]


def test_open_findings_are_counted_for_readers_of_findings_only(world_db: Db) -> None:
    world, sessions, _ = world_db
    run_check(sessions, world, [OLD_TLS], utcnow())
    key = _product(world, "s1")
    assert _read(world_db, world.principal(Role.SUPPLIER_MEMBER), key).open_findings == 1
    assert _read(world_db, world.principal(Role.NATIONAL_ASSESSOR), key).open_findings == 1
    assert (
        _read(
            world_db, world.principal(Role.NATIONAL_ASSESSOR), _product(world, "s2")
        ).open_findings
        == 0
    )
    # A buyer reads scores, not findings.
    assert _read(world_db, world.principal(Role.PROCUREMENT_OFFICER), key).open_findings is None


def test_a_subject_with_no_submitted_assessment_says_so(world_db: Db) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        other = add_force(session, "f2", Role.FORCE_ASSESSOR)
    key = f"org:{next(iter(other.organisation_ids()))}"
    for reader in (other, world.principal(Role.NATIONAL_ASSESSOR)):
        posture = _read(world_db, reader, key)
        assert posture.explanation is None
        assert posture.unscored is not None
        assert posture.unscored.startswith("Force f2 has no submitted assessment as of ")
        assert posture.trend == ()


def test_nothing_shown_is_a_raw_key_or_none(snapshots: Db) -> None:
    world, sessions, _ = snapshots
    contradict_c3b(sessions, world, "s1")
    posture = _read(snapshots, world.principal(Role.SUPPLIER_ADMIN), _product(world, "s1"))
    shown = " ".join(_words(posture))
    for raw in ("None", "gap_levels", "self_asserted", "not_achieved", "partially_achieved", "{"):
        assert raw not in shown, raw
    assert asdict(posture)["explanation"]["outcomes"]


def test_a_claim_the_forces_portfolio_contradicts_names_the_portfolio_not_a_run() -> None:
    """A4.a contradicted by the deployed products has no check run: said in words, not None."""
    outcome = {
        "outcome": "A4.a",
        "title": "Supply chain security",
        "weight": 1,
        "critical": False,
        "claimed": "partially achieved",
        "status": "not achieved",
        "rule": "partial: some indicators; contradicted by finding PORTFOLIO-A4A-WEAK",
        "indicators_met": [],
        "provenance": "self_asserted",
        "answered_at": "2026-10-01T00:00:00+00:00",
        "confidence": 0.5,
        "target": "partially_achieved",
        "gap_levels": 1,
        "contradicted_by": {
            "finding": "PORTFOLIO-A4A-WEAK",
            "title": "Deployed products are weak or carry accepted risks",
            "check_run_id": None,
            "checked_at": "2026-11-01T00:00:00+00:00",
            "verified_status": "not achieved",
        },
    }
    report = {
        "score": 45.0,
        "band": "D",
        "confidence": 62.0,
        "as_of": "2026-11-01",
        "assessment_id": 1,
        "scoring_policy_version": "1.0",
        "profile": "force-baseline",
        "band_capped_by_critical": [],
        "objectives": {"A": 28.1},
        "gaps": [],
        "not_applicable": [],
        "outcomes": [outcome],
        "contradicted": [outcome],
    }
    explained = explanation(report, default_framework())
    (contradiction,) = explained.contradictions
    assert contradiction.source == "the force's portfolio of deployed products"
    assert explained.outcomes[0].check.startswith("the force's portfolio on 01 Nov 2026 found")
    assert "None" not in " ".join(_words(explained))


@pytest.mark.parametrize(
    ("weak", "carried_risk", "said"),
    [(False, False, ""), (True, False, " (weak)"), (True, True, " (weak, accepted risk)")],
)
def test_a_deployment_is_marked_in_the_same_words_in_the_app_and_the_cli(
    weak: bool, carried_risk: bool, said: str
) -> None:
    from posture.explanation_words import deployment_flags

    assert deployment_flags({"weak": weak, "carried_risk": carried_risk}) == said
