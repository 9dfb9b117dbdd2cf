"""Assets that name their algorithm by reference, resolved through the CBOM's reference graph.

A key names its algorithm (algorithmRef, or a `dependencies` entry), a certificate its key and
signature algorithm, a protocol its cipher suites' algorithms, so a certificate's class is found
two references away. The supplier writes the graph, so it may hold cycles, chains thousands of
steps long, or one asset naming a million others. Verdicts spread from the assets that decide by
themselves (algorithms) backwards along the references, one step per round for at most
MAX_REFERENCE_DEPTH rounds, and a node is revisited only when its verdict gets worse: five
classes, so each reference is followed at most six times whatever the graph's shape. No
recursion, so no depth can exhaust the stack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from pq_crypto.catalogue import Classification
from pq_crypto.names import CLASS_ORDER

# A certificate's key names its algorithm: two steps. Real CBOMs stay within three; 16 leaves room
# for wrapped keys and protocol suites without letting a chain make every row as long as itself.
MAX_REFERENCE_DEPTH = 16


@dataclass(frozen=True)
class Verdict:
    classification: Classification
    use: str | None = None  # key-establishment, signature, or None for symmetric and hashes
    via: tuple[str, ...] = ()  # the bom-refs followed to the asset that decided


class Unresolved(StrEnum):
    TOO_DEEP = "too-deep"  # an algorithm is reachable, but more than MAX_REFERENCE_DEPTH away
    CYCLE = "cycle"  # the references go round without reaching an algorithm
    DEAD_END = "dead-end"  # they end at assets that name nothing


def _rank(verdict: Verdict) -> int:
    return CLASS_ORDER.index(verdict.classification.algorithm_class)


def resolve_references(
    refs: Sequence[str],
    links: Sequence[Sequence[int]],
    own: Sequence[Verdict | None],
    adapt: Callable[[int, Verdict], Verdict],
) -> tuple[list[Verdict | None], dict[int, Unresolved]]:
    """Each node's verdict: its own when it has one (it decides by itself), otherwise the worst
    its references reach within MAX_REFERENCE_DEPTH steps, as `adapt` makes it for that node
    (a key's size, a certificate's use). Nodes that reach nothing are returned with why."""
    count = len(refs)
    # Sparse: most assets are algorithms that nothing refers to, and a list each for 100,000
    # assets costs more in garbage collection over the parsed document than the walk itself.
    referrers: dict[int, list[int]] = {}
    for node, targets in enumerate(links):
        if own[node] is None:
            for target in targets:
                referrers.setdefault(target, []).append(node)
    verdicts: list[Verdict | None] = list(own)
    frontier = [node for node in range(count) if own[node] is not None]
    for _ in range(MAX_REFERENCE_DEPTH):
        better: dict[int, Verdict] = {}
        for target in frontier:
            reached = verdicts[target]
            assert reached is not None
            step = replace(reached, via=(refs[target], *reached.via))
            for node in referrers.get(target, ()):
                candidate = adapt(node, step)
                current = better.get(node, verdicts[node])
                if current is None or _rank(candidate) < _rank(current):
                    better[node] = candidate
        for node, verdict in better.items():
            verdicts[node] = verdict
        frontier = list(better)
        if not frontier:
            break
    unresolved = [n for n in range(count) if verdicts[n] is None and links[n]]
    return verdicts, _reasons(unresolved, links, referrers, own)


def _reasons(
    unresolved: list[int],
    links: Sequence[Sequence[int]],
    referrers: dict[int, list[int]],
    own: Sequence[Verdict | None],
) -> dict[int, Unresolved]:
    if not unresolved:
        return {}
    # Reachable at any distance: the bound cut them off.
    reachable = {n for n in range(len(own)) if own[n] is not None}
    queue = deque(reachable)
    while queue:
        for node in referrers.get(queue.popleft(), ()):
            if node not in reachable:
                reachable.add(node)
                queue.append(node)
    reasons = {n: Unresolved.TOO_DEEP for n in unresolved if n in reachable}
    # The rest reach no algorithm. Peel off, repeatedly, those whose references all end: what
    # remains can go round a cycle for ever.
    stranded = {n for n in unresolved if n not in reachable}
    pending = {n: sum(1 for t in links[n] if t in stranded) for n in stranded}
    ends = deque(n for n, out in pending.items() if out == 0)
    while ends:
        node = ends.popleft()
        reasons[node] = Unresolved.DEAD_END
        for referrer in referrers.get(node, ()):
            if referrer in pending and referrer not in reasons:
                pending[referrer] -= 1
                if pending[referrer] == 0:
                    ends.append(referrer)
    for node in stranded:
        reasons.setdefault(node, Unresolved.CYCLE)
    return reasons
