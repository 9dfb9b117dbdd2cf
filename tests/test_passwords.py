"""Passwords are hashed with argon2id and weak ones are refused before hashing."""

from __future__ import annotations

import pytest

from kernel.errors import ValidationFailed
from posture.identity.passwords import (
    generate_password,
    hash_password,
    password_problem,
    verify_password,
)


def test_a_hash_is_argon2id_and_verifies_only_the_right_password() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "m=65536" in stored
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stable")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pass", "at least 12"),
        ("passwordpassword", "breached or common"),
        ("Password123456!", "breached or common"),
        ("Metpolice2026!!", "breached or common"),
        ("abababababab", "more different characters"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    assert reason in (password_problem(password) or "")
    with pytest.raises(ValidationFailed, match="password refused"):
        hash_password(password)


def test_a_password_containing_the_email_name_is_refused() -> None:
    assert "email" in (password_problem("jane.smith-is-great", "jane.smith@force.example") or "")


def test_an_account_without_a_password_never_verifies() -> None:
    assert not verify_password(None, "anything at all 123")


def test_generated_passwords_pass_the_rules_and_differ() -> None:
    passwords = {generate_password() for _ in range(20)}
    assert len(passwords) == 20
    assert all(password_problem(p) is None for p in passwords)
