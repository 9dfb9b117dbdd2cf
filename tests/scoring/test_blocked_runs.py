"""A run that could not look at its subject corroborates nothing: an endpoint that never answered
in TLS must not count as a clean post-quantum key exchange, an unreadable CBOM as a clean
inventory. Its findings still cap the outcomes they link to."""

from __future__ import annotations

import pytest

from checks.findings import finding_catalogue
from frameworks.library import shipped_library
from frameworks.loader import LoadedFramework
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.evidence import CheckRunFacts, RunFinding, run_levels, subject_levels
from posture.scoring.inputs import AnswerRecord, Estate, SubjectAnswers, SubjectRef
from posture.scoring.rules import ACHIEVED
from posture.scoring.tables import framework_tables
from tests.scoring.helpers import AS_OF, NOON

# Each means the run saw nothing of what it was asked to judge.
EXPECTED_BLOCKING = {
    "NET-001",
    "TLS-PROTO-001",
    "TLS-PROTO-002",
    "TLS-PROTO-003",
    "TLS-PROTO-004",
    "SSH-005",
    "CERT-006",
    "JWKS-005",
    "CBOM-004",
    "CBOM-007",
    "API-000",
    "INPUT-LIMIT",
}


def _latest() -> LoadedFramework:
    return shipped_library().latest("ptsbd")


def _run(kind: str, *codes: str) -> CheckRunFacts:
    catalogue = finding_catalogue().findings
    found = tuple(RunFinding(c, catalogue[c].severity.value, catalogue[c].title) for c in codes)
    return CheckRunFacts(21, kind, NOON, found)


def test_the_catalogue_marks_exactly_the_findings_of_runs_that_saw_nothing() -> None:
    assert _latest().finding_links.blocking == EXPECTED_BLOCKING


@pytest.mark.parametrize(
    ("kind", "code"),
    sorted(
        (kind, code)
        for code in EXPECTED_BLOCKING
        for kind in finding_catalogue().findings[code].raised_by
    ),
)
def test_a_blocked_run_corroborates_no_outcome(kind: str, code: str) -> None:
    loaded = _latest()
    levels = run_levels(_run(kind, code), loaded.finding_links, loaded.scoring)
    assert all(evidence.level < ACHIEVED for evidence in levels.values()), levels
    assert set(levels) <= set(loaded.finding_links.outcomes_for(code))


def test_a_tls_endpoint_that_closed_every_probe_neither_passes_nor_hides_the_key_exchange() -> None:
    loaded = _latest()
    clean = run_levels(_run("tls"), loaded.finding_links, loaded.scoring)
    closed = run_levels(_run("tls", "TLS-PROTO-002"), loaded.finding_links, loaded.scoring)
    assert clean["C3.b"].level == ACHIEVED  # a run that answered and raised nothing corroborates
    assert "C3.b" not in closed
    assert closed["C2.a"].level < ACHIEVED
    assert closed["C2.a"].finding_code == "TLS-PROTO-002"


def test_an_info_finding_in_a_blocked_run_does_not_bring_back_corroboration() -> None:
    loaded = _latest()
    levels = run_levels(_run("tls", "NET-001", "PQC-TLS-004"), loaded.finding_links, loaded.scoring)
    assert "C3.b" not in levels


def _confidence(loaded: LoadedFramework, runs: list[CheckRunFacts]) -> float:
    profile = next(iter(loaded.profiles.values()))
    scope = [o for o in loaded.framework.outcomes() if profile.target_for(o) is not None]
    answers = {
        o.id: AnswerRecord(
            tuple(i.id for i in o.indicators.partially_achieved + o.indicators.achieved),
            "documentary",
            NOON,
        )
        for o in scope
    }
    subject = SubjectAnswers(
        SubjectRef("product", 1, 1, 1, "Checked product"),
        profile.id,
        answers,
        subject_levels(runs, loaded.finding_links, loaded.scoring),
    )
    tables = framework_tables(loaded)
    return float(score_arrays(encode(Estate(AS_OF, [subject]), tables), tables).confidence[0])


def test_an_unreachable_endpoint_adds_no_confidence_to_a_claim() -> None:
    loaded = _latest()
    unchecked = _confidence(loaded, [])
    unreachable = _confidence(loaded, [_run("ssh", "NET-001")])
    answered = _confidence(loaded, [_run("ssh")])
    assert unreachable == pytest.approx(unchecked)
    assert answered > unchecked
