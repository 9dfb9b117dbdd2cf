"""From the probes' answers to verdicts, pure: which groups and versions the server takes, what
each client gets, and whose order decides. Positive evidence from any probe counts (a group a
client negotiated is supported, a TLS 1.3 answer to any probe proves TLS 1.3), and no answer in
TLS, even when retried, is inconclusive rather than a refusal. So is an answer that breaks the
protocol (a group the hello did not offer) or that the full handshake, asking the same, contradicts:
a server's claim counts only as far as it is consistent. A probe another's answer implied, and that
was never sent (checks/tls/implied.py), is judged by that answer, and says so."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from checks.catalogue.tls import GroupPreference, Support, TlsClientGets, TlsGroup
from checks.tls.handshake import HandshakeResult
from checks.tls.implied import noted, proving
from checks.tls.policy import Judge, TlsClient, judged_by, tls_clients
from checks.tls.probes import ClientProbe, DhProbe, GroupProbe, Probe, SuiteProbe, VersionProbe
from checks.tls.wire import TLS_VERSIONS, UNPROVEN, Outcome, ServerAnswer
from pq_crypto.catalogue import Classification, algorithm_index

PICKED = (Outcome.HELLO_RETRY, Outcome.SERVER_HELLO)


def _named(answer: ServerAnswer) -> int | None:
    return answer.selected_group if answer.outcome in PICKED else None


def _why_not(answer: ServerAnswer) -> str:
    tries = f" ({answer.attempts} attempts)" if answer.attempts > 1 else ""
    detail = f": {answer.detail}" if answer.detail else ""
    return f"{answer.outcome.value}{detail}{tries}"


def negotiated_codes(
    answers: dict[Probe, ServerAnswer], handshake: HandshakeResult
) -> dict[int, str]:
    """Groups a real client's ClientHello or the full handshake ended up with, and by whom: a
    client's only when it offered that group and the handshake does not contradict it."""
    found: dict[int, str] = {}
    for result in client_results(answers, handshake):
        if result.code is not None and not result.inconclusive:
            found.setdefault(result.code, f"picked for the {result.client} client")
    if handshake.group:
        algorithm = algorithm_index().name(handshake.group).algorithm_id
        codes = algorithm_index().get(algorithm).tls_groups if algorithm else []
        for code in codes:
            found.setdefault(code, "negotiated in the full handshake")
    return found


def group_verdicts(
    answers: dict[Probe, ServerAnswer], handshake: HandshakeResult | None = None
) -> list[TlsGroup]:
    index = algorithm_index()
    negotiated = negotiated_codes(answers, handshake or HandshakeResult(False))
    verdicts = []
    for probe, asked in answers.items():
        if not isinstance(probe, GroupProbe):
            continue
        answer = proving(answers, asked)
        named = _named(answer)
        # Only an answer naming the very group offered counts as support (or, implied, one that
        # named it to a hello offering it among others).
        if named == probe.group:
            support, said = Support.SUPPORTED, answer.outcome.value
        elif probe.group in negotiated:
            support, said = Support.SUPPORTED, negotiated[probe.group]
        elif answer.outcome in UNPROVEN:
            support, said = Support.INCONCLUSIVE, f"inconclusive: {_why_not(answer)}"
        elif named is not None:
            # Naming a group the hello did not list is a lie, not a refusal (probes.py holds
            # answers to their offer; this holds answers however they were gathered).
            why = f"protocol violation: named 0x{named:04X}, not offered"
            support, said = Support.INCONCLUSIVE, f"inconclusive: {why}"
        else:
            support, said = Support.NOT_SUPPORTED, answer.outcome.value
        classification = index.tls_group(probe.group)
        verdicts.append(
            TlsGroup(
                name=classification.algorithm_id or f"0x{probe.group:04X}",
                code=probe.group,
                algorithm_class=classification.algorithm_class,
                obsolete=classification.obsolete,
                answer=noted(asked, said),
                support=support,
            )
        )
    return verdicts


def version_support(
    answers: dict[Probe, ServerAnswer], handshake: HandshakeResult | None = None
) -> dict[str, bool | None]:
    """Accepted, refused, or None when the version's own probe got no answer in TLS."""
    support: dict[str, bool | None] = {}
    for probe, asked in answers.items():
        if isinstance(probe, VersionProbe):
            answer = proving(answers, asked)
            if answer.outcome in PICKED and answer.version == probe.version:
                support[TLS_VERSIONS[probe.version]] = True
            else:
                support[TLS_VERSIONS[probe.version]] = None if answer.outcome in UNPROVEN else False
    # The TLS 1.2 suite probes stand for its version probe (checks/tls/check.py `plan`), with the
    # DHE probe without FFDHE groups: a server restricted to other groups refuses DHE to a client
    # listing FFDHE ones (RFC 7919), so a DHE-only server speaks TLS 1.2 to that probe alone.
    suite_answers = [
        proving(answers, a) for p, a in answers.items() if isinstance(p, SuiteProbe | DhProbe)
    ]
    if suite_answers and VersionProbe(0x0303) not in answers:
        unknown = any(a.outcome in UNPROVEN for a in suite_answers)
        support["TLSv1.2"] = None if unknown else False
    # Any probe the server answered in a version proves it, whatever that probe asked.
    for answer in answers.values():
        if answer.outcome in PICKED and answer.version in TLS_VERSIONS:
            support[TLS_VERSIONS[answer.version]] = True
    if handshake is not None and handshake.ok and handshake.protocol in support:
        support[handshake.protocol] = True
    return {name: support[name] for name in TLS_VERSIONS.values() if name in support}


