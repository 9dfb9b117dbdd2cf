"""Codes people copy by hand (first-run setup, recovery): letters and digits that cannot be
confused, grouped for reading, compared however they were typed, and stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

# No I, O, 0 or 1: a code read off a console or a sheet of paper is typed back right.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_code(length: int, group: int) -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return "-".join(raw[i : i + group] for i in range(0, length, group))


def normalised(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


def code_digest(code: str) -> bytes:
    return hashlib.sha256(normalised(code).encode()).digest()
