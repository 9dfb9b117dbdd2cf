"""Check runs for the demo estate: TLS, SSH, API and CBOM evidence for most products and some
forces, as `record_check_run` stores a real run.

Every report is written once per kind and variant by the check's own code (check_samples.py,
tls_samples.py) and reused: a run copies it with its own target, times and milestones. Which
variant a subject gets depends on what it claims: evidence mostly agrees with the claims (a
finding never caps an outcome below the level the subject claims), except for a few subjects
picked to be contradicted, whose evidence caps an outcome they claim to have achieved.

The generator is its own (seed ^ SALT), so adding runs leaves every other table's rows as the
estate's generator makes them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from checks.readiness import milestone_view
from checks.report import ReportStatus
from frameworks.finding_links import FindingLinkTable
from frameworks.schema import Framework
from frameworks.scoring_policy import ScoringPolicy
from posture.demo.check_samples import VARIANTS, sample_report
from posture.scoring.evidence import CheckRunFacts, RunFinding, run_levels
from posture.scoring.rules import ACHIEVED, claimed_level

SALT = 0x5EED_C4EC
WINDOW_DAYS = 60  # runs finish within this many days before the estate's date
CHECKED_SHARE = 0.72  # of products with at least one run
CONTRADICTED_SHARE = 0.04  # of checked products whose evidence contradicts a claim
FAILED_SHARE = 0.03  # of endpoint runs that could not reach their endpoint
FORCE_SHARE = 0.6  # of forces whose own portal has been checked
UNREACHABLE = "unreachable"
SUPPLIERS, FORCES = "supplier.example", "police.example"  # the demo's domains
SECONDS = {"tls": (4, 25), "ssh": (1, 6), "api": (1, 4), "cbom": (0, 2)}

Row = dict[str, Any]
_stamp = TypeAdapter(datetime)


@dataclass(frozen=True)
class Sample:
    """One kind and variant's report, ready to copy into run and finding rows."""

    kind: str
    variant: str
    result: dict[str, Any]  # the report's JSON; target, times and milestones set per run
    subscores: dict[str, float | None]
    milestones: bool
    status: str
    score: float | None
    error: str | None
    findings: tuple[Row, ...]
    caps: dict[str, int]  # outcome id -> the level this run allows, where below achieved


