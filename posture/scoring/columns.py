"""Read the estate straight into the engine's row arrays, without building an object per answer.

The same rows as `encode(load_estate(...))` (tests hold the two equal), at a fraction of the cost
for a whole estate: answers are fetched as raw columns, the indicators each answer lists are
decoded once per distinct list rather than once per answer, timestamps become ages in one
vectorised step, and rows are placed by index arithmetic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import BigInteger, Integer, String, Text, case, cast, func, select
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from kernel.collector import collector_paused
from kernel.errors import ValidationFailed
from posture.framework_registry import register_framework
from posture.scoring.answer_cache import (
    ANSWER_ROW,
    EncodedAnswers,
    EncodingUse,
    current_encoding,
    decode,
    layout_digest,
    payloads,
    store,
)
from posture.scoring.check_levels import SubjectKey, latest_runs
from posture.scoring.encode import COLUMN_TYPES, EstateArrays, age_in_days
from posture.scoring.evidence import CheckRunFacts, run_levels
from posture.scoring.inputs import SubjectRef, listed_indicators
from posture.scoring.load import counted_answers
from posture.scoring.subjects import SubjectFilter, current_assessments, cutoff
from posture.scoring.supply_chain import SupplyChain, supply_chains
from posture.scoring.tables import FrameworkTables
from posture.storage.models import Answer, AnswerEncoding, Assessment

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# The current assessments' ids in ascending order, and each one's subject index.
_SubjectOrder = tuple[NDArray[np.int64], NDArray[np.int64]]


@dataclass(frozen=True)
class _Layout:
    """Where each subject's rows start, and each (profile, outcome)'s place among them."""

    offsets: NDArray[np.int64]
    profile: NDArray[np.int64]
    position: NDArray[np.int64]  # [profile, outcome] -> place in the subject's rows, or -1


def _layout(tables: FrameworkTables, profile_ids: list[str]) -> tuple[_Layout, dict]:
    names = sorted(tables.targets)
    in_scope = [np.flatnonzero(tables.targets[name] >= 0) for name in names]
    position = np.full((len(names), len(tables.outcome_ids)), -1, np.int64)
    for index, outcomes in enumerate(in_scope):
        position[index, outcomes] = np.arange(len(outcomes))
    profile = np.array([names.index(p) for p in profile_ids], np.int64)
    counts = np.array([len(in_scope[p]) for p in profile], np.int64)
    offsets = np.zeros(len(profile) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    outcome = (
        np.concatenate([in_scope[p] for p in profile]) if len(profile) else np.zeros(0, np.int64)
    )
    subject = np.repeat(np.arange(len(profile), dtype=np.int64), counts)
    target = (
        np.concatenate([tables.targets[names[p]][in_scope[p]] for p in profile])
        if len(profile)
        else np.zeros(0, np.int8)
    )
    return _Layout(offsets, profile, position), {
        "subject": subject,
        "outcome": outcome.astype(np.int64),
        "target": target.astype(np.int8),
    }


def _epoch_micros_column(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("epoch", Answer.answered_at) * 1_000_000, BigInteger)
    # SQLite keeps UTC timestamps as ISO text, which numpy parses in one step.
    return cast(Answer.answered_at, String)


def _epoch_micros(values: list[Any]) -> NDArray[np.int64]:
    if values and isinstance(values[0], str):
        return np.array(values, dtype="datetime64[us]").astype(np.int64)
    return np.array(values, np.int64)


def _decoded(text: str | None) -> object:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _masks(
    texts: pd.Index, tables: FrameworkTables
) -> tuple[NDArray[np.int64], NDArray[np.int64], dict[int, dict[int, int]]]:
    """For each distinct indicators list: the outcome its indicators belong to and their mask.
    A list whose indicators span several outcomes (data written under another framework
    layout) is returned separately, to be masked per answer."""
    owner = np.full(len(texts), -1, np.int64)
    mask = np.zeros(len(texts), np.int64)
    mixed: dict[int, dict[int, int]] = {}
    for index, text in enumerate(texts):
        by_outcome: dict[int, int] = {}
        for indicator in listed_indicators(_decoded(text)):
            located = tables.indicator_bit.get(indicator)
            if located is not None:
                by_outcome[located[0]] = by_outcome.get(located[0], 0) | (1 << located[1])
        if len(by_outcome) == 1:
            ((owner[index], mask[index]),) = by_outcome.items()
        elif by_outcome:
            mixed[index] = by_outcome
    return owner, mask, mixed


ANSWER_CHUNK = 4_000  # assessments per read: bounded memory, and IN lists every driver takes


def _read_answers(session: Session, ids: list[int]) -> tuple[tuple, ...]:
    """The answers of exactly these assessments, column by column, as the driver gives them."""
    statement = select(
        Answer.assessment_id,
        Answer.outcome_id,
        cast(Answer.indicators_met, Text),
        cast(Answer.provenance, String),
        _epoch_micros_column(session),
        cast(Answer.not_applicable, Integer),
        case((Answer.not_applicable, Answer.justification), else_=None),
    ).where(Answer.assessment_id.in_(ids), counted_answers())
    # Every column is plain text or a number, so rows come from the driver's cursor directly
    # rather than through a per-row result-processing layer.
    result = session.connection().execute(statement)
    try:
        rows = result.cursor.fetchall()
        return tuple(zip(*rows, strict=True)) if rows else ()
    finally:
        result.close()


def _read_encoded(
    session: Session, tables: FrameworkTables, assessment_ids: list[int]
) -> Iterator[tuple[list[int], EncodedAnswers]]:
    """A chunk at a time, so memory stays bounded: the assessments and their answers encoded."""
    ordered = sorted(assessment_ids)
    for start in range(0, len(ordered), ANSWER_CHUNK):
        chunk = ordered[start : start + ANSWER_CHUNK]
        read = _read_answers(session, chunk)
        yield chunk, _encode_chunk(read, tables) if read else EncodedAnswers.empty()


def _place_encodings(
    current_rows: list[tuple], tables: FrameworkTables, place: Callable[[EncodedAnswers], None]
) -> list[int]:
    """Place the answers of every current encoding, a chunk at a time; the assessments whose
    answers must be read instead (no current encoding, or one that does not decode)."""
    to_read = [row[0] for row in current_rows if row[6] is None]
    for start in range(0, len(current_rows), ANSWER_CHUNK):
        chunk = current_rows[start : start + ANSWER_CHUNK]
        cached, refused = decode([(row[0], row[6]) for row in chunk if row[6] is not None], tables)
        place(cached)
        to_read += sorted(refused)
    return to_read


def _encode_chunk(read: tuple[tuple, ...], tables: FrameworkTables) -> EncodedAnswers:
    """Answers as the engine takes them; answers to outcomes this layout lacks are left out."""
    assessment, outcome_text, met_text, provenance, moment, na, why = read
    outcome_codes, outcome_names = pd.factorize(pd.Series(outcome_text, dtype=object))
    outcome_of_name = np.array([tables.outcome_index.get(n, -1) for n in outcome_names], np.int64)
    outcome = outcome_of_name[outcome_codes]

    met_codes, met_texts = pd.factorize(pd.Series(met_text, dtype=object))
    owner, mask, mixed = _masks(met_texts, tables)
    met = np.where(owner[met_codes] == outcome, mask[met_codes], 0)
    for answer_index in np.flatnonzero(np.isin(met_codes, list(mixed))):
        met[answer_index] = mixed[int(met_codes[answer_index])].get(int(outcome[answer_index]), 0)

    provenance_codes, provenance_names = pd.factorize(pd.Series(provenance, dtype=object))
    unknown = [p for p in provenance_names if p not in tables.provenance_rank]
    if unknown:
        raise ValidationFailed(f"answers carry an unknown provenance: {', '.join(unknown)}")
    rank = np.array([tables.provenance_rank[p] for p in provenance_names], np.int8)

    na_claim = np.array(na, np.bool_)
    justified = np.zeros(len(why), np.bool_)
    for index in np.flatnonzero(na_claim):
        text = why[index]
        justified[index] = bool(text and text.strip())
    keep = outcome >= 0
    rows = np.zeros(int(keep.sum()), ANSWER_ROW)
    rows["outcome"] = outcome[keep]
    rows["met"] = met[keep]
    rows["provenance"] = rank[provenance_codes][keep]
    rows["micros"] = _epoch_micros(list(moment))[keep]
    rows["na_claim"] = na_claim[keep]
    rows["na_justified"] = (na_claim & justified)[keep]
    return EncodedAnswers(np.array(assessment, np.int64)[keep], rows)


def _place_answers(
    encoded: EncodedAnswers,
    subjects: _SubjectOrder,
    layout: _Layout,
    columns: dict[str, np.ndarray],
    as_of_micros: int,
) -> None:
    """Put each answer in its subject's row for its outcome; outcomes outside the subject's
    profile have no row."""
    if not len(encoded.rows):
        return
    ordered, order = subjects
    slot = np.minimum(np.searchsorted(ordered, encoded.assessment), len(ordered) - 1)
    if not np.array_equal(ordered[slot], encoded.assessment):
        raise RuntimeError("the answers read do not belong to the assessments asked for")
    subject = order[slot]
    rows = encoded.rows
    outcome = rows["outcome"].astype(np.int64)
    place = layout.position[layout.profile[subject], outcome]
    keep = place >= 0
    row = (layout.offsets[subject] + place)[keep]
    rows = rows[keep]
    columns["met"][row] = rows["met"]
    columns["answered"][row] = True
    columns["na_claim"][row] = rows["na_claim"]
    columns["na_justified"][row] = rows["na_justified"]
    columns["provenance"][row] = rows["provenance"]
    columns["age_days"][row] = np.maximum((as_of_micros - rows["micros"]) / 10**6 / 86400.0, 0.0)


def _place_checks(
    runs: list[tuple[SubjectKey, CheckRunFacts]],
    subject_of: dict[SubjectKey, int],
    loaded: LoadedFramework,
    tables: FrameworkTables,
    layout: _Layout,
    columns: dict[str, np.ndarray],
    end: datetime,
) -> None:
    """The lowest level each subject's latest runs allow per outcome, as subject_levels gives it
    (ties go to the earlier run), from one run_levels per distinct (kind, outcome of the run,
    findings) rather than one per run."""
    templates: dict[tuple, tuple[NDArray[np.int64], NDArray[np.int8]]] = {}
    outcomes, levels, run_subject, run_age = [], [], [], []
    for key, run in runs:
        subject = subject_of.get(key)
        if subject is None:
            continue
        signature = (run.kind, run.assessed, tuple((f.code, f.severity) for f in run.findings))
        template = templates.get(signature)
        if template is None:
            allowed = run_levels(run, loaded.finding_links, loaded.scoring)
            template = templates[signature] = (
                np.array([tables.outcome_index.get(o, -1) for o in allowed], np.int64),
                np.array([evidence.level for evidence in allowed.values()], np.int8),
            )
        outcomes.append(template[0])
        levels.append(template[1])
        run_subject.append(subject)
        run_age.append(age_in_days(run.finished_at, end))
    if not outcomes:
        return
    counts = np.array([len(o) for o in outcomes], np.int64)
    order = np.repeat(np.arange(len(outcomes), dtype=np.int64), counts)
    subject = np.array(run_subject, np.int64)[order]
    outcome = np.concatenate(outcomes)
    level = np.concatenate(levels)
    known = outcome >= 0
    place = np.where(known, layout.position[layout.profile[subject], np.maximum(outcome, 0)], -1)
    keep = place >= 0
    subject, outcome, level, order, place = (
        a[keep] for a in (subject, outcome, level, order, place)
    )
    key = subject * len(tables.outcome_ids) + outcome
    ranked = np.lexsort((order, level, key))
    first = np.ones(len(ranked), np.bool_)
    first[1:] = key[ranked][1:] != key[ranked][:-1]
    winners = ranked[first]
    rows = layout.offsets[subject[winners]] + place[winners]
    columns["check_level"][rows] = level[winners]
    columns["check_age_days"][rows] = np.array(run_age, np.float64)[order[winners]]


def _current_rows(
    session: Session,
    framework_version_id: int,
    as_of: date,
    subjects: SubjectFilter | None,
    digest: str | None,
) -> list[tuple]:
    """Each subject's current assessment (id, organisation, product, profile, label), then,
    with a digest, the assessment's answers revision and its encoding where that is current."""
    statement = current_assessments(framework_version_id, as_of, subjects)
    if digest is not None:
        statement = statement.add_columns(
            Assessment.answers_revision, AnswerEncoding.payload
        ).outerjoin(AnswerEncoding, current_encoding(digest))
    return list(session.connection().execute(statement))


