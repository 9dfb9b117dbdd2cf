"""The identities an API check is given and how each is sent, in one place.

Two identities at most: a first, and a second that must not see the first's objects. Their
names are the ones the Web Fuzzing Commons auth file gives schemathesis, so the run's recorded
cases and the check's own requests name an identity the same way.
"""

from __future__ import annotations

IDENTITY_NAMES = ("primary", "secondary")


def bearer(token: str | None) -> dict[str, str]:
    """The header that carries an identity's token; none for an anonymous request."""
    return {"Authorization": f"Bearer {token}"} if token else {}
