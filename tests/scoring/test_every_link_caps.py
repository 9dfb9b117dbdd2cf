"""No declared link is dead: for every link in checks/data/findings.yaml, a run of each kind that
raises the finding brings it to the linked outcome, and the engine scores a claim of "achieved"
there at the level the scoring policy's finding_caps give the finding's severity (no cap for info
and low findings, whose links still let the run corroborate the claim)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks.findings import finding_catalogue
from frameworks.library import shipped_library
from frameworks.loader import LoadedFramework
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.evidence import CheckRunFacts, RunFinding, run_levels, subject_levels
from posture.scoring.inputs import AnswerRecord, Estate, SubjectAnswers, SubjectRef
from posture.scoring.rules import ACHIEVED, NOT_ACHIEVED, PARTIALLY_ACHIEVED
from posture.scoring.tables import framework_tables
from tests.scoring.helpers import AS_OF, NOON

# Live API failures take schemathesis's severity; the most severe shows the family's cap.
FAMILY_SEVERITY = "critical"


def _links() -> Iterator[object]:
    catalogue = finding_catalogue()
    for key in sorted(shipped_library().frameworks):
        framework_id, version = key
        for code, definition in catalogue.findings.items():
            for kind in definition.raised_by:
                for outcome_id in definition.outcomes_in(framework_id, version):
                    yield pytest.param(
                        key,
                        code,
                        definition.severity.value,
                        kind,
                        outcome_id,
                        id=f"{framework_id}-{version}:{code}:{kind}:{outcome_id}",
                    )
        for prefix, family in catalogue.families.items():
            for kind in family.raised_by:
                for outcome_id in family.outcomes_in(framework_id, version):
                    yield pytest.param(
                        key,
                        f"{prefix}0",
                        FAMILY_SEVERITY,
                        kind,
                        outcome_id,
                        id=f"{framework_id}-{version}:{prefix}*:{kind}:{outcome_id}",
                    )


def _claiming_everything(loaded: LoadedFramework, outcome_id: str) -> tuple[str, list[str]]:
    """A profile where the outcome applies, and the outcomes in its scope in framework order."""
    for profile in loaded.profiles.values():
        scope = [o.id for o in loaded.framework.outcomes() if profile.target_for(o) is not None]
        if outcome_id in scope:
            return profile.id, scope
    raise AssertionError(f"no profile of {loaded.key} has {outcome_id} in scope")


@pytest.mark.parametrize(("key", "code", "severity", "kind", "outcome_id"), list(_links()))
def test_the_link_reaches_its_outcome_at_the_level_the_policy_gives(
    key: tuple[str, str], code: str, severity: str, kind: str, outcome_id: str
) -> None:
    loaded = shipped_library().frameworks[key]
    policy = loaded.scoring
    cap = policy.cap_level(severity)
    expected = ACHIEVED if cap is None else cap
    assert outcome_id in loaded.finding_links.outcomes_for(code)
    run = CheckRunFacts(11, kind, NOON, (RunFinding(code, severity, f"finding {code}"),))

    evidence = run_levels(run, loaded.finding_links, policy)[outcome_id]
    assert evidence.level == expected
    assert evidence.finding_code == (code if expected < ACHIEVED else None)

    profile_id, scope = _claiming_everything(loaded, outcome_id)
    answers = {}
    for outcome in loaded.framework.outcomes():
        if outcome.id in scope:
            indicators = outcome.indicators.partially_achieved + outcome.indicators.achieved
            answers[outcome.id] = AnswerRecord(tuple(i.id for i in indicators), "documentary", NOON)
    claimed = SubjectAnswers(
        SubjectRef("product", 1, 1, 1, "Checked product"),
        profile_id,
        answers,
        subject_levels([run], loaded.finding_links, policy),
    )
    tables = framework_tables(loaded)
    result = score_arrays(encode(Estate(AS_OF, [claimed]), tables), tables)
    row = scope.index(outcome_id)
    assert int(result.row_final[row]) == expected
    assert bool(result.row_contradicted[row]) == (expected < ACHIEVED)


def test_the_links_that_never_capped_before_now_cap() -> None:
    """Ten links the framework's own check lists used to hide from scoring, and the three a
    certificate finding had from the TLS check."""
    loaded = shipped_library().latest("ptsbd")
    once_dead = [
        ("ssh", "SSH-003", "high", "C2.a"),
        ("ssh", "SSH-003", "high", "B2.b"),
        ("ssh", "SSH-004", "medium", "B2.b"),
        ("ssh", "SSH-004", "medium", "C3.d"),
        ("jwks", "JWKS-001", "medium", "C3.c"),
        ("cbom", "CBOM-001", "high", "C3.d"),
        ("cbom", "CBOM-002", "medium", "C3.c"),
        ("api", "API-001", "high", "C2.a"),
        ("api", "API-004", "high", "C2.a"),
        ("api", "API-016", "medium", "C1.b"),
        ("tls", "CERT-001", "critical", "C3.d"),
        ("tls", "CERT-002", "medium", "C3.d"),
        ("tls", "CERT-003", "high", "C3.d"),
    ]
    for kind, code, severity, outcome_id in once_dead:
        run = CheckRunFacts(12, kind, NOON, (RunFinding(code, severity, code),))
        level = run_levels(run, loaded.finding_links, loaded.scoring)[outcome_id].level
        assert level == (PARTIALLY_ACHIEVED if severity == "medium" else NOT_ACHIEVED), code
