"""A small estate with one record of every retention kind on each side of its period's edge.

Rows are written directly through the models (the sweep reads tables, whatever wrote them),
with their event times placed relative to the shipped policy's cutoffs at NOW.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from posture.blobs import BlobStore
from posture.retention.policy import RetentionPolicy, load_policy
from posture.storage.models import (
    ApiToken,
    Assessment,
    AuditEvent,
    Challenge,
    ChallengeAttachment,
    ChallengeEntry,
    CheckRun,
    Evidence,
    FrameworkVersion,
    Invitation,
    Job,
    JudgeAllocation,
    JudgeConflict,
    Organisation,
    PasskeyChallenge,
    PqChallenge,
    Product,
    SignInAddress,
    User,
    UserSession,
)
from posture.storage.models.enums import AssessmentStatus, OrgKind, Provenance, Role, RunStatus

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
# Personal data the audit trail of a sweep must never carry.
PERSONAL = ("jo.bloggs@supplier.example", "Jo Bloggs", "203.0.113.77", "Our secret proposal")


def cutoff(policy: RetentionPolicy, kind: str) -> datetime:
    return next(rule for rule in policy.rules if rule.kind == kind).cutoff(NOW)


@dataclass
class Estate:
    """Ids of what was made, by name: `due` rows are a second past their period, `kept` rows
    a second short of it."""

    ids: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)


class EstateBuilder:
    def __init__(self, session: Session, store: BlobStore, policy: RetentionPolicy | None = None):
        self.session = session
        self.store = store
        self.policy = policy or load_policy()
        self.estate = Estate()
        self.org = self._add(
            Organisation(slug="acme", name="Acme Policing Ltd", kind=OrgKind.SUPPLIER)
        )
        self.user = self._add(User(email=PERSONAL[0], display_name=PERSONAL[1]))
        self.framework = self._add(
            FrameworkVersion(
                framework_id="ptsbd", version="1.0", title="PTSbD", content_sha256="0" * 64
            )
        )

    def _add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def edge(self, kind: str, due: bool) -> datetime:
        """The event time a second past (due) or short of (kept) the kind's cutoff."""
        edge = cutoff(self.policy, kind)
        return edge - SECOND if due else edge + SECOND

    def file(self, name: str, content: bytes) -> str:
        """A file stored a day ago, with the records that name it (the sweep keeps a file
        stored within the hour, whatever names it)."""
        digest = self.store.put(content)
        backdate(self.store, digest, timedelta(days=1))
        self.estate.files[name] = digest
        return digest

    def product(self, name: str, withdrawn_at: datetime | None) -> Product:
        return self._add(
            Product(
                organisation_id=self.org.id,
                name=name,
                category="records",
                deployment_model="saas",
                deleted_at=withdrawn_at,
            )
        )

    def evidence(self, name: str, product: Product, digest: str) -> Evidence:
        assessment = self._add(
            Assessment(
                organisation_id=self.org.id,
                product_id=product.id,
                framework_version_id=self.framework.id,
                profile_id="supplier",
                status=AssessmentStatus.SUBMITTED,
            )
        )
        row = self._add(
            Evidence(
                organisation_id=self.org.id,
                assessment_id=assessment.id,
                kind="document",
                filename=f"{name}.pdf",
                media_type="application/pdf",
                size_bytes=10,
                sha256=digest,
                provenance=Provenance.DOCUMENTARY,
                storage_key=f"uploads/{digest}",
                created_by_user_id=self.user.id,
            )
        )
        self.estate.ids[name] = row.id
        return row

    def challenge(self, name: str, closes_at: datetime) -> Challenge:
        row = self._add(
            Challenge(
                organisation_id=self.org.id,
                title=name,
                problem_statement="Find faster ways to review seized media.",
                phase="feasibility",
                opens_at=closes_at - timedelta(days=60),
                closes_at=closes_at,
                status="results_published",
                quality_threshold=50,
                assessors_per_entry=1,
                rubric=[],
                eligibility=[],
            )
        )
        self.estate.ids[name] = row.id
        return row

    def entry(self, name: str, challenge: Challenge, attachments: list[str]) -> ChallengeEntry:
        row = self._add(
            ChallengeEntry(
                challenge_id=challenge.id,
                organisation_id=self.org.id,
                title=name,
                proposal=PERSONAL[3],
                eligibility_answers={"uk_based": True},
                status="submitted",
                created_by_user_id=self.user.id,
                submitted_at=challenge.closes_at - timedelta(days=1),
            )
        )
        for index, digest in enumerate(attachments):
            self._add(
                ChallengeAttachment(
                    entry_id=row.id,
                    filename=f"{name}-{index}.pdf",
                    media_type="application/pdf",
                    size_bytes=10,
                    sha256=digest,
                    storage_key=f"uploads/{digest}",
                )
            )
        self._add(
            JudgeAllocation(
                challenge_id=challenge.id, entry_id=row.id, judge_user_id=self.user.id, scores={}
            )
        )
        self.estate.ids[name] = row.id
        return row

    def every_kind(self) -> Estate:
        """One row of each kind due and one kept, with files shared where it matters."""
        for due in (True, False):
            tag = "due" if due else "kept"
            closes = self.edge("challenge_entry", due)
            challenge = self.challenge(f"challenge-{tag}", closes)
            self.entry(
                f"entry-{tag}", challenge, [self.file(f"attachment-{tag}", f"a-{tag}".encode())]
            )
            conflict = self._add(
                JudgeConflict(
                    challenge_id=challenge.id,
                    judge_user_id=self.user.id,
                    organisation_id=self.org.id,
                    reason="Jo Bloggs consulted for Acme in 2024",
                )
            )
            self.estate.ids[f"conflict-{tag}"] = conflict.id
            product = self.product(f"Product {tag}", self.edge("withdrawn_product_evidence", due))
            self.evidence(
                f"evidence-{tag}", product, self.file(f"evidence-{tag}", f"e-{tag}".encode())
            )
            ended = self.edge("user_session", due)
            session_row = self._add(
                UserSession(
                    token_sha256=f"{tag:0<64}",
                    user_id=self.user.id,
                    method="password",
                    created_at=ended - timedelta(hours=8),
                    last_seen_at=ended - timedelta(hours=1),
                    expires_at=ended,
                )
            )
            self.estate.ids[f"session-{tag}"] = session_row.id
            token_end = self.edge("api_token", due)
            self._add(
                ApiToken(
                    jti=f"jti-{tag}",
                    user_id=self.user.id,
                    issued_at=token_end - timedelta(days=30),
                    expires_at=token_end + timedelta(days=365),
                    revoked_at=token_end,
                )
            )
            self.estate.ids[f"token-{tag}"] = f"jti-{tag}"
            self._add(
                SignInAddress(
                    address=f"{PERSONAL[2]}-{tag}",
                    failures=3,
                    window_started_at=self.edge("sign_in_address", due),
                )
            )
            self.estate.ids[f"address-{tag}"] = f"{PERSONAL[2]}-{tag}"
            # Accepted a second past (or short of) the cutoff, though it would expire in a year:
            # an accepted invitation has ended, whatever its expiry says.
            accepted = self.edge("invitation", due)
            invitation = self._add(
                Invitation(
                    code_sha256=f"{tag:1<64}",
                    email=f"invitee-{tag}@acme.example",
                    organisation_id=self.org.id,
                    role=Role.SUPPLIER_MEMBER,
                    invited_by_user_id=self.user.id,
                    created_at=accepted - timedelta(days=2),
                    expires_at=accepted + timedelta(days=365),
                    accepted_at=accepted,
                )
            )
            self.estate.ids[f"invitation-{tag}"] = invitation.id
            self._add(
                PasskeyChallenge(
                    id=f"ceremony-{tag}",
                    user_id=self.user.id,
                    purpose="authenticate",
                    challenge="Y2hhbGxlbmdl",
                    expires_at=self.edge("passkey_challenge", due),
                )
            )
            self.estate.ids[f"ceremony-{tag}"] = f"ceremony-{tag}"
            finished = self.edge("finished_job", due)
            job = self._add(
                Job(
                    kind="check",
                    status=RunStatus.SUCCEEDED,
                    payload={
                        "request": {
                            "kind": "cbom",
                            "file_sha256": self.file(f"job-{tag}", f"j-{tag}".encode()),
                        }
                    },
                    requested_by_user_id=self.user.id,
                    finished_at=finished,
                )
            )
            run = self._add(
                CheckRun(
                    organisation_id=self.org.id,
                    kind="cbom",
                    target="cbom.json",
                    status=RunStatus.SUCCEEDED,
                    job_id=job.id,
                    finished_at=finished,
                )
            )
            self.estate.ids[f"job-{tag}"] = job.id
            self.estate.ids[f"run-{tag}"] = run.id
        return self.estate


def backdate(store: BlobStore, digest: str, age: timedelta) -> None:
    """Make the stored file read as stored `age` ago (the file system's clock, not NOW)."""
    when = time.time() - age.total_seconds()
    os.utime(store.path(digest), (when, when))


def table_counts(session: Session) -> dict[str, int]:
    models = (
        ChallengeEntry, ChallengeAttachment, JudgeAllocation, JudgeConflict, Evidence, UserSession,
        ApiToken, SignInAddress, PasskeyChallenge, Job, CheckRun, PqChallenge, AuditEvent, Product,
        Invitation,
    )  # fmt: skip
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in models
    }
