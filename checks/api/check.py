"""The API check: load -> lint -> (optionally) live-test -> score in three parts with gates."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.api.bundle import bundle
from checks.api.identities import bola_not_tested, merged
from checks.api.lint import lint, rule_book
from checks.api.live import LiveResult, LiveSettings, run_live
from checks.api.model import METHODS
from checks.api.preflight import preflight
from checks.api.spec import LoadedSpec, SpecError, SpecLimit, load_spec
from checks.catalogue.api import ApiLiveRun, ApiResult, ApiVerdict, IdentityStatus
from checks.egress import EgressPolicy
from checks.findings import CheckFinding, Severity, family_outcome_ids, finding
from checks.report import CheckReport, ReportStatus

PART_NAMES = {
    "design": "contract_and_design",
    "security": "security",
    "runtime": "runtime_conformance",
}
LIVE_ADVICE = (
    "Reproduce it with the curl command in the evidence, then fix the API or its "
    "description so they agree."
)


def live_findings(result: LiveResult) -> list[CheckFinding]:
    findings = []
    for failure in result.failures:
        severity = (
            Severity(failure.severity)
            if failure.severity in Severity.__members__.values()
            else Severity.MEDIUM
        )
        findings.append(
            CheckFinding(
                code=failure.code,
                severity=severity,
                title=failure.title,
                evidence={
                    "operations": failure.operations,
                    "count": failure.count,
                    "curl": failure.curl,
                    "message": failure.message,
                    "samples": [sample.as_evidence() for sample in failure.samples],
                    "samples_left_out": failure.samples_left_out,
                    "also_reported": failure.also_reported,
                },
                advice=LIVE_ADVICE,
                outcome_ids=family_outcome_ids(failure.code),
            )
        )
    refused = [
        f"{r.get('event')} to {r.get('target')}: {r.get('reason')}" for r in result.egress_refused
    ]
    refused_identities = [p for p in result.identity_proofs if p.status is IdentityStatus.REFUSED]
    if refused_identities:
        findings.append(
            finding(
                "API-LIVE-005",
                identities=[p.identity for p in refused_identities],
                responses={p.identity: p.responses for p in refused_identities},
            )
        )
    unproven = [p for p in result.identity_proofs if p.status is IdentityStatus.UNPROVEN]
    if unproven and result.preflight_ran:
        # There was an operation to try it on, and nothing secured accepted it.
        findings.append(
            finding(
                "API-LIVE-007",
                identities=[p.identity for p in unproven],
                responses={p.identity: p.responses for p in unproven},
            )
        )
    # schemathesis's warnings that mean the run did not test what it reports as tested.
    for code, kind in (
        ("API-LIVE-006", "missing_auth"),
        ("API-LIVE-008", "rate_limited"),
        ("API-LIVE-009", "base_url_mismatch"),
    ):
        if result.warnings.get(kind):
            findings.append(finding(code, operations=result.warnings[kind][:50]))
    untested = result.operations_tested == 0 and not result.timed_out
    for code, happened, detail in (
        ("API-LIVE-004", untested, [f"0 of {result.operations_total} operations tested"]),
        ("API-LIVE-003", bool(refused), refused),
        ("API-LIVE-002", result.timed_out, ["the run was stopped at its hard limit"]),
        (
            "API-LIVE-001",
            bool(result.errors) or not (result.completed or result.timed_out),
            result.errors,
        ),
    ):
        if happened:
            findings.append(finding(code, errors=detail))
    return findings


def part_of(finding: CheckFinding) -> tuple[str, bool]:
    book = rule_book()
    if finding.code in book.rules:
        rule = book.rules[finding.code]
        return rule.part, rule.gate
    live = book.live_rule(finding.code)
    return live.part, live.gate


def score_parts(findings: list[CheckFinding], live_ran: bool) -> dict[str, float | None]:
    penalties = rule_book().scoring.severity_penalty
    worst: dict[tuple[str, str], float] = {}
    for item in findings:
        part, _ = part_of(item)
        key = (part, item.code)
        worst[key] = max(worst.get(key, 0.0), penalties[item.severity])
    scores: dict[str, float | None] = {}
    for part, name in PART_NAMES.items():
        if part == "runtime" and not live_ran:
            scores[name] = None
            continue
        lost = sum(value for (p, _), value in worst.items() if p == part)
        scores[name] = max(0.0, 100.0 - lost)
    return scores


def overall(subscores: dict[str, float | None]) -> float | None:
    weights = rule_book().scoring.parts
    by_name = {PART_NAMES[part]: weight for part, weight in weights.items()}
    assessed = {k: v for k, v in subscores.items() if v is not None}
    total = sum(by_name[k] for k in assessed)
    return round(sum(by_name[k] * v for k, v in assessed.items()) / total, 1) if total else None


def run_api_check(
    source: str,
    policy: EgressPolicy,
    base_url: str | None = None,
    tokens: list[str] | None = None,
    settings: LiveSettings | None = None,
) -> CheckReport:
    started = datetime.now(UTC)
    try:
        spec: LoadedSpec = load_spec(source, policy)
    except SpecError as exc:
        return _not_assessable(source, started, [_unreadable(exc)])
    findings = lint(spec)
    # Invalid, or valid with no operations (API-033): nothing was judged, so nothing is scored.
    if not spec.valid or any(f.code == "API-033" for f in findings):
        return _not_assessable(source, started, findings)
    live: LiveResult | None = None
    bundled_notes: list[str] = []
    if base_url:
        try:
            bundled = bundle(spec, policy)
        except SpecError as exc:
            return _not_assessable(source, started, [_unreadable(exc)])
        bundled_notes = bundled.notes
        settings = settings or LiveSettings()
        proven_before = preflight(
            spec.document,
            base_url,
            tokens or [],
            policy,
            settings.request_timeout,
            settings.budget_seconds,
        )
        live = run_live(bundled.encoded(), base_url, tokens or [], settings, policy)
        live.identity_proofs = merged(proven_before, live.identity_proofs)
        live.preflight_ran = proven_before is not None
        findings += live_findings(live)
        from checks.api.live_probes.runner import run_probes, with_probes

        probe_findings, probes = run_probes(
            spec.document, base_url, tokens or [], live.identity_proofs, policy, settings
        )
        findings += probe_findings
        report = _assessed(
            spec, source, base_url, tokens or [], started, findings, live, bundled_notes
        )
        return with_probes(report, probes)
    return _assessed(spec, source, base_url, tokens or [], started, findings, live, bundled_notes)


def _unreadable(error: SpecError) -> CheckFinding:
    from checks.api.lint import rule_finding

    if isinstance(error, SpecLimit):
        return finding("INPUT-LIMIT", limit=error.limit, detail=error.detail, value=error.value)
    return rule_finding("API-000", "/", {"errors": [str(error)]})


def _not_assessable(source: str, started: datetime, findings: list[CheckFinding]) -> CheckReport:
    return CheckReport(
        kind="api",
        target=source,
        started_at=started,
        finished_at=datetime.now(UTC),
        status=ReportStatus.NOT_ASSESSABLE,
        findings=findings,
        details=ApiResult().as_details(),
    )


def _assessed(
    spec: LoadedSpec,
    source: str,
    base_url: str | None,
    tokens: list[str],
    started: datetime,
    findings: list[CheckFinding],
    live: LiveResult | None,
    bundled_notes: list[str],
) -> CheckReport:
    subscores = score_parts(findings, live is not None)
    gates = sorted({f.code for f in findings if part_of(f)[1]})
    coverage = live.coverage if live else 0.0
    provisional = live is None or coverage < rule_book().scoring.provisional_below_coverage
    result = ApiResult(
        openapi_version=spec.version,
        spec_bytes=spec.size_bytes,
        operations=sum(
            1
            for p in (spec.document.get("paths") or {}).values()
            for m in (p or {})
            if m in METHODS
        ),
        gate_failed=tuple(gates),
        verdict=ApiVerdict.FAIL if gates else ApiVerdict.PASS,
        provisional=provisional,
        live=None
        if live is None
        else ApiLiveRun(
            completed=live.completed,
            timed_out=live.timed_out,
            operations_tested=live.operations_tested,
            operations_total=live.operations_total,
            coverage=round(coverage, 3),
            seed=live.seed,
            command=tuple(live.command),
            seconds=live.seconds,
            identities=len(tokens),
            identity_proofs=tuple(live.identity_proofs),
            bola_not_tested=None
            if (why := bola_not_tested(live.identity_proofs)) is None
            else why.value,
            not_followed=tuple(bundled_notes),
            unconfirmed=tuple(live.unconfirmed),
            stop_reason=live.stop_reason,
            stopped_for_time=live.stopped_for_time,
            operations_not_reached=tuple(live.operations_not_reached),
        ),
    )
    return CheckReport(
        kind="api",
        target=base_url or source,
        started_at=started,
        finished_at=datetime.now(UTC),
        status=ReportStatus.COMPLETED,
        score=overall(subscores),
        subscores=subscores,
        findings=findings,
        details=result.as_details(),
    )
