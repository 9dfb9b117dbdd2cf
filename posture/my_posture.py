"""My posture: one subject's score, band, trend, gaps and the explanation of every outcome, for
the supplier or force it belongs to (and estate-wide readers), put in words for people.

The explanation is `assure score explain`'s (posture.scoring.service.explain_entity); this module
checks who may read it, adds the subject's stored snapshots and open findings, and turns its
keys into sentences. Every read is for the one subject: nothing here scores the estate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from frameworks.library import shipped_library
from frameworks.loader import DEFAULT_FRAMEWORK, LoadedFramework, default_framework
from kernel.clock import utcnow
from kernel.errors import AssureError
from posture.assessment_frameworks import framework_of_version
from posture.explanation_words import Explanation, explanation
from posture.findings.views import counts_open
from posture.identity.permissions import (
    NotFound,
    PermissionDenied,
    Principal,
    allowed,
    require,
    visible_organisations,
)
from posture.scoring.service import explain_entity
from posture.scoring.subjects import SubjectFilter, current_assessment_ids
from posture.storage.models import (
    FrameworkVersion,
    Organisation,
    PostureSnapshot,
    Product,
    TrackedFinding,
)
from posture.storage.models.enums import OrgKind

PERMISSION = "score.read"
# A product's posture is also open to whoever sees its score on the posture dashboards (a force
# assessor follows a league-table row to it). An organisation as a whole stays with score.read:
# a force's explanation names the products it deploys, which is the force's own.
PRODUCT_PERMISSION = "posture.dashboard"
# An estate-wide reader picks from a search; a list longer than this is not read by anyone.
MAX_CHOICES = 200
MAX_SEARCH = 200


# Longest id a link may carry: more digits than any row id, and past a 64-bit integer the
# database would refuse the number rather than find nothing.
MAX_ID_DIGITS = 18

Kind = Literal["product", "organisation"]
Framework = tuple[str, str]
SCORED_KINDS = (OrgKind.FORCE, OrgKind.SUPPLIER)


@dataclass(frozen=True)
class Subject:
    """A product, or an organisation assessed as a whole, that the principal may read."""

    kind: Kind
    organisation_id: int
    product_id: int | None
    name: str
    organisation: str

    @property
    def key(self) -> str:
        """The key `assure score explain` takes for it."""
        if self.product_id is not None:
            return f"product:{self.product_id}"
        return f"org:{self.organisation_id}"

    @property
    def label(self) -> str:
        if self.product_id is not None:
            return f"{self.name} (a product of {self.organisation})"
        return f"{self.name} (the organisation as a whole)"


@dataclass(frozen=True)
class SubjectChoices:
    subjects: tuple[Subject, ...]
    # True for a role that may read every subject: the list is a search, not everything.
    estate_wide: bool
    # True when more subjects matched than are listed.
    truncated: bool = False


@dataclass(frozen=True)
class TrendPoint:
    taken_at: datetime
    score: float
    band: str
    confidence: float  # per cent


@dataclass(frozen=True)
class MyPosture:
    subject: Subject
    as_of: date
    # None while the subject has no submitted assessment: `unscored` says so in words.
    explanation: Explanation | None
    unscored: str | None
    trend: tuple[TrendPoint, ...]
    # None when the principal's roles may not read this subject's findings.
    open_findings: int | None


def _not_found() -> NotFound:
    return NotFound("subject not found")


def parse_id(value: str | None) -> int | None:
    """A record id as typed in a link, or None unless it is plain ASCII digits of sane length."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > MAX_ID_DIGITS:
        return None
    return int(value)


def _product_scope(principal: Principal, scores: set[int] | None) -> set[int] | None:
    """Organisations whose products the principal may read here (None: every one)."""
    try:
        dashboards = visible_organisations(principal, PRODUCT_PERMISSION)
    except PermissionDenied:
        return scores
    if scores is None or dashboards is None:
        return None
    return scores | dashboards