@dataclass(frozen=True)
class _Pick:
    group: Classification | None  # what the client got, None when no group was seen
    inconclusive: bool = False

    @property
    def pq(self) -> bool:
        return self.group is not None and self.group.quantum_resistant and not self.group.obsolete

    @property
    def classical(self) -> bool:
        return self.group is not None and not self.pq


def _doubt(client: TlsClient, code: int | None, handshake: HandshakeResult | None) -> str | None:
    """Why the group a client was given cannot be believed, or None.

    The full handshake offers the classical_first client's groups in its order (handshake.py),
    so the two must agree on whether the server gives that client a post-quantum group; when
    they do not, the server answers the same question two ways and neither is taken."""
    if code is None:
        return None
    if code not in client.codes:
        return f"protocol violation: named 0x{code:04X}, not offered"
    if client.judge is not Judge.CLASSICAL_FIRST or not (handshake and handshake.ok):
        return None
    index = algorithm_index()
    if handshake.group and _Pick(index.tls_group(code)).pq != _Pick(index.name(handshake.group)).pq:
        return f"contradicted by the full handshake, which got {handshake.group}"
    return None


def client_results(
    answers: dict[Probe, ServerAnswer], handshake: HandshakeResult | None = None
) -> list[TlsClientGets]:
    index = algorithm_index()
    results = []
    for client in tls_clients():
        answer = answers.get(ClientProbe(client.id))
        if answer is None:
            continue
        answer = proving(answers, answer)
        code = _named(answer)
        said = _why_not(answer)
        doubt = _doubt(client, code, handshake)
        if doubt is not None:
            # Recorded, never credited: the answer says what was named and why it is not taken.
            code, said = None, f"{said}: {doubt}"
        group = index.tls_group(code) if code is not None else None
        name = (group.algorithm_id or f"0x{code:04X}") if group and code is not None else None
        results.append(
            TlsClientGets(
                client=client.id,
                label=client.label,
                offered=client.groups,
                group=name,
                code=code,
                algorithm_class=group.algorithm_class if group else None,
                protocol=TLS_VERSIONS.get(answer.version or 0)
                if answer.outcome in PICKED and doubt is None
                else None,
                answer=said,
                inconclusive=doubt is not None
                or answer.outcome in UNPROVEN
                or answer.outcome is Outcome.NOT_BUILT,
                doubted=doubt is not None or answer.outcome is Outcome.VIOLATION,
            )
        )
    return results


def _pick(result: TlsClientGets | None, fallback: str | None = None) -> _Pick:
    index = algorithm_index()
    if result is not None and result.code is not None:
        return _Pick(index.tls_group(result.code))
    if fallback:  # the full handshake offers the same groups in the same order
        return _Pick(index.name(fallback))
    return _Pick(None, inconclusive=result is None or result.inconclusive)


def preference(
    clients: Iterable[TlsClientGets], handshake: HandshakeResult | None = None
) -> GroupPreference:
    """A server that gives PQ to a client offering classical groups first prefers PQ; one that
    gives it only to a client offering it first follows the client's order, so browsers get it;
    one that gives a browser classical keeps clients on classical groups. A server that lied to
    either judge, or whose answer the full handshake contradicts, has no preference to credit."""
    by_id = {result.client: result for result in clients}
    judges = {client.judge: by_id.get(client.id) for client in tls_clients()}
    if any(result is not None and result.doubted for result in judges.values()):
        return GroupPreference.INCONCLUSIVE
    classical_first = _pick(
        judges[Judge.CLASSICAL_FIRST], handshake.group if handshake and handshake.ok else None
    )
    pq_first = _pick(judges[Judge.PQ_FIRST])
    if classical_first.pq:
        return GroupPreference.PQ_EVEN_WHEN_CLASSICAL_FIRST
    if pq_first.pq:
        return GroupPreference.PQ_WHEN_OFFERED_FIRST
    if pq_first.classical or (
        pq_first.group is None and not pq_first.inconclusive and classical_first.classical
    ):
        return GroupPreference.CLASSICAL_EVEN_WHEN_PQ_FIRST
    return GroupPreference.INCONCLUSIVE


def browser_pq_groups_refused(verdicts: list[TlsGroup]) -> list[str]:
    """The post-quantum groups the pq_first client of tls_clients.yaml (a browser) offers, when
    the server was seen to refuse every one of them alone; [] when it takes one, or when an
    answer was inconclusive. Such a server may take other hybrids (SecP384r1MLKEM1024, ML-KEM
    alone) that browsers do not offer, so no preference it could set would give browsers one."""
    index = algorithm_index()
    browser = judged_by(Judge.PQ_FIRST)
    support = {v.code: v.support for v in verdicts}
    pq = [
        (name, code)
        for name, code in zip(browser.groups, browser.codes, strict=True)
        if index.tls_group(code).quantum_resistant and not index.tls_group(code).obsolete
    ]
    if pq and all(support.get(code) is Support.NOT_SUPPORTED for _, code in pq):
        return [name for name, _ in pq]
    return []
