"""Run one check over many targets with bounded concurrency; each target's failure is its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from posture.errors import AssureError

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Outcome(Generic[Item, Result]):
    item: Item
    result: Result | None
    error: str | None


def run_bounded(
    func: Callable[[Item], Result], items: Iterable[Item], workers: int = 16
) -> list[Outcome[Item, Result]]:
    """Results in input order. Expected refusals (egress, bad input) are reported per item."""

    def attempt(item: Item) -> Outcome[Item, Result]:
        try:
            return Outcome(item, func(item), None)
        except AssureError as exc:
            return Outcome(item, None, str(exc))

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(attempt, items))
