"""Where the platform holds personal data: the one list that erasure works through and the
data-protection note (docs/data-protection.md) describes; a test holds the two together.

People are platform users (supplier, force and national staff). Their account row holds their
name and e-mail address; what they write as free text can name them or others; the audit trail
keeps who did what apart from its hashed fields (posture/audit_personal.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import InstrumentedAttribute

from posture.storage.models import (
    Alert,
    Answer,
    ApiToken,
    Challenge,
    ChallengeAttachment,
    ChallengeEntry,
    CheckRun,
    Evidence,
    Finding,
    ImportedCatalogue,
    Job,
    JudgeAllocation,
    JudgeConflict,
    LotApplication,
    Organisation,
    ProcurementFramework,
    Product,
    ShortlistVersion,
)


@dataclass(frozen=True)
class FreeText:
    """A column people type into, or a JSON document holding what they typed or what a check
    read from a supplier (a certificate's subject can be an address): erasure replaces the
    person's e-mail address and full name wherever they appear in its text."""

    column: InstrumentedAttribute[Any]
    what: str

    @property
    def name(self) -> str:
        return f"{self.column.class_.__tablename__}.{self.column.key}"

    @property
    def is_json(self) -> bool:
        return isinstance(self.column.type, JSON)


FREE_TEXT: tuple[FreeText, ...] = (
    FreeText(Answer.justification, "a supplier's justification of an answer"),
    FreeText(Answer.comment, "a supplier's comment on an answer"),
    FreeText(Answer.review_message, "an assessor's review message"),
    FreeText(Evidence.filename, "the name of an uploaded evidence file"),
    FreeText(Organisation.description, "an organisation's description"),
    FreeText(Organisation.security_contact, "an organisation's security contact"),
    FreeText(Product.description, "a product's description"),
    FreeText(Challenge.problem_statement, "an innovation challenge's problem statement"),
    FreeText(ChallengeEntry.title, "a challenge entry's title"),
    FreeText(ChallengeEntry.proposal, "a challenge entry's proposal"),
    FreeText(ChallengeAttachment.filename, "the name of a challenge attachment"),
    FreeText(JudgeConflict.reason, "a judge's declared conflict of interest"),
    FreeText(JudgeAllocation.excluded_reason, "why a judge was excluded from an entry"),
    FreeText(ProcurementFramework.description, "a procurement framework's description"),
    FreeText(LotApplication.note, "a buyer's note on a lot application"),
    FreeText(ApiToken.description, "what an API token is for"),
    FreeText(Job.message, "a background job's progress message"),
    FreeText(Job.error, "why a background job failed"),
    FreeText(Job.payload, "what a background job was asked to do"),
    FreeText(Evidence.meta, "what was read from an evidence file"),
    FreeText(ChallengeEntry.eligibility_answers, "a challenge entry's eligibility answers"),
    FreeText(JudgeAllocation.scores, "a judge's scores and comments"),
    FreeText(Challenge.results, "a challenge's published results (entry titles)"),
    FreeText(ShortlistVersion.inputs, "what a shortlist was built from"),
    FreeText(ShortlistVersion.ranking, "a shortlist's ranking"),
    FreeText(LotApplication.flagged, "what a lot application was flagged for"),
    FreeText(CheckRun.result, "a check's report (certificate subjects, server banners)"),
    FreeText(Finding.evidence, "a finding's evidence"),
    FreeText(Alert.detail, "what a monitoring alert saw"),
    FreeText(ImportedCatalogue.content, "an imported catalogue (OSCAL parties can hold contacts)"),
)
# What a person's name or address is replaced with in free text.
REPLACEMENT = "[erased person]"
# A display name shorter than this is not searched for in free text: "Al" or "Sam" would
# replace parts of ordinary words and other people's names.
SHORTEST_NAME = 5
