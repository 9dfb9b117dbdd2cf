"""Probes: one TCP connection each to the vetted address, a ClientHello, the server's answer.

An endpoint's probes run on one thread with non-blocking sockets and a selector, so probing costs
a connection per question and no thread per connection. At most `concurrent_connections` are open
at once (tls_probing.yaml): a server that limits connections per client resets the rest, and a
reset says nothing about the question asked. A closed, refused or timed-out probe is retried and,
if it still gets no answer, is reported as such for the verdicts to call inconclusive.

A probe whose question an answer in hand already settles (checks/tls/implied.py) is not sent: it
is recorded as implied, naming the probe that implied it. One that an answer still awaited might
settle waits for that answer while other probes go ahead, so the plan puts the probes likeliest
to imply first (checks/tls/check.py `plan`).
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from checks.catalogue.tls import Safeguard, SuiteClass
from checks.egress import Target
from checks.tls.handshake import client_hello
from checks.tls.implied import implied, may_settle, settles
from checks.tls.policy import ProbeLimits, TlsClient, probe_limits, tls_clients
from checks.tls.probe_kinds import ClientProbe as ClientProbe
from checks.tls.probe_kinds import DhProbe as DhProbe
from checks.tls.probe_kinds import GroupProbe as GroupProbe
from checks.tls.probe_kinds import Probe as Probe
from checks.tls.probe_kinds import SafeguardProbe as SafeguardProbe
from checks.tls.probe_kinds import SuiteProbe as SuiteProbe
from checks.tls.probe_kinds import VersionProbe as VersionProbe
from checks.tls.probe_kinds import tls12_suites_of
from checks.tls.suites import OFFERED
from checks.tls.wire import (
    FALLBACK_SCSV,
    INCONCLUSIVE,
    MAX_READ,
    TLS13_SUITES,
    TLS_ANSWERS,
    AnswerReader,
    Offer,
    Outcome,
    ServerAnswer,
    held_to,
    offer_of,
)
from checks.tls.wire import client_hello as raw_client_hello
from pq_crypto.catalogue import algorithm_index

DEFAULT_TIMEOUT = 3.0


class HelloNotBuilt(Exception):
    """This scanner's OpenSSL cannot build the ClientHello of a client (a group it lacks)."""


def _server_name(target: Target) -> str | None:
    # SNI carries host names only, never literal addresses (RFC 6066).
    try:
        socket.inet_pton(target.family, target.host)
    except OSError:
        return target.host
    return None


@cache
def _every_group() -> list[int]:
    # Every group the catalogue knows, classical first: a server restricted to post-quantum
    # groups still answers a version it speaks, instead of failing for want of a group.
    return sorted(algorithm_index().tls_groups(), key=lambda g: (g >= 0x0200, g))


def groups_offered(ffdhe: bool) -> list[int]:
    return _every_group() if ffdhe else [g for g in _every_group() if not 0x0100 <= g <= 0x01FF]


@lru_cache(maxsize=64)
def _built_hello(client: TlsClient, server_name: str | None) -> bytes:
    # OpenSSL builds a client's hello once, key shares and all (generating an ML-KEM key is
    # most of a probe's cost here); no handshake is ever completed with it, so its key shares
    # are never used to derive a key, and reusing them costs nothing in secrecy. Keyed by the
    # client's whole definition, so an edited tls_clients.yaml is never answered from here.
    try:
        return client_hello(client, server_name)
    except ValueError as exc:  # OpenSSL lacks one of the client's groups
        raise HelloNotBuilt(f"this scanner's OpenSSL cannot build this client: {exc}") from exc


def _fresh(hello: bytes) -> bytes:
    """The hello with a random and session id of its own, as every raw hello has."""
    if len(hello) < 44 or len(hello) < 44 + hello[43]:
        return hello
    session = hello[43]
    return hello[:11] + os.urandom(32) + hello[43:44] + os.urandom(session) + hello[44 + session :]


