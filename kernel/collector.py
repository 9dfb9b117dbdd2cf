"""Pausing Python's cyclic garbage collector around bulk reads.

A bulk read makes hundreds of thousands of small tuples that hold no cycles, yet every few
hundred of them set off a collection, and the older generations' collections walk every live
object in the process: a third of a cold dashboards read at 50,000 products, and more of a whole
estate's scoring load.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(active: bool = True) -> Iterator[None]:
    """The collector paused while the block runs, when `active`.

    The switch is process-wide: a block that finds the collector already paused leaves it to
    whoever paused it to resume, so it is never left off; another thread may resume it early,
    which costs time, never correctness."""
    running = active and gc.isenabled()
    if running:
        gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()
