"""My posture (service): who may read which subject, the explanation in words, the trend from the
subject's own snapshots, open findings, and a subject that has no submitted assessment."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass

import pytest
from sqlalchemy import event

from kernel.clock import utcnow
from posture.identity.permissions import NotFound, PermissionDenied, Principal
from posture.my_posture import MyPosture, my_posture, subject_choices
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


def test_a_force_reads_itself_and_no_other_force_or_supplier(world_db: Db) -> None:
    world, sessions, _ = world_db
    with transaction(sessions) as session:
        other = add_force(session, "f2", Role.FORCE_ASSESSOR)
    force = world.principal(Role.FORCE_ASSESSOR)
    with sessions() as session:
        assert [s.key for s in subject_choices(session, force).subjects] == [_org(world, "f1")]
    own = _read(world_db, force, _org(world, "f1"))
    assert own.explanation is not None
    assert own.subject.kind == "organisation"
    f2 = f"org:{next(iter(other.organisation_ids()))}"
    for key in (f2, _product(world, "s1"), "org:999999", "org:x", "nonsense"):
        with pytest.raises(NotFound, match="subject not found"):
            _read(world_db, force, key)
    # ...and the other force cannot read f1.
    with pytest.raises(NotFound):
        _read(world_db, other, _org(world, "f1"))


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
