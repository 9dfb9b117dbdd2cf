"""Long id lists in `in_()` filters, a bounded number at a time: one statement may bind only so
many parameters (SQLite's limit is 32,766, PostgreSQL's 65,535), and a whole-estate run can name
more ids than that."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

# Ids bound in one statement: well inside every dialect's limit, with room for the rest of it.
IDS_PER_STATEMENT = 5_000

T = TypeVar("T")


def id_chunks(ids: Sequence[T], size: int = IDS_PER_STATEMENT) -> Iterator[Sequence[T]]:
    """`ids` in order, `size` at a time; nothing for no ids."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
