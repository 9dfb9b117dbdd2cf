"""Verified API tokens remembered per process, and the identity epoch that makes forgetting them
immediate everywhere.

Verifying a token costs an EdDSA signature check and three reads (token, user, memberships):
most of a cheap read's server time. A verified token is remembered by the SHA-256 of its text
until its own expiry, and only while the identity epoch (one database row) still has the value
read before it was verified. Every change that can take a right away from a principal bumps the
epoch in its own transaction, so the next request in any process re-reads the row, sees the new
value and verifies in full: a revoked token is refused on the very next request.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from posture.identity.permissions import Principal
from posture.storage.models.identity import IdentityEpoch

EPOCH_ROW = 1
# Tokens remembered per process: a partner pipeline holds a handful, so this covers thousands of
# clients while bounding what a stream of distinct valid tokens can make the process hold.
DEFAULT_CAPACITY = 4096


def bump_identity_epoch(session: Session) -> None:
    """Call in the transaction of any change that can narrow what a token's principal may do:
    token revocation, a role or membership removed or granted, an account deactivated."""
    bumped = session.execute(
        update(IdentityEpoch)
        .where(IdentityEpoch.id == EPOCH_ROW)
        .values(value=IdentityEpoch.value + 1)
        .execution_options(synchronize_session=False)
    )
    if not bumped.rowcount:
        # A schema built from the models rather than migrated (0015 inserts the row) has none.
        session.add(IdentityEpoch(id=EPOCH_ROW, value=1))
        session.flush()


# Against the table rather than the mapped class: read on every API request, and the ORM's
# per-statement work costs twice the query itself.
_EPOCH_TABLE = IdentityEpoch.__table__
_READ_EPOCH = select(_EPOCH_TABLE.c.value).where(_EPOCH_TABLE.c.id == EPOCH_ROW)


def current_epoch(session: Session) -> int:
    return session.execute(_READ_EPOCH).scalar() or 0


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class VerifiedToken:
    """A token that verified in full, with what it is good for and until when."""

    digest: bytes
    principal: Principal
    jti: str
    user_id: int
    # POSIX seconds: the earlier of the signed `exp` and the stored expiry.
    expires_at: float
    # The identity epoch read before the token was verified.
    epoch: int

    def usable(self, epoch: int, now: float) -> bool:
        return self.epoch == epoch and now < self.expires_at


class TokenCache:
    """A bounded, thread-safe map from token digest to its verification, least recently used
    out first. Capacity 0 disables it: every check verifies in full (the benchmark's baseline)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("a token cache's capacity cannot be negative")
        self.capacity = capacity
        self._entries: OrderedDict[bytes, VerifiedToken] = OrderedDict()
        self._lock = threading.Lock()
        self._newest_epoch = 0
        # Full verifications run through this cache: what tests and benchmarks count.
        self.verifications = 0
        # When this process last wrote each token's "last used" time (POSIX seconds), so a
        # busy token costs one write a minute, not one per request. Bounded like the entries,
        # and kept whether or not caching is enabled.
        self._uses_noted: OrderedDict[str, float] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes, epoch: int, now: float) -> VerifiedToken | None:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if not entry.usable(epoch, now):
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
            return entry

    def peek(self, digest: bytes, now: float) -> VerifiedToken | None:
        """The entry for `digest` while unexpired, whatever epoch it was verified in: only for
        telling who is asking (rate limiting), never for what they may do."""
        with self._lock:
            entry = self._entries.get(digest)
            return entry if entry is not None and now < entry.expires_at else None

    def use_due(self, jti: str, now: float, every_seconds: float) -> bool:
        """Whether this process should note the token's use now: its first use here, or the
        first since `every_seconds` passed. Answers True once per period per token, and
        remembers the answer, so concurrent requests do not both write."""
        with self._lock:
            noted = self._uses_noted.get(jti)
            if noted is not None and now - noted < every_seconds:
                return False
            self._uses_noted[jti] = now
            self._uses_noted.move_to_end(jti)
            while len(self._uses_noted) > max(self.capacity, DEFAULT_CAPACITY):
                self._uses_noted.popitem(last=False)
            return True

    def count_verification(self) -> None:
        with self._lock:
            self.verifications += 1

    def put(self, entry: VerifiedToken) -> None:
        if not self.enabled:
            return
        with self._lock:
            if entry.epoch != self._newest_epoch:
                # Entries of another epoch can never be used again (a lower one too: a database
                # restored from a backup). A check racing an epoch change costs a re-verification
                # at worst, as `get` compares with the epoch just read.
                self._entries.clear()
                self._newest_epoch = entry.epoch
            self._entries[entry.digest] = entry
            self._entries.move_to_end(entry.digest)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
