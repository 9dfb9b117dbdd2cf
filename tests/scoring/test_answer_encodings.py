"""Kept answer encodings (posture/scoring/answer_cache.py) give exactly the rows a fresh read
gives, on both backends: after every kind of write to answers, whoever makes it; with payloads
that are malformed or made under another layout; with writers racing the load; and scoring still
answers when the database refuses to keep them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import Engine, delete, event, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from frameworks.loader import default_framework
from posture.scoring import columns
from posture.scoring.answer_cache import ANSWER_ROW, layout_digest
from posture.scoring.columns import load_arrays
from posture.scoring.encode import COLUMN_TYPES, EstateArrays
from posture.scoring.tables import framework_tables
from posture.storage.engine import transaction
from posture.storage.models import Answer, AnswerEncoding, Assessment
from tests.scoring.estate_with_runs import AS_OF, seed_with_runs

LOADED = default_framework()
TABLES = framework_tables(LOADED)


@pytest.fixture
def estate(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        seed_with_runs(session, suppliers=40, runs=30)
    return sessions


def _load(sessions: sessionmaker[Session], encodings: str) -> EstateArrays:
    with transaction(sessions) as session:
        return load_arrays(session, LOADED, TABLES, AS_OF, encodings=encodings)  # type: ignore[arg-type]


def _same(left: EstateArrays, right: EstateArrays) -> bool:
    return left.subjects == right.subjects and all(
        np.array_equal(getattr(left, name), getattr(right, name)) for name in COLUMN_TYPES
    )


@contextmanager
def _answer_reads(engine: Engine) -> Iterator[list[str]]:
    """The statements that read the answers table, as the database receives them."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and " answers." in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _current_ids(sessions: sessionmaker[Session]) -> list[int]:
    return [subject.assessment_id for subject in _load(sessions, "off").subjects]


def test_kept_encodings_are_used_and_give_the_rows_a_fresh_read_gives(
    estate: sessionmaker[Session], engine: Engine
) -> None:
    fresh = _load(estate, "off")
    kept = _load(estate, "keep")
    assert _same(fresh, kept)
    with estate() as session:
        stored = session.scalar(select(func.count()).select_from(AnswerEncoding))
    assert stored == len(fresh.subjects) == 43 + 40
    with _answer_reads(engine) as reads:
        warm = _load(estate, "read")
    assert reads == [], "a load with every encoding current must not read answers"
    assert _same(fresh, warm)
    assert (warm.check_level >= 0).sum() > 20, "the estate must carry check evidence"


def _change_indicators(session: Session, answer_id: int) -> None:
    answer = session.get(Answer, answer_id)
    assert answer is not None
    answer.indicators_met = [] if answer.indicators_met else _an_indicator(answer.outcome_id)


def _an_indicator(outcome_id: str) -> list[str]:
    return [
        name for name, (o, _) in TABLES.indicator_bit.items() if TABLES.outcome_ids[o] == outcome_id
    ][:1]


def _reject(session: Session, answer_id: int) -> None:
    session.execute(update(Answer).where(Answer.id == answer_id).values(review_status="rejected"))


def _delete(session: Session, answer_id: int) -> None:
    session.execute(delete(Answer).where(Answer.id == answer_id))


def _raw_sql(session: Session, answer_id: int) -> None:
    session.execute(
        text("UPDATE answers SET provenance = 'independent', answered_at = :at WHERE id = :id"),
        {"at": datetime(2026, 10, 31, tzinfo=UTC).replace(tzinfo=None), "id": answer_id},
    )


