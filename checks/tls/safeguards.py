"""Protocol safeguards, each asked with one raw ClientHello and judged from the ServerHello alone:
secure renegotiation (RFC 5746), downgrade protection (TLS_FALLBACK_SCSV, RFC 7507), TLS
compression refused (CRIME) and the size of the DHE prime (Logjam). Nothing is renegotiated,
downgraded or compressed: no handshake goes past the server's first flight.

They follow the main probes, which tell which versions are spoken and which hello the server
accepts, so each question reuses an accepted hello (its version, the suite picked, its groups) and
changes one thing. Planning and judging are pure; the probes run through the same scheduler, with
the same connection limit, retries and inconclusive answers as the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from checks.catalogue.tls import Safeguard, SafeguardVerdict, SuiteClass, TlsSafeguard
from checks.dh_sizes import dh_sizes
from checks.findings import CheckFinding, finding
from checks.tls.implied import proving
from checks.tls.probes import DhProbe, Probe, SafeguardProbe, SuiteProbe, VersionProbe
from checks.tls.suites import OFFERED, suite_name
from checks.tls.wire import (
    INAPPROPRIATE_FALLBACK,
    TLS_ANSWERS,
    TLS_VERSIONS,
    UNPROVEN,
    Outcome,
    ServerAnswer,
)

TLS13 = 0x0304
DHE_SUITES = frozenset(OFFERED[SuiteClass.DHE])
# The whole extension body of an initial handshake: a zero-length renegotiated_connection.
EMPTY_RENEGOTIATION_INFO = b"\x00"


@dataclass(frozen=True)
class _Accepted:
    """A TLS 1.2-or-lower hello the server accepted: the template a safeguard probe copies."""

    version: int
    suite: int
    ffdhe: bool


def _accepted(answers: dict[Probe, ServerAnswer]) -> dict[int, _Accepted]:
    """Per version, the first of this check's own TLS 1.2-or-lower hellos accepted in it. The
    main probes come first and the DHE probes last, so a later round of probing never changes a
    template already chosen."""
    found: dict[int, _Accepted] = {}
    ordered = sorted(answers.items(), key=lambda item: isinstance(item[0], DhProbe))
    for probe, answer in ordered:
        own = isinstance(probe, SuiteProbe | DhProbe) or (
            isinstance(probe, VersionProbe) and probe.version < TLS13
        )
        if not own or answer.outcome is not Outcome.SERVER_HELLO:
            continue
        version = answer.version or 0
        if version in TLS_VERSIONS and version < TLS13 and answer.cipher_suite is not None:
            ffdhe = not (isinstance(probe, DhProbe) and not probe.ffdhe)
            found.setdefault(version, _Accepted(version, answer.cipher_suite, ffdhe))
    return found


def _tls13(answers: dict[Probe, ServerAnswer]) -> bool | None:
    """TLS 1.3 spoken: any answer in it proves it; its own probe's refusal disproves it."""
    if any(a.outcome in TLS_ANSWERS and a.version == TLS13 for a in answers.values()):
        return True
    own = answers.get(VersionProbe(TLS13))
    if own is None:
        return None
    own = proving(answers, own)
    return None if own.outcome not in TLS_ANSWERS else False


def _fallback(answers: dict[Probe, ServerAnswer]) -> tuple[_Accepted | None, str, bool]:
    """The version below the highest to ask in, or why there is none (and whether that is
    for want of an answer)."""
    accepted = _accepted(answers)
    tls13 = _tls13(answers)
    spoken = sorted(accepted, reverse=True)
    if tls13 and spoken:
        return accepted[spoken[0]], "", False
    if len(spoken) >= 2:
        return accepted[spoken[1]], "", False
    if tls13 is None:
        return None, "whether TLSv1.3 is spoken is unknown", True
    names = ["TLSv1.3"] if tls13 else [TLS_VERSIONS[v] for v in spoken]
    why = f"only {', '.join(names) or 'no version'} is spoken: nothing to fall back to"
    return None, why, False


