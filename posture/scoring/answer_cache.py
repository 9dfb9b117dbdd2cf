"""Each assessment's counted answers kept encoded the way scoring reads them, so a whole-estate
load reads again only the assessments whose answers changed since they were last encoded.

An encoding is used only while its assessment's `answers_revision` and the framework layout it
was made under are both unchanged. Database triggers raise the revision in the same transaction
as any insert, update or delete of the assessment's answers (migration 0018), and the loader reads
the revision before the answers, so an encoding is never labelled newer than what it holds: at
worst a label is older, and the encoding is then read again. A payload that does not decode to
rows this layout could have written is ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, delete, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from posture.scoring.tables import FrameworkTables
from posture.storage.models import AnswerEncoding, Assessment

log = logging.getLogger(__name__)

# "read": use encodings that are current; "keep": also store the ones made while loading (the
# caller's transaction must be one that may write); "off": neither.
EncodingUse = Literal["off", "read", "keep"]

# One answer as the engine takes it: the outcome's index in the layout, the indicator mask, the
# provenance rank, when it was answered (microseconds since 1970, UTC) and its N/A claim.
ANSWER_ROW = np.dtype(
    [
        ("outcome", "<i4"),
        ("met", "<i8"),
        ("provenance", "i1"),
        ("micros", "<i8"),
        ("na_claim", "?"),
        ("na_justified", "?"),
    ]
)
FORMAT = 1  # raised whenever ANSWER_ROW or the meaning of a field changes
STORE_BATCH = 2_000


@dataclass(frozen=True)
class EncodedAnswers:
    """Answer rows, each with its assessment's id."""

    assessment: NDArray[np.int64]
    rows: NDArray  # of ANSWER_ROW

    @staticmethod
    def empty() -> EncodedAnswers:
        return EncodedAnswers(np.zeros(0, np.int64), np.zeros(0, ANSWER_ROW))


@cache
def layout_digest(tables: FrameworkTables) -> str:
    """What an encoding depends on besides the answers: outcome order, indicator bits and
    provenance ranks."""
    layout = [
        FORMAT,
        tables.outcome_ids,
        sorted((name, list(bit)) for name, bit in tables.indicator_bit.items()),
        sorted(tables.provenance_rank.items()),
    ]
    return hashlib.sha256(json.dumps(layout).encode()).hexdigest()


def current_encoding(digest: str) -> object:
    """The join condition that finds an assessment's encoding only while it is current."""
    return and_(
        AnswerEncoding.assessment_id == Assessment.id,
        AnswerEncoding.revision == Assessment.answers_revision,
        AnswerEncoding.layout == digest,
    )


def decode(
    payloads: list[tuple[int, bytes]], tables: FrameworkTables
) -> tuple[EncodedAnswers, set[int]]:
    """The rows the payloads hold, and the assessments whose payload is not one this layout
    writes (to be read again from their answers)."""
    size = ANSWER_ROW.itemsize
    refused = {assessment for assessment, payload in payloads if len(payload) % size}
    usable = [(a, p) for a, p in payloads if a not in refused]
    if not usable:
        return EncodedAnswers.empty(), refused
    counts = np.array([len(payload) // size for _, payload in usable], np.int64)
    rows = np.frombuffer(b"".join(payload for _, payload in usable), ANSWER_ROW)
    assessment = np.repeat(np.array([a for a, _ in usable], np.int64), counts)
    ranks = np.array(sorted(tables.provenance_rank.values()), np.int8)
    bad = (
        (rows["outcome"] < 0)
        | (rows["outcome"] >= len(tables.outcome_ids))
        | ~np.isin(rows["provenance"], ranks)
        | (rows["met"] < 0)
        | (rows["na_justified"] & ~rows["na_claim"])
    )
    if bad.any():
        refused |= set(np.unique(assessment[bad]).tolist())
        keep = ~np.isin(assessment, list(refused))
        assessment, rows = assessment[keep], rows[keep]
    return EncodedAnswers(assessment, rows), refused


def payloads(encoded: EncodedAnswers, assessment_ids: list[int]) -> dict[int, bytes]:
    """Each asked-for assessment's rows as bytes; an assessment with no counted answers has an
    empty payload, which is itself worth keeping."""
    order = np.argsort(encoded.assessment, kind="stable")
    assessment, rows = encoded.assessment[order], encoded.rows[order]
    starts = np.searchsorted(assessment, assessment_ids, side="left")
    ends = np.searchsorted(assessment, assessment_ids, side="right")
    return {
        assessment_id: rows[start:end].tobytes()
        for assessment_id, start, end in zip(
            assessment_ids, starts.tolist(), ends.tolist(), strict=True
        )
    }


def store(session: Session, digest: str, revisions: dict[int, int], made: dict[int, bytes]) -> bool:
    """Keep fresh encodings in the caller's transaction, replacing older ones. Scoring never
    fails for want of a cache: if the database refuses the write, it is rolled back to before
    it and left for the next load."""
    if not made:
        return True
    ids = sorted(made)
    try:
        with session.begin_nested():
            connection = session.connection()
            for start in range(0, len(ids), STORE_BATCH):
                batch = ids[start : start + STORE_BATCH]
                connection.execute(
                    delete(AnswerEncoding).where(AnswerEncoding.assessment_id.in_(batch))
                )
                connection.execute(
                    insert(AnswerEncoding),
                    [
                        {
                            "assessment_id": assessment_id,
                            "layout": digest,
                            "revision": revisions[assessment_id],
                            "payload": made[assessment_id],
                        }
                        for assessment_id in batch
                    ],
                )
    except DBAPIError as error:
        log.warning("answer encodings not kept: %s", error.orig)
        return False
    return True
