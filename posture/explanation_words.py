"""`assure score explain`'s report put in words for people: each outcome's rule, evidence,
check and gap, contradicted claims, and why a band is capped (drawn on the posture page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from frameworks.loader import LoadedFramework

PROVENANCE_WORDS = {
    "self_asserted": "self-asserted (the subject's own statement)",
    "documentary": "documentary evidence",
    "automated_check": "an automated check",
    "independent": "an independent assessment",
}


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
    # None when the force's own portfolio of deployed products contradicts the claim.
    check_run_id: int | None
    checked_at: datetime

    @property
    def source(self) -> str:
        """Which run found it, in words."""
        if self.check_run_id is None:
            return "the force's portfolio of deployed products"
        return f"check run {self.check_run_id}"


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
        run = contradicted["check_run_id"]
        source = "the force's portfolio" if run is None else f"check run {run}"
        return (
            f"{source} on "
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
        band = f"band {deployed['band']}" if deployed["band"] else "not scored"
        flags = deployment_flags(deployed)
        lines.append(f"{deployed['product']}: {band}, weight {deployed['weight']}{flags}.")
    return tuple(lines)


def deployment_flags(deployed: dict[str, Any]) -> str:
    """ " (weak, accepted risk)" for a deployment the supply-chain rule marks, else ""."""
    flags = [
        word
        for word, on in (("weak", deployed["weak"]), ("accepted risk", deployed["carried_risk"]))
        if on
    ]
    return f" ({', '.join(flags)})" if flags else ""


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


def explanation(report: dict[str, Any], loaded: LoadedFramework) -> Explanation:
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
