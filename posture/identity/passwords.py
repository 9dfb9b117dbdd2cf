"""Password hashing with argon2id (memory-hard) and the rules a new password must pass."""

from __future__ import annotations

import secrets
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kernel.errors import ValidationFailed

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

# RFC 9106 second recommended option: 64 MiB, 3 passes, 4 lanes.
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)


@cache
def _common_passwords() -> frozenset[str]:
    text = (resources.files("posture.identity") / "common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


def password_problem(password: str, email: str = "") -> str | None:
    """Why a password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"use at most {MAX_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    base = lowered.rstrip("0123456789!@#$%^&*()-_=+.?,;:~ ")
    if lowered in _common_passwords() or base in _common_passwords():
        return "this password appears in lists of breached or common passwords; choose another"
    local_part = email.split("@", 1)[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        return "do not include your email name in the password"
    if len(set(password)) < 5:  # long yet trivially guessable, such as 'abababababab'
        return "use more different characters"
    return None


def hash_password(password: str, email: str = "") -> str:
    problem = password_problem(password, email)
    if problem:
        raise ValidationFailed(f"password refused: {problem}")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        # Spend the same effort as a real check so response time does not reveal the account.
        _HASHER.hash(password)
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def rehash(password: str) -> str:
    """A fresh hash of a password just verified, under today's parameters. No policy check:
    the password was accepted when it was set, and refusing it now would tell a stranger it
    was right."""
    return _HASHER.hash(password)


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for one-time display (demo users, first admin)."""
    return secrets.token_urlsafe(18)