def hello_for(probe: Probe, target: Target) -> bytes:
    name = _server_name(target)
    if isinstance(probe, GroupProbe):
        return raw_client_hello(name, 0x0304, [probe.group], TLS13_SUITES)
    if isinstance(probe, ClientProbe):
        client = next(c for c in tls_clients() if c.id == probe.client)
        return _fresh(_built_hello(client, name))
    if isinstance(probe, DhProbe):
        return raw_client_hello(name, 0x0303, groups_offered(probe.ffdhe), OFFERED[SuiteClass.DHE])
    if isinstance(probe, SafeguardProbe):
        groups = groups_offered(probe.ffdhe)
        if probe.safeguard is Safeguard.FALLBACK_SCSV:
            return raw_client_hello(name, probe.version, groups, (probe.suite, FALLBACK_SCSV))
        return raw_client_hello(
            name,
            probe.version,
            groups,
            (probe.suite,),
            renegotiation_info=probe.safeguard is Safeguard.SECURE_RENEGOTIATION,
            deflate=probe.safeguard is Safeguard.NO_COMPRESSION,
        )
    groups = _every_group()
    if isinstance(probe, SuiteProbe):
        return raw_client_hello(name, 0x0303, groups, OFFERED[probe.suite_class])
    if probe.version == 0x0304:
        return raw_client_hello(name, 0x0304, groups, TLS13_SUITES)
    return raw_client_hello(name, probe.version, groups, tls12_suites_of(probe))


def _offer(hello: bytes) -> Offer | None:
    # A question is asked with the same hello every time but for its random and session id:
    # blanked, what it offers is read back once (the cache is bounded).
    if len(hello) < 44 or len(hello) < 44 + hello[43]:
        return offer_of(hello)
    session = hello[43]
    return _offer_of_shape(
        hello[:11] + bytes(32) + hello[43:44] + bytes(session) + hello[44 + session :]
    )


@lru_cache(maxsize=512)
def _offer_of_shape(hello: bytes) -> Offer | None:
    return offer_of(hello)