def _plain(answers: dict[Probe, ServerAnswer]) -> _Accepted | None:
    """The highest version at or below TLS 1.2 spoken, where renegotiation and compression
    exist (TLS 1.3 has neither)."""
    accepted = _accepted(answers)
    return accepted[max(accepted)] if accepted else None


def _dhe_with_ffdhe(answers: dict[Probe, ServerAnswer]) -> bool:
    asked = answers.get(SuiteProbe(SuiteClass.DHE))
    own = proving(answers, asked) if asked is not None else None
    if own is None or own.outcome is not Outcome.SERVER_HELLO:
        return False
    return own.cipher_suite in DHE_SUITES


def follow_ups(answers: dict[Probe, ServerAnswer]) -> list[Probe]:
    """The safeguard probes the answers so far call for, not yet asked. The DHE probe without
    FFDHE groups is always asked: a server whose groups exclude FFDHE refuses DHE to the suite
    probe (RFC 7919) and may speak TLS 1.2 with DHE only, so only this probe can show it."""
    wanted: list[Probe] = [DhProbe(ffdhe=False)]
    if _dhe_with_ffdhe(answers):
        wanted.append(DhProbe(ffdhe=True))
    if (plain := _plain(answers)) is not None:
        for safeguard in (Safeguard.SECURE_RENEGOTIATION, Safeguard.NO_COMPRESSION):
            wanted.append(SafeguardProbe(safeguard, plain.version, plain.suite, plain.ffdhe))
    fallback, _, _ = _fallback(answers)
    if fallback is not None:
        wanted.append(
            SafeguardProbe(
                Safeguard.FALLBACK_SCSV, fallback.version, fallback.suite, fallback.ffdhe
            )
        )
    return [probe for probe in wanted if probe not in answers]


def _said(answer: ServerAnswer) -> str:
    if answer.outcome is Outcome.ALERT:
        return f"alert {answer.alert}"
    detail = f": {answer.detail}" if answer.detail else ""
    tries = f" ({answer.attempts} attempts)" if answer.attempts > 1 else ""
    return f"{answer.outcome.value}{detail}{tries}"


def _verdict(
    safeguard: Safeguard, verdict: SafeguardVerdict, answer: str, version: int | None = None
) -> TlsSafeguard:
    protocol = TLS_VERSIONS.get(version or 0)
    return TlsSafeguard(safeguard=safeguard, verdict=verdict, protocol=protocol, answer=answer)


def _unasked(safeguard: Safeguard, answers: dict[Probe, ServerAnswer]) -> TlsSafeguard:
    """No hello at TLS 1.2 or below was accepted: not applicable, unless one might have been."""
    own = [
        proving(answers, a)
        for p, a in answers.items()
        if isinstance(p, SuiteProbe | VersionProbe | DhProbe)
    ]
    pending = [p for p in follow_ups(answers) if isinstance(p, DhProbe)]
    if pending or any(a.outcome in UNPROVEN for a in own):
        why = "whether TLS 1.2 or lower is spoken is unknown"
        return _verdict(safeguard, SafeguardVerdict.INCONCLUSIVE, why)
    return _verdict(safeguard, SafeguardVerdict.NOT_APPLICABLE, "TLS 1.2 and lower are not spoken")


def _server_hello(
    safeguard: Safeguard, answers: dict[Probe, ServerAnswer]
) -> tuple[ServerAnswer, int] | TlsSafeguard:
    """The ServerHello (and the version asked in) to the hello asking about renegotiation or
    compression at the highest version up to TLS 1.2; else the verdict there is without it."""
    plain = _plain(answers)
    if plain is None:
        return _unasked(safeguard, answers)
    answer = answers.get(SafeguardProbe(safeguard, plain.version, plain.suite, plain.ffdhe))
    if answer is not None and answer.outcome is Outcome.SERVER_HELLO:
        return answer, plain.version
    if answer is None:
        why = "not asked: the probing budget ran out"
    elif answer.outcome is Outcome.ALERT:
        # It accepted the same hello without this one change: no verdict either way.
        why = f"refused: {_said(answer)}"
    else:
        why = f"inconclusive: {_said(answer)}"
    return _verdict(safeguard, SafeguardVerdict.INCONCLUSIVE, why, plain.version)


