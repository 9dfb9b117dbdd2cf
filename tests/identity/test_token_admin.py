"""API tokens on the administration page: listed with whom they act for and when last used,
issued and revoked, each only by someone whose reach covers every organisation of the token's
user; and "last used" written at most once a minute per token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kernel.errors import ValidationFailed
from posture.identity.permissions import NotFound, PermissionDenied
from posture.identity.token_admin import issue_for, list_tokens, revoke_for
from posture.identity.token_cache import TokenCache, current_epoch
from posture.identity.tokens import (
    TokenRejected,
    check_token,
    issue_token,
    note_use,
    signing_key,
    verify_token,
)
from posture.storage.engine import transaction
from posture.storage.models import ApiToken, AuditEvent, User
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _last_used(session: Session, jti: str) -> datetime | None:
    return session.scalar(select(ApiToken.last_used_at).where(ApiToken.jti == jti))


def test_the_platform_administrator_issues_lists_and_revokes_a_token(world_db) -> None:
    world, sessions, settings = world_db
    key, admin = signing_key(settings), world.principal(Role.PLATFORM_ADMIN)
    with transaction(sessions) as session:
        token, row = issue_for(
            session, admin, key, admin.user_id, ["products:read"], 30, "  nightly export  "
        )
        jti = row.jti
    with sessions() as session:
        assert verify_token(session, key, token).user_id == admin.user_id
        (listed,) = list_tokens(session, admin)
    assert (listed.jti, listed.email, listed.scopes, listed.description, listed.status) == (
        jti,
        "platform_admin@example.police.uk",
        ("products:read",),
        "nightly export",
        "active",
    )
    assert listed.last_used_at is None
    with transaction(sessions) as session:
        epoch = current_epoch(session)
        revoke_for(session, admin, jti)
    with sessions() as session:
        assert list_tokens(session, admin) == []
        (ended,) = list_tokens(session, admin, include_ended=True)
        assert current_epoch(session) > epoch
        with pytest.raises(TokenRejected):
            verify_token(session, key, token)
        actions = list(
            session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == jti))
        )
    assert ended.status == "revoked"
    assert actions == ["token.issued", "token.revoked"]


def test_bad_token_requests_are_refused_and_issue_nothing(world_db) -> None:
    world, sessions, settings = world_db
    key, admin = signing_key(settings), world.principal(Role.PLATFORM_ADMIN)
    member = admin.user_id
    for scopes, minutes, message in [
        ([], 15, "missing scopes"),
        (["root"], 15, "unknown"),
        (["products:read"], 0, "lifetime"),
        (["products:read"], 61, "lifetime"),
    ]:
        with pytest.raises(ValidationFailed, match=message), transaction(sessions) as session:
            issue_for(session, admin, key, member, scopes, minutes)
    with transaction(sessions) as session:
        session.get_one(User, member).is_active = False
    with pytest.raises(ValidationFailed, match="disabled"), transaction(sessions) as session:
        issue_for(session, admin, key, member, ["products:read"])
    with sessions() as session:
        assert list_tokens(session, admin, include_ended=True) == []


def test_a_supplier_administrator_handles_only_tokens_wholly_in_their_organisation(
    world_db,
) -> None:
    world, sessions, settings = world_db
    key = signing_key(settings)
    admin, mine = world.principal(Role.PLATFORM_ADMIN), world.principal(Role.SUPPLIER_ADMIN)
    member = world.users[Role.SUPPLIER_MEMBER]
    with transaction(sessions) as session:
        other = User(email="dev@s2.example", display_name="Dev")
        both = User(email="consultant@both.example", display_name="Consultant")
        session.add_all([other, both])
        session.flush()
        s1, s2 = world.orgs["s1"].organisation_id, world.orgs["s2"].organisation_id
        session.add_all(
            [
                MembershipRow(user_id=other.id, organisation_id=s2, role=Role.SUPPLIER_MEMBER),
                MembershipRow(user_id=both.id, organisation_id=s1, role=Role.SUPPLIER_MEMBER),
                MembershipRow(user_id=both.id, organisation_id=s2, role=Role.SUPPLIER_MEMBER),
            ]
        )
        other_id, both_id = other.id, both.id
        _, own_row = issue_for(session, mine, key, mine.user_id, ["products:read"])
        # Tokens for other people come from the host's `assure token issue`, not the page.
        _, their_row = issue_token(
            session, None, key, session.get_one(User, other_id), ["products:read"]
        )
        _, shared_row = issue_token(
            session, None, key, session.get_one(User, both_id), ["products:read"]
        )
        own_jti, their_jti, shared_jti = own_row.jti, their_row.jti, shared_row.jti
    with sessions() as session:
        assert [t.jti for t in list_tokens(session, mine)] == [own_jti]
        assert {t.jti for t in list_tokens(session, admin)} == {own_jti, their_jti, shared_jti}
    for attempt in (
        lambda s: revoke_for(s, mine, their_jti),
        lambda s: revoke_for(s, mine, shared_jti),
        lambda s: revoke_for(s, mine, "no-such-token"),
        lambda s: issue_for(s, mine, key, other_id, ["products:read"]),
        lambda s: issue_for(s, mine, key, both_id, ["products:read"]),
    ):
        with pytest.raises(NotFound), transaction(sessions) as session:
            attempt(session)
    for attempt in (
        lambda s: list_tokens(s, world.principal(Role.SUPPLIER_MEMBER)),
        lambda s: revoke_for(s, world.principal(Role.SUPPLIER_MEMBER), own_jti),
        lambda s: issue_for(
            s, world.principal(Role.CHALLENGE_JUDGE), key, member, ["products:read"]
        ),
    ):
        with pytest.raises(PermissionDenied), transaction(sessions) as session:
            attempt(session)
    # Someone in reach is still someone else: a token for them would act as them.
    for issuer in (admin, mine):
        with (
            pytest.raises(PermissionDenied, match="each person issues their own"),
            transaction(sessions) as session,
        ):
            issue_for(session, issuer, key, member, ["products:read"])
    with sessions() as session:
        assert all(t.revoked_at is None for t in list_tokens(session, admin, include_ended=True))
    with transaction(sessions) as session:
        revoke_for(session, mine, own_jti)


def test_last_used_is_written_at_most_once_a_minute_per_token(world_db) -> None:
    world, sessions, settings = world_db
    key = signing_key(settings)
    with transaction(sessions) as session:
        owner = world.principal(Role.SUPPLIER_ADMIN)
        token, row = issue_for(session, owner, key, owner.user_id, ["products:read"], 60)
        jti = row.jti
    process, another_process = TokenCache(), TokenCache()
    start = row.issued_at

    def use(cache: TokenCache, at: datetime) -> None:
        with sessions() as session:
            verified = check_token(session, key, token, cache, at)
        note_use(sessions, verified, cache, at)

    use(process, start)
    with sessions() as session:
        assert _last_used(session, jti) == start
        # Were it written again within the minute, this marker would be overwritten.
        session.execute(
            update(ApiToken)
            .where(ApiToken.jti == jti)
            .values(last_used_at=start - timedelta(seconds=1))
        )
        session.commit()
    for seconds in (1, 30, 59):
        use(process, start + timedelta(seconds=seconds))
    with sessions() as session:
        assert _last_used(session, jti) == start - timedelta(seconds=1)
        session.execute(update(ApiToken).where(ApiToken.jti == jti).values(last_used_at=start))
        session.commit()
    # Another process asks too, within the minute: its conditional update writes nothing.
    use(another_process, start + timedelta(seconds=40))
    with sessions() as session:
        assert _last_used(session, jti) == start
    use(process, start + timedelta(seconds=61))
    with sessions() as session:
        assert _last_used(session, jti) == start + timedelta(seconds=61)