class _Connection:
    def __init__(self, probe: Probe, hello: bytes, target: Target, attempt: int, timeout: float):
        self.probe = probe
        self.hello = hello
        self.attempt = attempt
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.sent = 0
        self.reader = AnswerReader(key_exchange=isinstance(probe, DhProbe))
        self.sock = socket.socket(target.family, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.answer: ServerAnswer | None = None
        code = self.sock.connect_ex((target.address, target.port))
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            self.finish(ServerAnswer(Outcome.UNREACHABLE, detail=errno.errorcode.get(code, "")))
            return
        # Often connected already (always on loopback): the hello goes now, not a wakeup later;
        # a connection still being made takes it when it becomes writable.
        self.on_writable()

    def finish(self, answer: ServerAnswer) -> None:
        # Held to what this very hello offered: a server naming anything else is lying.
        if answer.outcome in (Outcome.SERVER_HELLO, Outcome.HELLO_RETRY):
            answer = held_to(answer, _offer(self.hello))
        self.answer = replace(answer, attempts=self.attempt)
        self.sock.close()

    def on_writable(self) -> None:
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            # Reset once accepted (a limiter's way) is a close; refused or no route is not.
            closed = error in (errno.ECONNRESET, errno.EPIPE)
            outcome = Outcome.CLOSED if closed else Outcome.UNREACHABLE
            self.finish(ServerAnswer(outcome, detail=errno.errorcode.get(error, "")))
            return
        try:
            self.sent += self.sock.send(self.hello[self.sent :])
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.finish(ServerAnswer(Outcome.CLOSED, detail=str(exc)))
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.ENOTCONN:  # still connecting
                return
            detail = errno.errorcode.get(exc.errno or 0, str(exc))
            self.finish(ServerAnswer(Outcome.UNREACHABLE, detail=detail))

    def on_readable(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError) as exc:
            self.finish(ServerAnswer(Outcome.CLOSED, detail=str(exc)))
            return
        except BlockingIOError:
            return
        if not chunk:
            self.finish(self.reader.at_end())
            return
        if self.reader.received + len(chunk) > MAX_READ:
            self.finish(ServerAnswer(Outcome.OVERSIZED, detail=f"more than {MAX_READ} bytes"))
            return
        answer = self.reader.feed(chunk)
        if answer is not None:
            self.finish(answer)

    def expire(self) -> None:
        self.finish(self.reader.at_end(f"no answer within {self.timeout:g}s"))

    @property
    def events(self) -> int:
        return selectors.EVENT_WRITE if self.sent < len(self.hello) else selectors.EVENT_READ


@dataclass
class _Waiting:
    probe: Probe
    attempt: int = 1
    not_before: float = 0.0


class _Schedule:
    """Which probe starts next, how many may be open at once, and the answers so far.

    Until the endpoint has answered once in TLS, its failures are counted; as many as the window
    allows at the start (all of a first wave) end probing, since a port that closes, stalls or
    refuses every one of them is not limiting connections but not answering."""

    def __init__(self, probes: list[Probe], limits: ProbeLimits, skip_implied: bool) -> None:
        self.limits = limits
        self.window = limits.concurrent_connections
        self.waiting = deque(_Waiting(p) for p in probes)
        self.rank = {probe: at for at, probe in enumerate(probes)}
        self.answers: dict[Probe, ServerAnswer] = {}
        self.spoke_tls = False
        self.failures: list[ServerAnswer] = []
        self.skip_implied = skip_implied
        # A probe whose question an answer so far settles -> the probe that got that answer.
        self.settled: dict[Probe, Probe] = {}

    def next_ready(self, now: float, flying: Iterable[Probe]) -> _Waiting | None:
        """The first probe to start: one not waiting for a retry's delay, nor held back for an
        answer still awaited that may settle it; a settled probe met on the way is recorded
        as implied instead, even one waiting for a retry."""
        flying = list(flying)
        for item in list(self.waiting):
            if self._settle(item):
                continue
            if item.not_before <= now and not self._held(item.probe, flying):
                self.waiting.remove(item)
                return item
        return None

    def _settle(self, item: _Waiting) -> bool:
        by = self.settled.get(item.probe)
        if by is None:
            return False
        self.waiting.remove(item)
        self.answers[item.probe] = implied(by, self.answers[by], attempts=item.attempt - 1)
        return True

    def _held(self, probe: Probe, flying: list[Probe]) -> bool:
        # Only by a probe ahead of it in the plan: two that may settle each other (the CBC and
        # DHE suite probes) must not hold each other back in turn.
        rank = self.rank[probe]
        return self.skip_implied and any(
            self.rank[other] < rank and may_settle(probe, other) for other in flying
        )

    def next_wake(self, flying: Iterable[Probe] = ()) -> float | None:
        flying = list(flying)
        return min(
            (item.not_before for item in self.waiting if not self._held(item.probe, flying)),
            default=None,
        )

    def record(self, connection: _Connection, now: float) -> None:
        answer = connection.answer
        assert answer is not None
        if answer.outcome in TLS_ANSWERS:
            self.spoke_tls = True
        elif not self.spoke_tls:
            self.failures.append(answer)
        if answer.outcome in INCONCLUSIVE:
            if answer.outcome is not Outcome.TIMEOUT:
                # Closed or refused while others were open: probably over a connection limit.
                self.window = max(1, self.window // 2)
            if connection.attempt <= self.limits.retries and not self.gave_up:
                delay = self.limits.retry_delay_ms / 1000 * connection.attempt
                self.waiting.append(_Waiting(connection.probe, connection.attempt + 1, now + delay))
                return
        self.answers[connection.probe] = answer
        if self.skip_implied:
            for probe in settles(connection.probe, answer):
                self.settled.setdefault(probe, connection.probe)

    @property
    def gave_up(self) -> bool:
        return not self.spoke_tls and len(self.failures) >= self.limits.concurrent_connections

    def end(self, unanswered: dict[Probe, int], why: str) -> None:
        """Every probe still without an answer (with the attempts it had) gets the most common
        failure seen when probing gave up, or else a timeout."""
        if self.gave_up:
            outcome = Counter(f.outcome for f in self.failures).most_common(1)[0][0]
            filler = next(f for f in self.failures if f.outcome == outcome)
        else:
            filler = ServerAnswer(Outcome.TIMEOUT, detail=why)
        tried = {item.probe: item.attempt - 1 for item in self.waiting} | unanswered
        for probe, attempts in tried.items():
            by = self.settled.get(probe)
            answer = (
                implied(by, self.answers[by], attempts)
                if by is not None
                else replace(filler, attempts=attempts)
            )
            self.answers.setdefault(probe, answer)
        self.waiting.clear()


def run_probes(
    probes: list[Probe],
    target: Target,
    timeout: float = DEFAULT_TIMEOUT,
    limits: ProbeLimits | None = None,
    skip_implied: bool = True,
) -> dict[Probe, ServerAnswer]:
    """Every probe of one endpoint, a few at a time; each attempt is bounded by `timeout` and all
    of them together by `budget_timeouts` timeouts. `skip_implied`: a probe whose question an
    answer in hand settles is recorded as implied instead of sent (False: every one is sent)."""
    limits = limits or probe_limits()
    schedule = _Schedule(probes, limits, skip_implied)
    budget_end = time.monotonic() + timeout * limits.budget_timeouts
    open_: dict[int, _Connection] = {}
    with selectors.DefaultSelector() as selector:
        while (schedule.waiting or open_) and not schedule.gave_up:
            now = time.monotonic()
            if now >= budget_end:
                break
            while (
                len(open_) < schedule.window
                and not schedule.gave_up
                and (item := schedule.next_ready(now, (c.probe for c in open_.values())))
            ):
                try:
                    hello = hello_for(item.probe, target)
                except HelloNotBuilt as exc:
                    # Nothing was sent, so nothing is learnt of the server, nor retried.
                    schedule.answers[item.probe] = ServerAnswer(Outcome.NOT_BUILT, detail=str(exc))
                    continue
                connection = _Connection(item.probe, hello, target, item.attempt, timeout)
                if connection.answer is not None:
                    schedule.record(connection, now)
                    continue
                fd = connection.sock.fileno()
                open_[fd] = connection
                selector.register(fd, connection.events, connection)
            wakes = [c.deadline for c in open_.values()] + [budget_end]
            # A retry waiting for its delay wakes the loop only when there is room to start it.
            room = len(open_) < schedule.window
            flying = [c.probe for c in open_.values()]
            if room and (pending := schedule.next_wake(flying)) is not None:
                wakes.append(pending)
            for key, mask in selector.select(max(0.0, min(wakes) - now)) if open_ else []:
                connection = key.data
                if mask & selectors.EVENT_WRITE:
                    connection.on_writable()
                elif mask & selectors.EVENT_READ:
                    connection.on_readable()
                if connection.answer is not None:
                    del open_[key.fd]
                    selector.unregister(key.fd)
                    schedule.record(connection, time.monotonic())
                elif connection.events != key.events:
                    selector.modify(key.fd, connection.events, connection)
            if not open_ and (pending := schedule.next_wake()) is not None:
                pause = min(pending, budget_end) - time.monotonic()
                # A retry's delay; and once a limit has shown (the window shrank), a turn even
                # for a probe ready now, so the limiter sees the last close before the next.
                if pause > 0 or schedule.window < limits.concurrent_connections:
                    time.sleep(max(0.0, pause))
            now = time.monotonic()
            for fd, connection in list(open_.items()):
                if connection.deadline <= now:
                    del open_[fd]
                    selector.unregister(fd)
                    connection.expire()
                    schedule.record(connection, now)
        for connection in open_.values():
            connection.sock.close()
        schedule.end(
            {c.probe: c.attempt for c in open_.values()},
            f"not answered within the probing budget of {timeout * limits.budget_timeouts:g}s",
        )
    return schedule.answers
