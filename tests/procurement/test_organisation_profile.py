"""Organisation profiles: edited by the supplier's admin only, validated, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kernel.errors import ValidationFailed
from posture.identity.permissions import Membership, NotFound, PermissionDenied, Principal
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent
from posture.storage.models.enums import Role
from supplier_portal.forms import parse_form
from supplier_portal.organisations import ProfileForm, update_profile

GOOD = {
    "description": "Evidence software.",
    "website": "https://s1.example.com",
    "security_contact": "security@s1.example.com",
}


def test_the_admin_updates_the_profile_and_it_is_audited(pw) -> None:
    with transaction(pw.sessions) as session:
        org = update_profile(session, pw.people["a1"], pw.orgs["s1"], parse_form(ProfileForm, GOOD))
        assert org.security_contact == "security@s1.example.com"
    with pw.sessions() as session:
        assert "organisation.profile_updated" in session.scalars(select(AuditEvent.action)).all()


def test_bad_contact_details_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="security_contact"):
        parse_form(ProfileForm, {**GOOD, "security_contact": "not-an-email"})


def test_others_cannot_edit(pw) -> None:
    form = parse_form(ProfileForm, GOOD)
    member = Principal(
        pw.people["a1"].user_id, "m@s1", (Membership(pw.orgs["s1"], Role.SUPPLIER_MEMBER),)
    )
    with pw.sessions() as session:
        with pytest.raises(NotFound):
            update_profile(session, pw.people["a2"], pw.orgs["s1"], form)
        with pytest.raises(PermissionDenied):
            update_profile(session, member, pw.orgs["s1"], form)