def _bulk_reinsert(session: Session, answer_id: int) -> None:
    """Every answer of the assessment deleted and written again by one bulk insert, one
    indicator fewer: the path a seed or an import takes."""
    assessment_id = session.scalar(select(Answer.assessment_id).where(Answer.id == answer_id))
    columns_ = [c for c in Answer.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    rows = [
        {c.name: getattr(a, c.key) for c in columns_}
        for a in session.scalars(select(Answer).where(Answer.assessment_id == assessment_id))
    ]
    session.execute(delete(Answer).where(Answer.assessment_id == assessment_id))
    session.flush()
    for row in rows:
        row["indicators_met"] = list(row["indicators_met"])[1:]
    session.execute(insert(Answer), rows)


WRITES: dict[str, Callable[[Session, int], None]] = {
    "orm-indicators": _change_indicators,
    "review-rejected": _reject,
    "delete": _delete,
    "raw-sql": _raw_sql,
    "bulk-reinsert": _bulk_reinsert,
}


def _answer_with_indicators(session: Session, assessment_ids: list[int]) -> int:
    for answer in session.scalars(
        select(Answer).where(Answer.assessment_id.in_(assessment_ids)).order_by(Answer.id)
    ):
        if answer.indicators_met and not answer.not_applicable and answer.review_status is None:
            return answer.id
    raise AssertionError("the estate has no answered indicator to change")


@pytest.mark.parametrize("write", sorted(WRITES))
def test_every_kind_of_write_to_answers_makes_the_encoding_stale(
    estate: sessionmaker[Session], write: str
) -> None:
    before = _load(estate, "keep")
    with transaction(estate) as session:
        answer_id = _answer_with_indicators(session, _current_ids(estate))
        WRITES[write](session, answer_id)
    after = _load(estate, "off")
    assert not _same(before, after), "the write must change what scoring reads"
    assert _same(after, _load(estate, "read"))
    assert _same(after, _load(estate, "keep"))
    assert _same(after, _load(estate, "read"))


@pytest.mark.parametrize(
    "corrupt",
    ["truncated", "outcome-out-of-range", "unknown-provenance", "negative-mask", "na-mismatch"],
)
def test_a_malformed_payload_is_read_again_never_trusted(
    estate: sessionmaker[Session], corrupt: str
) -> None:
    fresh = _load(estate, "keep")
    victim = fresh.subjects[50].assessment_id
    with transaction(estate) as session:
        payload = session.scalar(
            select(AnswerEncoding.payload).where(AnswerEncoding.assessment_id == victim)
        )
        assert payload
        rows = np.frombuffer(payload, ANSWER_ROW).copy()
        if corrupt == "truncated":
            bad = payload[:-3]
        else:
            field, value = {
                "outcome-out-of-range": ("outcome", len(TABLES.outcome_ids)),
                "unknown-provenance": ("provenance", 99),
                "negative-mask": ("met", -1),
                "na-mismatch": ("na_justified", True),
            }[corrupt]
            if corrupt == "na-mismatch":
                rows["na_claim"][0] = False
            rows[field][0] = value
            bad = rows.tobytes()
        session.execute(
            update(AnswerEncoding).where(AnswerEncoding.assessment_id == victim).values(payload=bad)
        )
    assert _same(fresh, _load(estate, "read"))
    _load(estate, "keep")
    with estate() as session:
        repaired = session.scalar(
            select(AnswerEncoding.payload).where(AnswerEncoding.assessment_id == victim)
        )
    assert repaired == payload


def test_an_encoding_made_under_another_layout_is_not_used(
    estate: sessionmaker[Session], engine: Engine
) -> None:
    fresh = _load(estate, "keep")
    with transaction(estate) as session:
        session.execute(update(AnswerEncoding).values(layout="0" * 64))
    with _answer_reads(engine) as reads:
        assert _same(fresh, _load(estate, "keep"))
    assert reads, "encodings under another layout must be read again"
    with estate() as session:
        layouts = set(session.scalars(select(AnswerEncoding.layout)))
    assert layouts == {layout_digest(TABLES)}


def test_deleting_an_assessment_deletes_its_encoding(estate: sessionmaker[Session]) -> None:
    _load(estate, "keep")
    with transaction(estate) as session:
        victim = session.scalar(
            select(Assessment.id)
            .where(Assessment.product_id.is_not(None))
            .where(
                ~Assessment.id.in_(
                    select(Assessment.supersedes_id).where(Assessment.supersedes_id.is_not(None))
                )
            )
            .order_by(Assessment.id.desc())
        )
        assert session.get(AnswerEncoding, victim) is not None
        session.execute(text("DELETE FROM evidence WHERE assessment_id = :id"), {"id": victim})
        session.execute(delete(Assessment).where(Assessment.id == victim))
    with estate() as session:
        assert session.get(AnswerEncoding, victim) is None
    assert _same(_load(estate, "off"), _load(estate, "read"))


def test_a_write_committed_while_a_load_reads_leaves_no_stale_encoding(
    estate: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer commits after the load has read the revisions and before it reads the answers:
    whatever the backend's isolation lets the load see, no later load may score stale rows."""
    _load(estate, "keep")
    with transaction(estate) as session:
        # The victim's encoding is made stale, so the racing load reads its answers.
        answer_id = _answer_with_indicators(session, _current_ids(estate))
        _reject(session, answer_id)
    with estate() as session:
        victim = session.scalar(select(Answer.assessment_id).where(Answer.id == answer_id))
        other = session.scalar(
            select(Answer.id)
            .where(Answer.assessment_id == victim, Answer.id != answer_id)
            .where(Answer.not_applicable.is_(False))
            .order_by(Answer.id)
        )
    real_read = columns._read_encoded
    raced = threading.Event()

    def racing_read(session, tables, assessment_ids):  # type: ignore[no-untyped-def]
        if victim in assessment_ids and not raced.is_set():
            raced.set()
            writer = threading.Thread(target=_write_elsewhere, args=(estate, other))
            writer.start()
            writer.join(timeout=30)
            assert not writer.is_alive()
        return real_read(session, tables, assessment_ids)

    monkeypatch.setattr(columns, "_read_encoded", racing_read)
    _load(estate, "keep")
    monkeypatch.undo()
    assert raced.is_set()
    assert _same(_load(estate, "off"), _load(estate, "read"))


def _write_elsewhere(sessions: sessionmaker[Session], answer_id: int) -> None:
    # On SQLite the load holds only a read snapshot (WAL), so a writer may commit beside it.
    with transaction(sessions) as session:
        session.execute(
            update(Answer).where(Answer.id == answer_id).values(indicators_met=[], comment="raced")
        )


def test_twenty_writers_and_keeping_loads_in_parallel_end_current(
    estate: sessionmaker[Session],
) -> None:
    ids = _current_ids(estate)
    with estate() as session:
        answers = session.scalars(
            select(Answer.id).where(Answer.assessment_id.in_(ids)).order_by(Answer.id).limit(20)
        ).all()
    errors: list[BaseException] = []

    def guarded(work: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as error:  # reported by the test below
                errors.append(error)

        return run

    threads = [
        threading.Thread(target=guarded(lambda a=a: _reject_in(estate, a))) for a in answers
    ] + [threading.Thread(target=guarded(lambda: _load(estate, "keep"))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()]
    assert errors == []
    with estate() as session:
        rejected = session.scalar(
            select(func.count()).select_from(Answer).where(Answer.review_status == "rejected")
        )
    assert rejected >= len(answers) == 20
    assert _same(_load(estate, "off"), _load(estate, "read"))


def _reject_in(sessions: sessionmaker[Session], answer_id: int) -> None:
    with transaction(sessions) as session:
        _reject(session, answer_id)


def test_scoring_answers_when_the_database_refuses_to_keep_encodings(
    estate: sessionmaker[Session], engine: Engine
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a second writer holding the database's only write lock is SQLite's case")
    fresh = _load(estate, "off")
    blocker = engine.raw_connection()
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with estate() as session:
            session.execute(text("PRAGMA busy_timeout = 50"))
            kept = load_arrays(session, LOADED, TABLES, AS_OF, encodings="keep")
            session.rollback()
    finally:
        blocker.rollback()
        blocker.close()
    assert _same(fresh, kept)
    with estate() as session:
        assert session.scalar(select(func.count()).select_from(AnswerEncoding)) == 0