def _subject(session: Session, principal: Principal, key: str) -> Subject:
    """The subject named by `key` (product:<id> or org:<id>), or NotFound alike whether it is
    missing, malformed or outside the principal's reach. Permission is checked before any read."""
    scores = visible_organisations(principal, PERMISSION)
    kind, _, value = key.partition(":")
    number = parse_id(value)
    if number is None:
        raise _not_found()
    if kind == "product":
        row = session.execute(
            select(Product.organisation_id, Product.name, Organisation.name)
            .join(Organisation, Organisation.id == Product.organisation_id)
            .where(Product.id == number)
        ).one_or_none()
        if row is None:
            raise _not_found()
        reach = _product_scope(principal, scores)
        if reach is not None and row[0] not in reach:
            raise _not_found()
        return Subject("product", row[0], number, row[1], row[2])
    if kind == "org":
        name = session.scalar(select(Organisation.name).where(Organisation.id == number))
        if name is None:
            raise _not_found()
        require(principal, PERMISSION, number, "subject")
        return Subject("organisation", number, None, name, name)
    raise _not_found()


def readable_subject(session: Session, principal: Principal, key: str) -> Subject | None:
    """The subject if the principal may read it; None alike when it is missing or out of reach
    (a link is checked with this before anything about it is shown)."""
    try:
        return _subject(session, principal, key)
    except NotFound:
        return None


def posture_frameworks(session: Session, principal: Principal) -> list[tuple[Framework, str]]:
    """The frameworks scores can be shown against: each version loaded into the database that
    this release ships, the default first, with its title. Just the default on a new database."""
    visible_organisations(principal, PERMISSION)
    rows = session.scalars(
        select(FrameworkVersion).order_by(FrameworkVersion.framework_id, FrameworkVersion.version)
    ).all()
    found: dict[Framework, str] = {}
    for row in rows:
        try:
            loaded = framework_of_version(row)
        except AssureError:
            continue  # loaded by another release: its scores cannot be explained by this one
        found[loaded.key] = f"{loaded.framework.title} {loaded.framework.version}"
    if DEFAULT_FRAMEWORK not in found:
        default = default_framework()
        found[DEFAULT_FRAMEWORK] = f"{default.framework.title} {default.framework.version}"
    return sorted(found.items(), key=lambda item: item[0] != DEFAULT_FRAMEWORK)


def subject_choices(
    session: Session, principal: Principal, search: str = "", pinned: str | None = None
) -> SubjectChoices:
    """What the principal may pick: for an own-scope role its organisations' live products and
    each organisation as a whole; for an estate-wide role the subjects whose name (or owner's
    name) contains `search`, at most MAX_CHOICES. `pinned` (a key, as from a link) comes first
    when the principal may read it."""
    scope = visible_organisations(principal, PERMISSION)
    product_scope = _product_scope(principal, scope)
    products = (
        select(Product.organisation_id, Product.id, Product.name, Organisation.name)
        .join(Organisation, Organisation.id == Product.organisation_id)
        .where(Product.deleted_at.is_(None))
    )
    organisations = select(Organisation.id, Organisation.name)
    if product_scope is not None:
        products = products.where(Product.organisation_id.in_(sorted(product_scope)))
    if scope is not None:
        organisations = organisations.where(Organisation.id.in_(sorted(scope)))
    else:
        # Across the estate the subjects scored as a whole are forces and suppliers; the
        # platform and national bodies stay reachable by key for whoever may read them.
        organisations = organisations.where(Organisation.kind.in_(SCORED_KINDS))
    words = search.strip()[:MAX_SEARCH].lower()
    if words:
        # autoescape: a typed % or _ is a character to find, not a wildcard.
        products = products.where(
            or_(
                func.lower(Product.name).contains(words, autoescape=True),
                func.lower(Organisation.name).contains(words, autoescape=True),
            )
        )
        organisations = organisations.where(
            func.lower(Organisation.name).contains(words, autoescape=True)
        )
    limit = MAX_CHOICES + 1
    product_rows = session.execute(
        products.order_by(Organisation.name, Product.name, Product.id).limit(limit)
    ).all()
    organisation_rows = session.execute(
        organisations.order_by(Organisation.name, Organisation.id).limit(limit)
    ).all()
    # A supplier's products first, then the organisation as a whole, organisation by organisation.
    listed: list[Subject] = []
    by_organisation: dict[int, list[Subject]] = {}
    for organisation_id, product_id, name, owner in product_rows:
        by_organisation.setdefault(organisation_id, []).append(
            Subject("product", organisation_id, product_id, name, owner)
        )
    for organisation_id, name in organisation_rows:
        listed.extend(by_organisation.pop(organisation_id, []))
        listed.append(Subject("organisation", organisation_id, None, name, name))
    # Products found by their own name whose organisation's name did not match.
    for rest in by_organisation.values():
        listed.extend(rest)
    # The reader's own organisations first: a force assessor who may search every product
    # still starts from its own force.
    own = principal.organisation_ids()
    listed.sort(key=lambda subject: subject.organisation_id not in own)
    truncated = len(listed) > MAX_CHOICES
    listed = listed[:MAX_CHOICES]
    if pinned:
        try:
            first = _subject(session, principal, pinned)
        except NotFound:
            pass
        else:
            listed = [first, *(s for s in listed if s.key != first.key)]
    return SubjectChoices(tuple(listed), product_scope is None, truncated)


