"""What `assure demo seed --with-logins` adds for people who sign in: two snapshots months apart,
a procurement framework whose listings were decided on their gates, and a shortlist saved twice."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from kernel.settings import load_settings
from posture.storage.engine import build_engine, session_factory
from posture.storage.models import (
    Challenge,
    ChallengeEntry,
    JudgeAllocation,
    JudgeConflict,
    Lot,
    LotApplication,
    PostureSnapshot,
    ShortlistVersion,
    User,
)
from tests.cli import assure, cli_env


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    env = cli_env(tmp_path_factory.mktemp("demo-extras") / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    result = assure(
        "demo",
        "seed",
        "--suppliers",
        "80",
        "--as-of",
        "2026-11-01",
        "--with-logins",
        "--json",
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return env, json.loads(result.stdout)


def _rows(env: dict[str, str], model: type) -> list[Any]:
    engine = build_engine(load_settings(env))
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(model)))
    finally:
        engine.dispose()


def test_two_snapshots_months_apart_cover_the_same_subjects(seeded) -> None:  # type: ignore[no-untyped-def]
    env, payload = seeded
    assert list(payload["snapshots"]) == ["2026-09-01", "2026-11-01"]
    counts = list(payload["snapshots"].values())
    assert counts[0] == counts[1] > 80  # every product and the forces
    taken = {snapshot.taken_at.date().isoformat() for snapshot in _rows(env, PostureSnapshot)}
    assert taken == {"2026-09-01", "2026-11-01"}


def test_only_eligible_applications_are_listed_and_the_rest_keep_their_reasons(seeded) -> None:  # type: ignore[no-untyped-def]
    env, payload = seeded
    lots = payload["procurement"]["lots"]
    assert sum(lot["listings"] for lot in lots.values()) > 0
    assert any(lot["listings"] < lot["applications"] for lot in lots.values())
    ours = {lot["lot_id"] for lot in lots.values()}
    applications = [a for a in _rows(env, LotApplication) if a.lot_id in ours]
    assert len(applications) == sum(lot["applications"] for lot in lots.values())
    for application in applications:
        failed = [gate for gate in application.eligibility if not gate["passed"]]
        if application.status == "listed":
            assert application.eligible
            assert not failed
        else:
            assert application.status == "applied"
            assert failed, application.eligibility
    assert {lot.title for lot in _rows(env, Lot) if lot.id in ours} == {
        "Digital evidence and exhibits",
        "Records and case files",
    }


def test_the_shortlist_has_two_versions_that_differ(seeded) -> None:  # type: ignore[no-untyped-def]
    env, payload = seeded
    versions = sorted(_rows(env, ShortlistVersion), key=lambda version: version.version)
    assert [v.id for v in versions] == payload["procurement"]["shortlist_versions"]
    assert [v.version for v in versions] == [1, 2]
    assert versions[0].inputs != versions[1].inputs
    assert all(version.ranking for version in versions)


def test_the_closed_challenge_respects_the_judge_conflict_and_leaves_them_one_to_score(
    seeded,
) -> None:  # type: ignore[no-untyped-def]
    env, payload = seeded
    judge_email = next(x["email"] for x in payload["logins"] if x["role"] == "challenge_judge")
    closed = payload["challenges"]["closed"]
    assert closed["entries"] == 4
    assert closed["conflict_declared"]
    assert closed["allocations"] == 2 * closed["entries"]
    [judge] = [u for u in _rows(env, User) if u.email == judge_email]
    [conflict] = _rows(env, JudgeConflict)
    assert conflict.judge_user_id == judge.id
    entries = {e.id: e for e in _rows(env, ChallengeEntry)}
    allocations = [
        a for a in _rows(env, JudgeAllocation) if a.challenge_id == closed["challenge_id"]
    ]
    for allocation in allocations:
        if allocation.judge_user_id == judge.id:
            assert entries[allocation.entry_id].organisation_id != conflict.organisation_id
    unscored = [a for a in allocations if a.submitted_at is None]
    assert [(a.id, a.judge_user_id) for a in unscored] == [(closed["left_for_the_judge"], judge.id)]


def test_the_open_challenge_takes_entries_now(seeded) -> None:  # type: ignore[no-untyped-def]
    from kernel.clock import utcnow

    env, payload = seeded
    [challenge] = [
        c for c in _rows(env, Challenge) if c.id == payload["challenges"]["open_challenge_id"]
    ]
    assert challenge.status == "published"
    assert challenge.opens_at <= utcnow() < challenge.closes_at
