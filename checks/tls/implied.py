"""Probes an answer already in hand settles, so they need no connection of their own, and how such
a probe is judged: by the answer that implied it, exactly as that answer is judged where it
stands (verdicts.py, suite_verdicts.py, safeguards.py). Pure; the scheduler (probes.py) asks.

Only a yes is ever implied, never a refusal: a server may refuse one hello for reasons that have
nothing to do with the question, and a lying one would refuse exactly the hello that shows what
it takes, so a refusal is always asked of the probe itself. And only by evidence no later answer
can withdraw, which the verdicts credit whatever the probe asked, and without taking away a hello
safeguards.py copies (it copies this check's own accepted TLS 1.2-or-lower hellos, one per
version, so an implied one must leave another accepted in the same version):
- TLS 1.3: any answer in it (the verdicts take any probe's answer as proof of a version);
- TLS 1.1 or 1.0: an answer in it to one of this check's own TLS 1.2-or-lower hellos;
- a group: a client of tls_clients.yaml that was given it, having offered it (answers are held
  to their offer, probes.py). Not the classical_first client: the full handshake, asked after
  the probes, may contradict its answer and so withdraw it (verdicts.py `_doubt`). A server that
  names a group to a browser's hello supports it, whatever it says to the group alone: the
  verdict is "supported" either way, so skipping cannot change it;
- a class of TLS 1.2 suites: a ServerHello to another suite probe picking a suite of the class
  (suite_verdicts.py credits any such answer). Another suite probe's only: it asks in the
  same version with the same groups, so it is answered in the version this one would have been,
  where it stays to be copied; a TLS 1.1 probe's answer would leave TLS 1.2 without one."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from checks.tls.policy import Judge, TlsClient, tls_clients
from checks.tls.probe_kinds import (
    ClientProbe,
    DhProbe,
    GroupProbe,
    Probe,
    SafeguardProbe,
    SuiteProbe,
    VersionProbe,
    tls12_suites_of,
)
from checks.tls.suites import OFFERED, suite_name
from checks.tls.wire import TLS_VERSIONS, Outcome, ServerAnswer
from pq_crypto.catalogue import algorithm_index

TLS13 = 0x0304
PICKED = (Outcome.HELLO_RETRY, Outcome.SERVER_HELLO)


def _clients_crediting_groups() -> dict[str, frozenset[int]]:
    """The clients whose group, once given, stays credited: every one but classical_first."""
    return _crediting(tls_clients())


@lru_cache(maxsize=4)
def _crediting(clients: tuple[TlsClient, ...]) -> dict[str, frozenset[int]]:
    # Keyed by the clients themselves: an edited tls_clients.yaml is never read from here.
    return {
        client.id: frozenset(client.codes)
        for client in clients
        if client.judge is not Judge.CLASSICAL_FIRST
    }


def _own_tls12(probe: Probe) -> bool:
    # The hellos safeguards.py copies (its `_accepted`): the suite, DHE and version probes.
    return bool(tls12_suites_of(probe))


def settles(probe: Probe, answer: ServerAnswer) -> list[Probe]:
    """The other probes whose question `answer`, the answer to `probe`, answers yes."""
    if answer.outcome not in PICKED:
        return []
    found: list[Probe] = []
    if answer.version == TLS13 or (answer.version in TLS_VERSIONS and _own_tls12(probe)):
        found.append(VersionProbe(answer.version or 0))
    crediting = _clients_crediting_groups()
    if (
        isinstance(probe, ClientProbe)
        and probe.client in crediting
        and answer.selected_group is not None
        and answer.selected_group in crediting[probe.client]
    ):
        found.append(GroupProbe(answer.selected_group))
    tls12 = answer.outcome is Outcome.SERVER_HELLO and (answer.version or 0) < TLS13
    if tls12 and answer.cipher_suite is not None and isinstance(probe, SuiteProbe):
        suite = answer.cipher_suite
        found.extend(SuiteProbe(c) for c, offered in OFFERED.items() if suite in offered)
    return [settled for settled in found if settled != probe]


def may_settle(waiting: Probe, flying: Probe) -> bool:
    """Whether the answer to `flying`, still awaited, could well settle `waiting`: the scheduler
    holds `waiting` back until it comes (when `flying` is ahead of it in the plan), so that a
    connection is not spent on a question about to be answered. A hint only: what is implied
    is decided by `settles`, on the answers alone."""
    if isinstance(waiting, VersionProbe) and waiting.version == TLS13:
        return isinstance(flying, ClientProbe | GroupProbe)
    if isinstance(waiting, GroupProbe):
        crediting = _clients_crediting_groups()
        return isinstance(flying, ClientProbe) and waiting.group in crediting.get(flying.client, ())
    if isinstance(waiting, SuiteProbe) and isinstance(flying, SuiteProbe):
        return bool(set(OFFERED[waiting.suite_class]) & set(OFFERED[flying.suite_class]))
    return False


def implied(by: Probe, answer: ServerAnswer, attempts: int = 0) -> ServerAnswer:
    """The record of a probe `by`'s answer settled: not a server's answer, but where to find it.
    `attempts`: connections the probe itself had used, answered by no TLS (0 when never sent)."""
    return ServerAnswer(
        Outcome.IMPLIED,
        detail=f"implied by {describe(by)}: {summary(answer)}",
        attempts=attempts,
        implied_by=by,
    )


def proving(answers: Mapping[Probe, ServerAnswer], answer: ServerAnswer) -> ServerAnswer:
    """The answer that stands for `answer`: itself, or for an implied one the answer that implied
    it. An implied answer whose proof is missing stays as it is, and proves nothing (UNPROVEN)."""
    if answer.outcome is Outcome.IMPLIED and answer.implied_by is not None:
        return answers.get(answer.implied_by, answer)
    return answer


def noted(answer: ServerAnswer, said: str) -> str:
    """`said`, the verdict's words, prefixed with what implied it when `answer` was implied."""
    if answer.outcome is Outcome.IMPLIED and answer.implied_by is not None:
        return f"implied by {describe(answer.implied_by)}: {said}"
    return said


def describe(probe: Probe) -> str:
    if isinstance(probe, ClientProbe):
        return f"the {probe.client} client's hello"
    if isinstance(probe, VersionProbe):
        return f"the {TLS_VERSIONS.get(probe.version, f'0x{probe.version:04X}')} probe"
    if isinstance(probe, GroupProbe):
        name = algorithm_index().tls_group(probe.group).algorithm_id or f"0x{probe.group:04X}"
        return f"the {name} group probe"
    if isinstance(probe, SuiteProbe):
        return f"the {probe.suite_class.value} suite probe"
    if isinstance(probe, DhProbe):
        return f"the DHE probe {'with' if probe.ffdhe else 'without'} FFDHE groups"
    assert isinstance(probe, SafeguardProbe)
    return f"the {probe.safeguard.value} probe"


def summary(answer: ServerAnswer) -> str:
    """What an answer said, in words: outcome, version, group, suite."""
    parts = [answer.outcome.value]
    if answer.version in TLS_VERSIONS:
        parts.append(TLS_VERSIONS[answer.version])
    if answer.selected_group is not None:
        group = algorithm_index().tls_group(answer.selected_group).algorithm_id
        parts.append(group or f"0x{answer.selected_group:04X}")
    if answer.cipher_suite is not None:
        parts.append(suite_name(answer.cipher_suite))
    return " ".join(parts)