def _has_assessment(
    session: Session, framework_version_id: int | None, subject: Subject, as_of: date
) -> bool:
    """Whether scoring would find a current assessment: the same query it ranks them with."""
    if framework_version_id is None:
        return False
    found = current_assessment_ids(framework_version_id, as_of, _filter(subject))
    return session.scalar(select(found.c.id).limit(1)) is not None


def _filter(subject: Subject) -> SubjectFilter:
    if subject.product_id is not None:
        return SubjectFilter.product(subject.product_id)
    return SubjectFilter.organisation(subject.organisation_id)


def _framework(session: Session, framework: Framework | None) -> tuple[int | None, LoadedFramework]:
    """The framework version's id in the database (None before it is loaded) and the shipped
    framework itself; NotFound for one this release does not ship."""
    framework_id, version = framework or DEFAULT_FRAMEWORK
    row = session.scalar(
        select(FrameworkVersion).where(
            FrameworkVersion.framework_id == framework_id, FrameworkVersion.version == version
        )
    )
    if row is not None:
        return row.id, framework_of_version(row)
    if (framework_id, version) == DEFAULT_FRAMEWORK:
        return None, default_framework()
    shipped = shipped_library().frameworks.get((framework_id, version))
    if shipped is None:
        raise NotFound(f"framework {framework_id} {version} not found")
    return None, shipped


def _trend(
    session: Session, framework_version_id: int | None, subject: Subject
) -> list[TrendPoint]:
    """The subject's stored snapshots against the framework, oldest first: one query on the
    (organisation, product) index."""
    if framework_version_id is None:
        return []
    product = (
        PostureSnapshot.product_id.is_(None)
        if subject.product_id is None
        else PostureSnapshot.product_id == subject.product_id
    )
    rows = session.execute(
        select(
            PostureSnapshot.taken_at,
            PostureSnapshot.score,
            PostureSnapshot.band,
            PostureSnapshot.confidence,
        )
        .where(
            PostureSnapshot.organisation_id == subject.organisation_id,
            product,
            PostureSnapshot.framework_version_id == framework_version_id,
        )
        .order_by(PostureSnapshot.taken_at, PostureSnapshot.id)
    ).all()
    return [
        TrendPoint(taken_at, round(score, 2), band, round(confidence * 100, 1))
        for taken_at, score, band, confidence in rows
    ]


def _open_findings(session: Session, principal: Principal, subject: Subject) -> int | None:
    if not allowed(principal, "finding.read", subject.organisation_id):
        return None
    where = (
        TrackedFinding.product_id == subject.product_id
        if subject.product_id is not None
        else (TrackedFinding.organisation_id == subject.organisation_id)
        & TrackedFinding.product_id.is_(None)
    )
    return (
        session.scalar(
            select(func.count())
            .select_from(TrackedFinding)
            .where(where, counts_open(utcnow().date(), principal.organisation_ids()))
        )
        or 0
    )


def my_posture(
    session: Session,
    principal: Principal,
    key: str,
    as_of: date | None = None,
    framework: Framework | None = None,
) -> MyPosture:
    """One subject's posture for the principal against `framework` (PTSbD when None); NotFound
    for a subject outside its reach, exactly as for one that does not exist."""
    subject = _subject(session, principal, key)
    when = as_of or utcnow().date()
    version_id, loaded = _framework(session, framework)
    trend = tuple(_trend(session, version_id, subject))
    findings = _open_findings(session, principal, subject)
    if not _has_assessment(session, version_id, subject, when):
        title = f"{loaded.framework.title} {loaded.framework.version}"
        return MyPosture(
            subject,
            when,
            None,
            f"{subject.name} has no submitted assessment as of {when:%d %b %Y} against "
            f"{title}, so it has no score against it yet. Submit a self-assessment and it is "
            "scored from then on.",
            trend,
            findings,
        )
    report = explain_entity(session, subject.key, when, loaded)
    return MyPosture(subject, when, explanation(report, loaded), None, trend, findings)