def load_arrays(
    session: Session,
    loaded: LoadedFramework,
    tables: FrameworkTables,
    as_of: date,
    subjects: SubjectFilter | None = None,
    encodings: EncodingUse = "read",
) -> EstateArrays:
    """The engine's rows for every current subject (or those `subjects` names). Answers come
    from current encodings where there are any (`answer_cache.py`) and are read for the rest;
    with `encodings="keep"` the ones read are kept for the next load."""
    # One subject's read is too small for the collector to matter, and request threads scoring
    # one product never touch the process-wide switch.
    with collector_paused(subjects is None):
        return _load(session, loaded, tables, as_of, subjects, encodings)


def _load(
    session: Session,
    loaded: LoadedFramework,
    tables: FrameworkTables,
    as_of: date,
    subjects: SubjectFilter | None,
    encodings: EncodingUse,
) -> EstateArrays:
    framework_row = register_framework(session, loaded)
    digest = None if encodings == "off" else layout_digest(tables)
    current_rows = [
        row
        for row in _current_rows(session, framework_row.id, as_of, subjects, digest)
        if row[3] in loaded.profiles
    ]
    refs = [
        SubjectRef(
            kind="product" if row[2] else "organisation",
            organisation_id=row[1],
            product_id=row[2],
            assessment_id=row[0],
            label=row[4],
        )
        for row in current_rows
    ]
    layout, columns = _layout(tables, [row[3] for row in current_rows])
    size = len(columns["subject"])
    # Unanswered and unchecked until read: -1 marks no provenance and no check level.
    unset = {"provenance": -1, "check_level": -1}
    columns |= {
        name: np.full(size, unset.get(name, 0), kind)
        for name, kind in COLUMN_TYPES.items()
        if name not in columns
    }
    end = cutoff(as_of)
    as_of_micros = (end - EPOCH) // timedelta(microseconds=1)
    assessment_ids = np.array([ref.assessment_id for ref in refs], np.int64)
    order = np.argsort(assessment_ids, kind="stable")
    subject_order: _SubjectOrder = (assessment_ids[order], order)

    def place(encoded: EncodedAnswers) -> None:
        _place_answers(encoded, subject_order, layout, columns, as_of_micros)

    to_read = (
        assessment_ids.tolist() if digest is None else _place_encodings(current_rows, tables, place)
    )
    keeping = encodings == "keep"
    revisions = {row[0]: row[5] for row in current_rows} if keeping else {}
    for chunk, encoded in _read_encoded(session, tables, to_read):
        if keeping and digest is not None:
            # Once the database refuses, the rest is not offered: each try may wait on a lock.
            keeping = store(session, digest, revisions, payloads(encoded, chunk))
        place(encoded)
    _place_checks(
        latest_runs(session, subjects, as_of, titles=False),
        {(ref.organisation_id, ref.product_id): index for index, ref in enumerate(refs)},
        loaded,
        tables,
        layout,
        columns,
        end,
    )
    forces = sorted({ref.organisation_id for ref in refs if ref.product_id is None})
    _place_supply_chains(
        supply_chains(session, loaded, forces, as_of),
        {ref.organisation_id: i for i, ref in enumerate(refs) if ref.product_id is None},
        tables,
        layout,
        columns,
        end,
    )
    return EstateArrays(subjects=refs, **columns)


def _place_supply_chains(
    chains: dict[int, SupplyChain],
    force_subject: dict[int, int],
    tables: FrameworkTables,
    layout: _Layout,
    columns: dict[str, np.ndarray],
    end: datetime,
) -> None:
    """with_supply_chains on the columns: the lower of the portfolio's level and the check
    runs' stands (a tie keeps the check run's)."""
    for organisation_id, chain in chains.items():
        subject = force_subject.get(organisation_id)
        outcome = tables.outcome_index.get(chain.outcome_id)
        if subject is None or outcome is None or chain.level is None:
            continue
        place = layout.position[layout.profile[subject], outcome]
        if place < 0:
            continue
        row = layout.offsets[subject] + place
        current = columns["check_level"][row]
        if current < 0 or chain.level < current:
            columns["check_level"][row] = chain.level
            columns["check_age_days"][row] = age_in_days(chain.checked_at, end)
