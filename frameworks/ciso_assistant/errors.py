"""The one error a CISO Assistant library is refused with: which file, where in it, and why."""

from __future__ import annotations


class CisoLibraryError(ValueError):
    def __init__(self, source: str, location: str, reason: str) -> None:
        self.source, self.location, self.reason = source, location, reason
        where = f" at {location}" if location else ""
        super().__init__(f"{source}{where}: {reason}")
