"""From the probes' answers to verdicts, pure: which groups and versions the server takes, what
each client gets, and whose order decides. Positive evidence from any probe counts (a group a
client negotiated is supported, a TLS 1.3 answer to any probe proves TLS 1.3), and no answer in
TLS, even when retried, is inconclusive rather than a refusal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from checks.catalogue.tls import GroupPreference, Support, TlsClientGets, TlsGroup
from checks.tls.handshake import HandshakeResult
from checks.tls.policy import Judge, tls_clients
from checks.tls.probes import ClientProbe, GroupProbe, Probe, SuiteProbe, VersionProbe
from checks.tls.wire import INCONCLUSIVE, TLS_VERSIONS, Outcome, ServerAnswer
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
    """Groups a real client's ClientHello or the full handshake ended up with, and by whom."""
    found: dict[int, str] = {}
    for probe, answer in answers.items():
        code = _named(answer)
        if isinstance(probe, ClientProbe) and code is not None:
            found.setdefault(code, f"picked for the {probe.client} client")
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
    for probe, answer in answers.items():
        if not isinstance(probe, GroupProbe):
            continue
        named = _named(answer)
        # Only an answer naming the very group offered counts as support.
        if named == probe.group:
            support, said = Support.SUPPORTED, answer.outcome.value
        elif probe.group in negotiated:
            support, said = Support.SUPPORTED, negotiated[probe.group]
        elif answer.outcome in INCONCLUSIVE:
            support, said = Support.INCONCLUSIVE, f"inconclusive: {_why_not(answer)}"
        elif named is not None:
            support, said = Support.NOT_SUPPORTED, f"named 0x{named:04X} instead"
        else:
            support, said = Support.NOT_SUPPORTED, answer.outcome.value
        classification = index.tls_group(probe.group)
        verdicts.append(
            TlsGroup(
                name=classification.algorithm_id or f"0x{probe.group:04X}",
                code=probe.group,
                algorithm_class=classification.algorithm_class,
                obsolete=classification.obsolete,
                supported=support is Support.SUPPORTED,
                answer=said,
                support=support,
            )
        )
    return verdicts


def version_support(
    answers: dict[Probe, ServerAnswer], handshake: HandshakeResult | None = None
) -> dict[str, bool | None]:
    """Accepted, refused, or None when the version's own probe got no answer in TLS."""
    support: dict[str, bool | None] = {}
    for probe, answer in answers.items():
        if isinstance(probe, VersionProbe):
            if answer.outcome in PICKED and answer.version == probe.version:
                support[TLS_VERSIONS[probe.version]] = True
            else:
                support[TLS_VERSIONS[probe.version]] = (
                    None if answer.outcome in INCONCLUSIVE else False
                )
    suite_answers = [a for p, a in answers.items() if isinstance(p, SuiteProbe)]
    if suite_answers and VersionProbe(0x0303) not in answers:
        # The TLS 1.2 suite probes stand for its version probe (checks/tls/check.py `plan`).
        unknown = any(a.outcome in INCONCLUSIVE for a in suite_answers)
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


def client_results(answers: dict[Probe, ServerAnswer]) -> list[TlsClientGets]:
    index = algorithm_index()
    results = []
    for client in tls_clients():
        answer = answers.get(ClientProbe(client.id))
        if answer is None:
            continue
        code = _named(answer)
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
                if answer.outcome in PICKED
                else None,
                answer=_why_not(answer),
                inconclusive=answer.outcome in INCONCLUSIVE,
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
    one that gives a browser classical keeps clients on classical groups."""
    by_id = {result.client: result for result in clients}
    judges = {client.judge: by_id.get(client.id) for client in tls_clients()}
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