def _renegotiation(answers: dict[Probe, ServerAnswer]) -> TlsSafeguard:
    safeguard = Safeguard.SECURE_RENEGOTIATION
    seen = _server_hello(safeguard, answers)
    if isinstance(seen, TlsSafeguard):
        return seen
    answer, version = seen
    body = answer.renegotiation_info
    if body == EMPTY_RENEGOTIATION_INFO:
        return _verdict(
            safeguard, SafeguardVerdict.IN_PLACE, "renegotiation_info answered", version
        )
    if body is not None:
        # RFC 5746 3.6: in an initial handshake the extension must be empty, and a client
        # "MUST abort the handshake" otherwise. A server sending anything else gives no client
        # the protection, so it is missing, not unknown: were it inconclusive, a server could
        # escape TLS-RENEG-001 by garbling the one extension the finding is about.
        why = f"renegotiation_info not empty in an initial handshake: {body.hex() or 'no body'}"
        return _verdict(safeguard, SafeguardVerdict.MISSING, why, version)
    why = "no renegotiation_info in the ServerHello"
    return _verdict(safeguard, SafeguardVerdict.MISSING, why, version)


def _compression(answers: dict[Probe, ServerAnswer]) -> TlsSafeguard:
    safeguard = Safeguard.NO_COMPRESSION
    seen = _server_hello(safeguard, answers)
    if isinstance(seen, TlsSafeguard):
        return seen
    answer, version = seen
    if answer.compression == 0:
        return _verdict(safeguard, SafeguardVerdict.IN_PLACE, "null compression", version)
    # DEFLATE, or a method it was not even offered: either way the records are compressed.
    why = f"compression method {answer.compression} selected"
    return _verdict(safeguard, SafeguardVerdict.MISSING, why, version)


def _fallback_scsv(answers: dict[Probe, ServerAnswer]) -> TlsSafeguard:
    safeguard = Safeguard.FALLBACK_SCSV
    lower, why, unknown_versions = _fallback(answers)
    if lower is None:
        if unknown_versions:
            return _verdict(safeguard, SafeguardVerdict.INCONCLUSIVE, why)
        return _verdict(safeguard, SafeguardVerdict.NOT_APPLICABLE, why)
    answer = answers.get(SafeguardProbe(safeguard, lower.version, lower.suite, lower.ffdhe))
    if answer is None or answer.outcome not in TLS_ANSWERS:
        why = (
            f"inconclusive: {_said(answer)}" if answer else "not asked: the probing budget ran out"
        )
        return _verdict(safeguard, SafeguardVerdict.INCONCLUSIVE, why, lower.version)
    if answer.outcome is Outcome.ALERT and answer.alert == INAPPROPRIATE_FALLBACK:
        return _verdict(
            safeguard, SafeguardVerdict.IN_PLACE, "alert 86 inappropriate_fallback", lower.version
        )
    if answer.outcome is Outcome.SERVER_HELLO:
        said = f"accepted {TLS_VERSIONS.get(answer.version or 0, 'a lower version')} despite it"
        return _verdict(safeguard, SafeguardVerdict.MISSING, said, lower.version)
    # Another alert refuses the hello, but not as a downgrade: that proves nothing either way.
    return _verdict(
        safeguard, SafeguardVerdict.INCONCLUSIVE, f"refused: {_said(answer)}", lower.version
    )


def _sized(answer: ServerAnswer) -> bool:
    return (
        answer.outcome is Outcome.SERVER_HELLO
        and answer.cipher_suite in DHE_SUITES
        and (answer.version or 0) < TLS13
        and answer.dh_bits is not None
    )


