"""My posture: one subject's score, band, trend, gaps and the explanation of every outcome, for
the supplier or force it belongs to (and estate-wide readers), put in words for people.

The explanation is `assure score explain`'s (posture.scoring.service.explain_entity); this module
checks who may read it, adds the subject's stored snapshots and open findings, and turns its
keys into sentences. Every read is for the one subject: nothing here scores the estate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from frameworks.loader import DEFAULT_FRAMEWORK, LoadedFramework, default_framework
from kernel.clock import utcnow
from posture.findings.views import counts_open
from posture.identity.permissions import (
    NotFound,
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
# An estate-wide reader picks from a search; a list longer than this is not read by anyone.
MAX_CHOICES = 200
MAX_SEARCH = 200

PROVENANCE_WORDS = {
    "self_asserted": "self-asserted (the subject's own statement)",
    "documentary": "documentary evidence",
    "automated_check": "an automated check",
    "independent": "an independent assessment",
}

Kind = Literal["product", "organisation"]
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
class OutcomeLine:
    outcome: str
    title: str
    objective: str
    critical: bool
    weight: int
    claimed: str
    status: str
    target: str
    why: str
    evidence: str
    check: str
    confidence: float  # per cent
    short_by: int  # levels below the target, 0 when met
    contradicted: bool


@dataclass(frozen=True)
class Gap:
    outcome: str
    title: str
    status: str
    target: str
    short_by: int

    @property
    def words(self) -> str:
        return f"{self.short_by} level{'s' if self.short_by != 1 else ''} short"


@dataclass(frozen=True)
class Contradiction:
    outcome: str
    title: str
    claimed: str
    verified: str
    finding_code: str
    finding_title: str
    check_run_id: int
    checked_at: datetime


@dataclass(frozen=True)
class ObjectiveScore:
    objective: str
    title: str
    score: float | None


@dataclass(frozen=True)
class Explanation:
    score: float
    band: str
    confidence: float  # per cent
    as_of: date
    assessment_id: int | None
    framework: str
    scoring_policy: str
    profile: str
    band_meaning: str
    # Why the band is lower than the score alone gives, in words; None when it is not capped.
    capped: str | None
    objectives: tuple[ObjectiveScore, ...]
    gaps: tuple[Gap, ...]
    contradictions: tuple[Contradiction, ...]
    not_applicable: tuple[str, ...]
    exceptions: tuple[str, ...]
    supply_chain: tuple[str, ...]
    outcomes: tuple[OutcomeLine, ...]


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


def _subject(session: Session, principal: Principal, key: str) -> Subject:
    """The subject named by `key` (product:<id> or org:<id>), or NotFound alike whether it is
    missing, malformed or outside the principal's reach. Permission is checked before any read."""
    visible_organisations(principal, PERMISSION)
    kind, _, value = key.partition(":")
    if not value.isdigit():
        raise _not_found()
    if kind == "product":
        row = session.execute(
            select(Product.organisation_id, Product.name, Organisation.name)
            .join(Organisation, Organisation.id == Product.organisation_id)
            .where(Product.id == int(value))
        ).one_or_none()
        if row is None:
            raise _not_found()
        require(principal, PERMISSION, row[0], "subject")
        return Subject("product", row[0], int(value), row[1], row[2])
    if kind == "org":
        name = session.scalar(select(Organisation.name).where(Organisation.id == int(value)))
        if name is None:
            raise _not_found()
        require(principal, PERMISSION, int(value), "subject")
        return Subject("organisation", int(value), None, name, name)
    raise _not_found()


def subject_choices(
    session: Session, principal: Principal, search: str = "", pinned: str | None = None
) -> SubjectChoices:
    """What the principal may pick: for an own-scope role its organisations' live products and
    each organisation as a whole; for an estate-wide role the subjects whose name (or owner's
    name) contains `search`, at most MAX_CHOICES. `pinned` (a key, as from a link) comes first
    when the principal may read it."""
    scope = visible_organisations(principal, PERMISSION)
    products = (
        select(Product.organisation_id, Product.id, Product.name, Organisation.name)
        .join(Organisation, Organisation.id == Product.organisation_id)
        .where(Product.deleted_at.is_(None))
    )
    organisations = select(Organisation.id, Organisation.name)
    if scope is not None:
        products = products.where(Product.organisation_id.in_(sorted(scope)))
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
    truncated = len(listed) > MAX_CHOICES
    listed = listed[:MAX_CHOICES]
    if pinned:
        try:
            first = _subject(session, principal, pinned)
        except NotFound:
            pass
        else:
            listed = [first, *(s for s in listed if s.key != first.key)]
    return SubjectChoices(tuple(listed), scope is None, truncated)


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


