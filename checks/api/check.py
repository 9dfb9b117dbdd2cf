"""The API check: load -> lint -> (optionally) live-test -> score in three parts with gates."""

from __future__ import annotations

from datetime import UTC, datetime

from checks.api.authz_matrix import run_matrix, with_matrix
from checks.api.authz_objects import ObjectsFileError, named_objects, parse_objects
from checks.api.bundle import bundle
from checks.api.identities import IDENTITY_NAMES, below_share, identity_proofs, merged
from checks.api.known_secrets import KnownSecrets, scrubbed_report
from checks.api.lint import lint, rule_book
from checks.api.live import LiveResult, LiveSettings, run_live
from checks.api.preflight import preflight
from checks.api.restates import fold_findings
from checks.api.spec import LoadedSpec, SpecError, SpecLimit, count_operations, load_spec
from checks.catalogue.api import ApiLiveRun, ApiResult, ApiVerdict, IdentityStatus
from checks.egress import EgressPolicy
from checks.fetch import for_run
from checks.findings import (
    CheckFinding,
    Severity,
    family_outcome_ids,
    finding,
    finding_catalogue,
)
from checks.report import CheckReport, ReportStatus
from kernel.errors import ValidationFailed

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
    # Secured requests went out with it, by the preflight or the run, and none was accepted: a
    # wrong token that the API answers with 400 or 404 rather than 401. An identity nothing
    # secured was sent with is not judged here: it leaves the result provisional (_assessed).
    unproven = [
        p
        for p in result.identity_proofs
        if p.status is IdentityStatus.UNPROVEN and p.untested is None
    ]
    if unproven:
        findings.append(
            finding(
                "API-LIVE-007",
                identities=[p.identity for p in unproven],
                responses={p.identity: p.responses for p in unproven},
                preflight_ran=result.preflight_ran,
            )
        )
    # One 2xx proves a token works somewhere; most secured operations refusing it means the run
    # did not test the API behind it. The minimum share is data (api_probes.yaml: identities).
    from checks.api.live_probes.client import probe_book

    narrow = below_share(result.identity_proofs, probe_book().identities.min_accepted_share)
    if narrow:
        findings.append(
            finding(
                "API-LIVE-010",
                identities=[p.identity for p in narrow],
                shares={p.identity: p.accepted_share for p in narrow},
                accepted={p.identity: p.secured_accepted for p in narrow},
                refused={p.identity: p.secured_refused for p in narrow},
                minimum=probe_book().identities.min_accepted_share,
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
        (
            "API-LIVE-004",
            untested,
            [
                f"0 of {result.operations_total} operations showed they ran (requests went to "
                f"{result.operations_sent}; with no 2xx anywhere in the run none counts, and "
                "otherwise an operation needs a 2xx or 3xx, an unknown id's 403 or 404 on a "
                "templated path, or a 4xx to invalid data that valid data did not get)"
            ]
            + [f"no answer of its own: {label}" for label in result.operations_unanswered[:20]],
        ),
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
    objects: str | None = None,
    matrix_writes: bool = False,
) -> CheckReport:
    """`objects` is the text of an objects file (authz_objects.py) for the authorisation
    matrix; `matrix_writes` lets the matrix replay writes, which change data."""
    started = datetime.now(UTC)
    if len(tokens or []) > len(IDENTITY_NAMES):
        # Refused before anything is read or sent (the CLI takes --auth and --auth2 only).
        raise ValidationFailed(
            f"{len(tokens or [])} identities given; at most {len(IDENTITY_NAMES)} (a first and "
            "a second, for object-level authorisation)"
        )
    # A bad objects file is the user's to fix: refused before anything is read or sent.
    objects_file = parse_objects(objects) if objects is not None else None
    if objects_file is not None and not base_url:
        raise ObjectsFileError("--objects needs --base-url: the objects are read from the live API")
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
        identities = len(tokens or [])
        named = named_objects(objects_file, spec.document, identities) if objects_file else []
        try:
            bundled = bundle(spec, policy)
        except SpecError as exc:
            return _not_assessable(source, started, [_unreadable(exc)])
        bundled_notes = bundled.notes
        settings = settings or LiveSettings()
        # The base URL's host is resolved once for the whole run, and every request of the run
        # goes to that address at one pace: preflight, schemathesis, probes and matrix.
        policy = for_run(policy, base_url, settings.rate_limit)  # EgressRefused: refused
        answers_before = preflight(
            spec.document,
            base_url,
            tokens or [],
            policy,
            settings.request_timeout,
            settings.budget_seconds,
        )
        live = run_live(bundled.encoded(), base_url, tokens or [], settings, policy)
        live.identity_answers = merged(answers_before, live.identity_answers)
        live.identity_proofs = identity_proofs(live.identity_answers, len(tokens or []))
        live.preflight_ran = answers_before is not None
        findings += live_findings(live)
        from checks.api.live_probes.runner import run_probes, with_probes

        probe_findings, probes = run_probes(
            spec.document, base_url, tokens or [], live.identity_proofs, policy, settings
        )
        findings += probe_findings
        matrix_findings, matrix = run_matrix(
            spec.document,
            base_url,
            tokens or [],
            live.identity_proofs,
            policy,
            settings,
            named,
            matrix_writes,
        )
        findings = fold_findings(findings + matrix_findings)
        report = _assessed(
            spec, source, base_url, tokens or [], started, findings, live, bundled_notes
        )
        report = with_matrix(with_probes(report, probes), matrix, live.identity_proofs)
        secrets = KnownSecrets.of([*(tokens or []), *settings.signed_tokens], base_url)
        return scrubbed_report(report, secrets)
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
    # A live run that could not test what it reports (nothing answered, an identity refused or
    # unproven, cut at its limit) has no runtime score: its silence proves nothing, as for
    # scoring (findings.yaml blocks_assessment). The gate still fails on its finding.
    catalogue = finding_catalogue().findings
    live_counts = live is not None and not any(
        f.code in catalogue and catalogue[f.code].blocks_assessment for f in findings
    )
    subscores = score_parts(findings, live_counts)
    gates = sorted({f.code for f in findings if part_of(f)[1]})
    coverage = live.coverage if live else 0.0
    # An identity nothing secured was sent with was not tested either way (its proof says why).
    untested = live is not None and any(p.untested for p in live.identity_proofs)
    provisional = (
        not live_counts or untested or coverage < rule_book().scoring.provisional_below_coverage
    )
    result = ApiResult(
        openapi_version=spec.version,
        spec_bytes=spec.size_bytes,
        operations=count_operations(spec.document, spec.remote, spec.base_uri),
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
            operations_unanswered=tuple(live.operations_unanswered),
            seed=live.seed,
            command=tuple(live.command),
            seconds=live.seconds,
            identities=len(tokens),
            identity_proofs=tuple(live.identity_proofs),
            # bola_not_tested is the matrix's to say (authz_matrix.with_matrix).
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
