"""The levels automated checks allow each outcome, from check runs and their findings.

A run bears on every outcome a finding of its kind can link to (checks/data/findings.yaml): with
no finding against the outcome it allows "achieved", which corroborates a claim. Each finding
caps every outcome it links to, whichever kind of check raised it, as far as the scoring policy's
`finding_caps` says for its severity. A subject's level for an outcome is the lowest its latest
runs allow.

A run that could not assess its subject (a failed run), or raised a finding marked
`blocks_assessment` (nothing answered, the input could not be read, a sandbox limit stopped it),
looked at nothing, so it corroborates no outcome: an unreachable
endpoint must not count as a clean post-quantum key exchange. Its findings still cap what they
link to.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from frameworks.finding_links import FindingLinkTable
from frameworks.scoring_policy import ScoringPolicy
from posture.scoring.inputs import CheckEvidence
from posture.scoring.rules import ACHIEVED


@dataclass(frozen=True)
class RunFinding:
    code: str
    severity: str
    title: str


@dataclass(frozen=True)
class CheckRunFacts:
    """What scoring needs of one finished check run."""

    run_id: int
    kind: str
    finished_at: datetime
    findings: tuple[RunFinding, ...] = ()
    assessed: bool = True  # False: the check could not assess its subject (a failed run)


def run_levels(
    run: CheckRunFacts, links: FindingLinkTable, policy: ScoringPolicy
) -> dict[str, CheckEvidence]:
    """Outcome id -> the level one run allows, and the first finding that set it."""
    clean = CheckEvidence(ACHIEVED, run.finished_at, run.run_id)
    blocked = not run.assessed or any(finding.code in links.blocking for finding in run.findings)
    levels = {} if blocked else dict.fromkeys(links.outcomes_for_kind(run.kind), clean)
    for finding in run.findings:
        cap = policy.cap_level(finding.severity)
        for outcome_id in links.outcomes_for(finding.code):
            current = levels.get(outcome_id, clean)
            if cap is not None and cap < current.level:
                levels[outcome_id] = CheckEvidence(
                    cap, run.finished_at, run.run_id, finding.code, finding.title
                )
            elif not blocked:
                levels.setdefault(outcome_id, clean)
    return levels


def subject_levels(
    runs: Iterable[CheckRunFacts], links: FindingLinkTable, policy: ScoringPolicy
) -> dict[str, CheckEvidence]:
    """Outcome id -> the lowest level any of a subject's runs allows."""
    lowest: dict[str, CheckEvidence] = {}
    for run in runs:
        for outcome_id, evidence in run_levels(run, links, policy).items():
            current = lowest.get(outcome_id)
            if current is None or evidence.level < current.level:
                lowest[outcome_id] = evidence
    return lowest