def _sample(
    kind: str,
    variant: str,
    domain: str,
    as_of: date,
    links: FindingLinkTable,
    policy: ScoringPolicy,
) -> Sample:
    moment = datetime.combine(as_of - timedelta(days=WINDOW_DAYS // 2), time(12), tzinfo=UTC)
    # Each run sets its own target; TLS certificates are the wildcard of `domain`.
    host = f"demo.{domain}"
    report = sample_report(kind, variant, host if kind == "tls" else _target(kind, host), moment)
    completed = report.status is ReportStatus.COMPLETED
    facts = CheckRunFacts(
        0,
        kind,
        moment,
        tuple(RunFinding(f.code, f.severity.value, f.title) for f in report.findings),
        assessed=completed,
    )
    caps = {
        outcome_id: evidence.level
        for outcome_id, evidence in run_levels(facts, links, policy).items()
        if evidence.level < ACHIEVED
    }
    return Sample(
        kind=kind,
        variant=variant,
        result=report.model_dump(mode="json"),
        subscores=report.subscores,
        milestones=bool(report.milestones),
        status="succeeded" if completed else "failed",
        score=report.score,
        error=None if completed else "; ".join(f.title for f in report.findings)[:2000],
        findings=tuple(
            {
                "code": f.code,
                "severity": f.severity.value,
                "title": f.title,
                "evidence": f.evidence,
                "advice": f.advice,
                "outcome_ids": f.outcome_ids,
            }
            for f in report.findings
        ),
        caps=caps,
    )


@cache
def _milestones(subscores: tuple[tuple[str, float | None], ...], day: date) -> list[Row]:
    return [m.model_dump(mode="json") for m in milestone_view(dict(subscores), day)]


class CheckRunPlanner:
    """Adds check runs and findings to the estate rows, subject by subject, in estate order."""

    def __init__(
        self,
        framework: Framework,
        links: FindingLinkTable,
        policy: ScoringPolicy,
        seed: int,
        as_of: date,
    ) -> None:
        self.rng = random.Random(seed ^ SALT)
        self.framework = framework
        self.links = links
        self.policy = policy
        self.as_of = as_of
        self.next_run_id = 1
        self.next_finding_id = 1
        self.samples: dict[tuple[str, str, str], Sample] = {}
        # Outcomes a check bears on, by id: only their claims can meet a finding.
        self.checked_outcomes = {o.id: o for o in framework.outcomes() if links.kinds_for(o.id)}

    def sample(self, kind: str, variant: str, domain: str = SUPPLIERS) -> Sample:
        key = (kind, variant, domain)
        if key not in self.samples:
            self.samples[key] = _sample(kind, variant, domain, self.as_of, self.links, self.policy)
        return self.samples[key]

    def claims(self, answers: list[Row]) -> dict[str, int]:
        """Outcome id -> the level the answers claim, for outcomes a check bears on."""
        return {
            a["outcome_id"]: claimed_level(
                self.checked_outcomes[a["outcome_id"]],
                tuple(a["indicators_met"]),
                a["not_applicable"],
                a["justification"],
            ).level
            for a in answers
            if a["outcome_id"] in self.checked_outcomes
        }

    def for_product(
        self,
        rows: dict[str, list[Row]],
        ids: tuple[int, int, int],
        slug: str,
        on_premises: bool,
        has_api: bool,
        answers: list[Row],
    ) -> None:
        """`ids`: organisation, product and the supplier user who asked for the runs."""
        rng = self.rng
        if rng.random() >= CHECKED_SHARE:
            return
        kinds = [
            kind
            for kind, share in (
                ("tls", 0.9),
                ("ssh", 0.55 if on_premises else 0.25),
                ("api", 0.5 if has_api else 0.0),
                ("cbom", 0.35),
            )
            if rng.random() < share
        ] or ["tls"]
        contradict = rng.random() < CONTRADICTED_SHARE
        claims = self.claims(answers)
        for kind in kinds:
            variant = self._variant(kind, claims, contradict)
            if variant is None:
                continue
            if contradict and self._contradicts(self.sample(kind, variant), claims):
                contradict = False  # one contradicting run is enough
            self._add(rows, kind, variant, slug, SUPPLIERS, ids)

    def for_force(
        self, rows: dict[str, list[Row]], ids: tuple[int, int], slug: str, answers: list[Row]
    ) -> None:
        rng = self.rng
        if rng.random() >= FORCE_SHARE:
            return
        claims = self.claims(answers)
        kinds = ["tls", "ssh"] if rng.random() < 0.3 else ["tls"]
        for kind in kinds:
            variant = self._variant(kind, claims, contradict=False)
            if variant is not None:
                self._add(rows, kind, variant, slug, FORCES, (ids[0], None, ids[1]))

    def _contradicts(self, sample: Sample, claims: dict[str, int]) -> bool:
        return any(claims.get(outcome_id, -1) > level for outcome_id, level in sample.caps.items())

    def _variant(self, kind: str, claims: dict[str, int], contradict: bool) -> str | None:
        rng = self.rng
        variants = VARIANTS[kind]
        if UNREACHABLE in variants and rng.random() < FAILED_SHARE:
            return UNREACHABLE
        assessed = [v for v in variants if v != UNREACHABLE]
        if contradict:
            against = [v for v in assessed if self._contradicts(self.sample(kind, v), claims)]
            if against:
                return rng.choice(against)
        agreeing = [v for v in assessed if not self._contradicts(self.sample(kind, v), claims)]
        if not agreeing:
            return None
        # The variant that confirms the most of what the subject admits is the likeliest.
        return (
            max(agreeing, key=lambda v: (len(self.sample(kind, v).caps), rng.random()))
            if rng.random() < 0.6
            else rng.choice(agreeing)
        )

    def _add(
        self,
        rows: dict[str, list[Row]],
        kind: str,
        variant: str,
        slug: str,
        domain: str,
        ids: tuple[int, int | None, int],
    ) -> None:
        rng = self.rng
        sample = self.sample(kind, variant, domain)
        host = f"{slug}.{domain}"
        target = _target(kind, host)
        day = self.as_of - timedelta(days=rng.randint(1, WINDOW_DAYS))
        clock = rng.randint(7 * 3600, 19 * 3600)
        finished = datetime.combine(day, time(clock // 3600, clock // 60 % 60, clock % 60), UTC)
        started = finished - timedelta(seconds=rng.randint(*SECONDS[kind]), milliseconds=250)
        result = {
            **sample.result,
            "target": target,
            "started_at": _stamp.dump_python(started, mode="json"),
            "finished_at": _stamp.dump_python(finished, mode="json"),
        }
        if sample.milestones:
            result["milestones"] = _milestones(tuple(sample.subscores.items()), day)
        chain = sample.result["details"].get("chain")
        if chain:
            # The name the check was pointed at; the wildcard certificate covers it.
            chain = {**chain, "server_name": host}
            result["details"] = {**sample.result["details"], "chain": chain}
        run_id = self.next_run_id
        self.next_run_id += 1
        organisation_id, product_id, user_id = ids
        rows["check_runs"].append(
            {
                "id": run_id,
                "organisation_id": organisation_id,
                "product_id": product_id,
                "kind": kind,
                "target": target,
                "status": sample.status,
                "score": sample.score,
                "result": result,
                "error": sample.error,
                "job_id": None,
                "requested_by_user_id": user_id,
                "created_at": started,
                "started_at": started,
                "finished_at": finished,
            }
        )
        for item in sample.findings:
            rows["findings"].append({"id": self.next_finding_id, "check_run_id": run_id, **item})
            self.next_finding_id += 1


def _target(kind: str, host: str) -> str:
    """What the check names as its target: host:port for endpoints (TLS on the host itself, so
    its domain's wildcard certificate names it), the URL or file otherwise."""
    if kind == "tls":
        return f"{host}:443"
    if kind == "ssh":
        return f"sftp.{host}:22"
    if kind == "api":
        return f"https://api.{host}/openapi.json"
    return f"{host.split('.')[0]}-cbom.cdx.json"
