"""Run the live probes one after another against the base URL, with the first proven identity,
inside one deadline, at the user's rate; each says what it did or why it did not run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checks.api.known_secrets import KnownSecrets, scrubbed_findings
from checks.api.live import LiveSettings
from checks.api.live_probes import cors, debug_pages, jwt_tokens, mass_assignment, rate_limit
from checks.api.live_probes.client import OutOfTime, ProbeClient, probe_book, requests_per_second
from checks.api.live_probes.context import ProbeContext, Probed, outcome
from checks.api.model import OpenApiView
from checks.api.phases import around_run
from checks.catalogue.api import ApiResult, IdentityProof, IdentityStatus, LiveProbeOutcome
from checks.egress import EgressPolicy
from checks.findings import CheckFinding
from checks.report import CheckReport

# The debug-page scan reads what the probes before it got; the burst goes last, so a limiter it
# trips cannot turn the other probes' answers into 429s.
PROBES: tuple[tuple[str, Callable[[ProbeContext], Probed]], ...] = (
    (cors.PROBE, cors.probe),
    (jwt_tokens.PROBE, jwt_tokens.probe),
    (mass_assignment.PROBE, mass_assignment.probe),
    (debug_pages.PROBE, debug_pages.probe),
    (rate_limit.PROBE, rate_limit.probe),
)


@dataclass
class ProbeReport:
    outcomes: tuple[LiveProbeOutcome, ...] = ()
    requests: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # requests that got no answer


def proven_identity(
    tokens: list[str], proofs: list[IdentityProof]
) -> tuple[str, str] | tuple[None, None]:
    """(name, token) of the first identity a secured operation answered 2xx to."""
    for proof, token in zip(proofs, tokens, strict=False):
        if proof.status is IdentityStatus.PROVEN:
            return proof.identity, token
    return None, None


def run_probes(
    document: dict[str, Any],
    base_url: str,
    tokens: list[str],
    proofs: list[IdentityProof],
    policy: EgressPolicy,
    settings: LiveSettings,
) -> tuple[list[CheckFinding], ProbeReport]:
    book = probe_book()
    started = time.monotonic()
    seconds = around_run(book.total_seconds, settings.budget_seconds)
    client = ProbeClient(
        policy=policy,
        request_timeout=settings.request_timeout,
        deadline=started + seconds,
        per_second=requests_per_second(settings.rate_limit),
        max_body_bytes=book.max_body_bytes,
    )
    identity, token = proven_identity(tokens, proofs)
    view = OpenApiView(document)
    ctx = ProbeContext(
        view,
        base_url,
        client,
        book,
        token,
        identity,
        settings.expired_token,
        settings.other_audience_token,
    )
    results: list[tuple[list[CheckFinding], LiveProbeOutcome, int]] = []
    for name, probe in PROBES:
        before = client.sent
        try:
            found, result = probe(ctx)
        except OutOfTime:
            found, result = [], outcome(name, skipped=f"the probes' {seconds:g}s deadline passed")
        except Exception as exc:  # a probe's own fault ends that probe, not the check
            found, result = [], outcome(name, skipped=f"the probe failed: {exc}"[:300])
        results.append((found, result, client.sent - before))
    # A cookie set or read anywhere in the run makes a credentialed CORS policy a live leak.
    at = [name for name, _ in PROBES].index(cors.PROBE)
    found, result, sent = results[at]
    results[at] = (*cors.regraded(found, result, view, client.answers), sent)
    findings = [f for found, _, _ in results for f in found]
    outcomes = [
        result.model_copy(
            update={"requests": sent, "findings": tuple(sorted({f.code for f in found}))}
        )
        for found, result, sent in results
    ]
    # An API that echoes its request hands the credentials back inside what it answers.
    secrets = KnownSecrets.of([*tokens, *settings.signed_tokens], base_url)
    return scrubbed_findings(findings, secrets), ProbeReport(
        outcomes=tuple(LiveProbeOutcome(**secrets.scrub(o.model_dump())) for o in outcomes),
        requests=client.sent,
        seconds=round(time.monotonic() - started, 3),
        errors=secrets.scrub(client.errors),
    )


def with_probes(report: CheckReport, probes: ProbeReport) -> CheckReport:
    """The report with the probes' outcomes recorded on its live run."""
    result = ApiResult.model_validate(report.details)
    if result.live is None:
        return report
    live = result.live.model_copy(update={"probes": probes.outcomes})
    details = result.model_copy(update={"live": live}).as_details()
    return report.model_copy(update={"details": details})