def _default_version_id(session: Session) -> int | None:
    framework_id, version = DEFAULT_FRAMEWORK
    return session.scalar(
        select(FrameworkVersion.id).where(
            FrameworkVersion.framework_id == framework_id, FrameworkVersion.version == version
        )
    )


def _trend(
    session: Session, framework_version_id: int | None, subject: Subject
) -> list[TrendPoint]:
    """The subject's stored snapshots against the default framework, oldest first: one query
    on the (organisation, product) index."""
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
    session: Session, principal: Principal, key: str, as_of: date | None = None
) -> MyPosture:
    """One subject's posture for the principal; NotFound for a subject outside its reach,
    exactly as for one that does not exist."""
    subject = _subject(session, principal, key)
    when = as_of or utcnow().date()
    version_id = _default_version_id(session)
    trend = tuple(_trend(session, version_id, subject))
    findings = _open_findings(session, principal, subject)
    if not _has_assessment(session, version_id, subject, when):
        return MyPosture(
            subject,
            when,
            None,
            f"{subject.name} has no submitted assessment as of {when:%d %b %Y}, so it has no "
            "score yet. Submit a self-assessment and it is scored from then on.",
            trend,
            findings,
        )
    report = explain_entity(session, subject.key, when)
    return MyPosture(
        subject, when, _explanation(report, default_framework()), None, trend, findings
    )


def _evidence(outcome: dict[str, Any]) -> str:
    provenance = outcome.get("provenance")
    if provenance is None:
        return "no answer given"
    met = outcome.get("indicators_met") or []
    said = PROVENANCE_WORDS.get(provenance, str(provenance).replace("_", " "))
    answered = outcome.get("answered_at")
    when = f", answered {datetime.fromisoformat(answered):%d %b %Y}" if answered else ""
    ticked = f"; indicators ticked: {', '.join(met)}" if met else "; no indicator ticked"
    return f"{said}{when}{ticked}"


def _check(outcome: dict[str, Any]) -> str:
    contradicted = outcome.get("contradicted_by")
    if contradicted:
        return (
            f"check run {contradicted['check_run_id']} on "
            f"{datetime.fromisoformat(contradicted['checked_at']):%d %b %Y} found "
            f"{contradicted['finding']} ({contradicted['title']}): it verifies only "
            f"{contradicted['verified_status']}"
        )
    if outcome.get("corroborated_by_portfolio"):
        return "read from the force's own portfolio of deployed products"
    run = outcome.get("corroborated_by_check_run")
    if run is not None:
        return f"check run {run} found nothing that lowers the claim"
    return "no automated check covers this outcome"


def _why(outcome: dict[str, Any]) -> str:
    rule = str(outcome["rule"])
    if outcome["claimed"] != outcome["status"] and "contradicted_by" not in outcome:
        rule += f"; counted as {outcome['status']} rather than the {outcome['claimed']} claimed"
    return rule


def _supply_chain(chain: dict[str, Any] | None) -> tuple[str, ...]:
    if chain is None:
        return ()
    allows = chain["allows"] or "nothing either way"
    lines = [
        f"Outcome {chain['outcome']}, from the deployed products, allows {allows}: {chain['rule']}."
    ]
    for deployed in chain["deployments"]:
        flags = [
            word
            for word, on in (
                ("weak", deployed["weak"]),
                ("accepted risk", deployed["carried_risk"]),
            )
            if on
        ]
        said = f" ({', '.join(flags)})" if flags else ""
        band = f"band {deployed['band']}" if deployed["band"] else "not scored"
        lines.append(f"{deployed['product']}: {band}, weight {deployed['weight']}{said}.")
    return tuple(lines)