def _dh_parameters(answers: dict[Probe, ServerAnswer]) -> TlsSafeguard:
    """The smallest prime the DHE probes read. Credited only when every DHE probe asked gave a
    size or a clean refusal (an alert): the probe without FFDHE groups shows the server's own
    configured prime, the likeliest weak one, so a server stalling that one hello must not be
    judged by the FFDHE group it gave the other. A prime already too small is a finding
    whatever the other probe did: the unread one can only be smaller."""
    safeguard = Safeguard.DH_PARAMETERS
    dh = {p: a for p, a in answers.items() if isinstance(p, DhProbe)}
    sized = [a for a in dh.values() if _sized(a)]
    unread = [a for a in dh.values() if not _sized(a) and a.outcome is not Outcome.ALERT]
    wanted = [p for p in follow_ups(answers) if isinstance(p, DhProbe)]
    minimum = dh_sizes().minimum_bits
    if sized:
        bits = min(a.dh_bits or 0 for a in sized)
        weakest = next(a for a in sized if a.dh_bits == bits)
        said = f"{bits}-bit prime with {suite_name(weakest.cipher_suite or 0)}"
        if bits < minimum or not (unread or wanted):
            return TlsSafeguard(
                safeguard=safeguard,
                verdict=SafeguardVerdict.IN_PLACE if bits >= minimum else SafeguardVerdict.MISSING,
                protocol=TLS_VERSIONS.get(weakest.version or 0),
                answer=said,
                dh_bits=bits,
            )
        others = "; ".join(_said(a) for a in unread) or "not asked: the probing budget ran out"
        return _verdict(
            safeguard, SafeguardVerdict.INCONCLUSIVE, f"{said}, but another hello: {others}"
        )
    picked = [a for a in unread if a.outcome is Outcome.SERVER_HELLO]
    if picked:
        said = "; ".join(_said(a) for a in picked)
        return _verdict(safeguard, SafeguardVerdict.INCONCLUSIVE, f"DHE picked, {said}")
    if wanted or unread or _dhe_with_ffdhe(answers):
        why = "; ".join(_said(a) for a in unread) or "not asked: the probing budget ran out"
        return _verdict(safeguard, SafeguardVerdict.INCONCLUSIVE, f"inconclusive: {why}")
    return _verdict(safeguard, SafeguardVerdict.NOT_APPLICABLE, "no DHE suite is accepted")


def safeguard_verdicts(answers: dict[Probe, ServerAnswer]) -> list[TlsSafeguard]:
    return [
        _renegotiation(answers),
        _fallback_scsv(answers),
        _compression(answers),
        _dh_parameters(answers),
    ]


def safeguard_findings(verdicts: list[TlsSafeguard]) -> list[CheckFinding]:
    """A finding per safeguard seen missing; an inconclusive one is listed in TLS-PROBE-001."""
    found = []
    for v in verdicts:
        if v.verdict is not SafeguardVerdict.MISSING:
            continue
        said = {"protocol": v.protocol, "answer": v.answer}
        if v.safeguard is Safeguard.SECURE_RENEGOTIATION:
            found.append(finding("TLS-RENEG-001", **said))
        elif v.safeguard is Safeguard.FALLBACK_SCSV:
            found.append(finding("TLS-SCSV-001", **said))
        elif v.safeguard is Safeguard.NO_COMPRESSION:
            found.append(finding("TLS-COMP-001", **said))
        elif (v.dh_bits or 0) < dh_sizes().broken_below_bits:
            found.append(finding("TLS-DH-002", bits=v.dh_bits, **said))
        else:
            found.append(finding("TLS-DH-001", bits=v.dh_bits, **said))
    return found


def with_follow_ups(
    answers: dict[Probe, ServerAnswer],
    ask: Callable[[list[Probe]], dict[Probe, ServerAnswer]],
    rounds: int = 2,
) -> dict[Probe, ServerAnswer]:
    """The answers with those of the safeguard probes they call for, asked through `ask` (the
    scheduler). A second round is needed only when the DHE probe is the first hello at TLS 1.2
    the server accepts; `rounds` bounds it whatever a server answers."""
    for _ in range(rounds):
        wanted = follow_ups(answers)
        if not wanted:
            break
        answers = {**answers, **ask(wanted)}
    return answers