def _exceptions(rows: list[dict[str, Any]]) -> tuple[str, ...]:
    lines = []
    for row in rows:
        title = f" ({row['title']})" if row.get("title") else ""
        status = f", now {row['status']}" if row.get("status") else ""
        lines.append(
            f"A force has excused outcome {row['outcome']}{title}{status} until "
            f"{date.fromisoformat(row['expires_on']):%d %b %Y}; the score is not changed by it."
        )
    return tuple(lines)


def _band_meaning(loaded: LoadedFramework, band: str) -> str:
    rules = loaded.scoring.bands
    names = [rule.band for rule in rules]
    index = names.index(band)
    low = rules[index].min_score
    if index == 0:
        return f"band {band} is a score of {low:g} or more"
    return f"band {band} is a score from {low:g} to below {rules[index - 1].min_score:g}"


def _explanation(report: dict[str, Any], loaded: LoadedFramework) -> Explanation:
    framework = loaded.framework
    titles = {o.id: o.title for o in framework.outcomes()}
    objective_of = {o: parent[0] for o, parent in framework.outcome_parents().items()}
    objective_titles = {o.id: o.title for o in framework.objectives}
    profile = loaded.profiles.get(report["profile"])
    capped = None
    if report["band_capped_by_critical"]:
        failed = report["band_capped_by_critical"]
        named = ", ".join(f"{o} ({titles.get(o, o)})" for o in failed)
        which = (
            f"critical outcome {named} is" if len(failed) == 1 else f"critical outcomes {named} are"
        )
        capped = (
            f"The score alone gives band {loaded.scoring.band_for(report['score'])}, but {which} "
            f"not achieved, so the band is capped at {loaded.scoring.critical_not_achieved_cap}."
        )
    outcomes = tuple(
        OutcomeLine(
            outcome=o["outcome"],
            title=o["title"],
            objective=objective_titles.get(objective_of.get(o["outcome"], ""), ""),
            critical=bool(o["critical"]),
            weight=int(o["weight"]),
            claimed=o["claimed"],
            status=o["status"],
            target=o["target"].replace("_", " "),
            why=_why(o),
            evidence=_evidence(o),
            check=_check(o),
            confidence=round(float(o["confidence"]) * 100, 1),
            short_by=int(o["gap_levels"]),
            contradicted="contradicted_by" in o,
        )
        for o in report["outcomes"]
    )
    contradictions = tuple(
        Contradiction(
            outcome=o["outcome"],
            title=o["title"],
            claimed=o["claimed"],
            verified=o["contradicted_by"]["verified_status"],
            finding_code=o["contradicted_by"]["finding"],
            finding_title=o["contradicted_by"]["title"] or "",
            check_run_id=o["contradicted_by"]["check_run_id"],
            checked_at=datetime.fromisoformat(o["contradicted_by"]["checked_at"]),
        )
        for o in report["contradicted"]
    )
    return Explanation(
        score=report["score"],
        band=report["band"],
        confidence=report["confidence"],
        as_of=date.fromisoformat(report["as_of"]),
        assessment_id=report["assessment_id"],
        framework=f"{framework.title} {framework.version}",
        scoring_policy=str(report["scoring_policy_version"]),
        profile=f"{profile.title} ({profile.id})" if profile else str(report["profile"]),
        band_meaning=_band_meaning(loaded, report["band"]),
        capped=capped,
        objectives=tuple(
            ObjectiveScore(key, objective_titles.get(key, key), value)
            for key, value in report["objectives"].items()
        ),
        gaps=tuple(
            Gap(
                g["outcome"],
                titles.get(g["outcome"], g["outcome"]),
                g["status"],
                g["target"].replace("_", " "),
                int(g["gap_levels"]),
            )
            for g in report["gaps"]
        ),
        contradictions=contradictions,
        not_applicable=tuple(
            f"{n['outcome']} ({titles.get(n['outcome'], n['outcome'])}): {n['justification']}"
            for n in report["not_applicable"]
        ),
        exceptions=_exceptions(report.get("exceptions", [])),
        supply_chain=_supply_chain(report.get("supply_chain")),
        outcomes=outcomes,
    )
