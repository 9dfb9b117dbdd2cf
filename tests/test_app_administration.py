"""The Administration page (AppTest): a platform administrator invites someone as a challenge
judge and reads the code once, disables an account, gives a role, issues and revokes a token
and creates an organisation; a supplier's administrator sees and changes only their own
organisation; the invitee makes their account on the sign-in page; the audit trail is searched
and its chain verified."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from posture.identity.permissions import Principal
from posture.storage.engine import transaction
from posture.storage.models import ApiToken, Invitation, Membership, Organisation, User
from posture.storage.models.enums import Role
from ui.plain import unescape_markdown

PASSWORD = "a long and unusual passphrase"


@pytest.fixture
def world(world_db, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    world, sessions, settings = world_db
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return world, sessions


def _page() -> None:
    from ui.pages.administration import administration_page

    administration_page()


def _audit() -> None:
    from ui.pages.audit import audit_page

    audit_page()


def _sign_in_page() -> None:
    from ui.auth import login_page

    login_page()


def _open(principal: Principal, page=_page) -> AppTest:  # type: ignore[no-untyped-def]
    app = AppTest.from_function(page, default_timeout=60)
    app.session_state["assure_principal"] = principal
    return app.run()


def _widget(elements, label: str):  # type: ignore[no-untyped-def]
    (found,) = [e for e in elements if e.label == label]
    return found


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return _widget(app.button, label)


def _frame(app: AppTest, column: str):  # type: ignore[no-untyped-def]
    (frame,) = [f.value for f in app.dataframe if column in f.value.columns]
    return frame


def _ok(app: AppTest) -> AppTest:
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def test_the_platform_administrator_invites_a_judge_who_makes_their_account(world) -> None:  # type: ignore[no-untyped-def]
    world, sessions = world
    app = _ok(_open(world.principal(Role.PLATFORM_ADMIN)))
    assert [t.label for t in app.tabs] == ["Users", "Invitations", "Organisations", "API tokens"]
    people = _frame(app, "Roles")
    assert "Challenge judge at Organisation n1" in people["Roles"].tolist()
    n1 = world.orgs["n1"].organisation_id
    _widget(app.selectbox, "Organisation to join").set_value(n1)
    app = _ok(app.run())
    role = _widget(app.selectbox, "Their role")
    assert role.options == [
        "National assessor",
        "Procurement officer",
        "Challenge manager",
        "Challenge judge",
    ]
    role.set_value(Role.CHALLENGE_JUDGE)
    _widget(app.text_input, "Their e-mail address").input("nia.judge@college.police.example")
    app = _ok(_button(app, "Create the invitation").click().run())
    (code,) = [c.value for c in app.code]
    assert any("Invitation created" in s.value for s in app.success)
    assert any("shown only this once" in w.value for w in app.warning)
    with sessions() as session:
        stored = session.scalars(select(Invitation)).one()
    assert stored.code_sha256 == hashlib.sha256(code.encode()).hexdigest()
    assert stored.role == Role.CHALLENGE_JUDGE
    assert _widget(app.text_input, "Their e-mail address").value == ""  # emptied after success
    sent = _frame(app, "Invitee")
    assert sent[["Invitee", "Role", "Status"]].values.tolist() == [
        ["nia.judge@college.police.example", "Challenge judge", "open"]
    ]
    app = _ok(app.run())
    assert [c.value for c in app.code] == [code]  # a rerun does not lose it
    app = _ok(_button(app, "I have copied it").click().run())
    assert [c.value for c in app.code] == []

    signin = AppTest.from_function(_sign_in_page, default_timeout=60).run()
    _widget(signin.toggle, "I have an invitation").set_value(True)
    signin = signin.run()
    _widget(signin.text_input, "Invitation code").input(code)
    _widget(signin.text_input, "Your name").input("Nia Judge")
    _widget(signin.text_input, "Choose a password").input(PASSWORD)
    _widget(signin.text_input, "Repeat the password").input(PASSWORD)
    signin = _button(signin, "Create my account").click().run()
    assert not signin.exception
    (ready,) = [s.value for s in signin.success]
    assert "nia.judge@college.police.example" in unescape_markdown(ready)
    assert not [t for t in signin.toggle if t.value]  # the form is put away
    with sessions() as session:
        user = session.scalars(
            select(User).where(User.email == "nia.judge@college.police.example")
        ).one()
        roles = session.scalars(select(Membership.role).where(Membership.user_id == user.id)).all()
    assert (user.display_name, roles) == ("Nia Judge", [Role.CHALLENGE_JUDGE])


def test_a_spent_code_is_refused_on_the_sign_in_page_without_a_traceback(world) -> None:  # type: ignore[no-untyped-def]
    world, sessions = world
    signin = AppTest.from_function(_sign_in_page, default_timeout=60).run()
    _widget(signin.toggle, "I have an invitation").set_value(True)
    signin = signin.run()
    _widget(signin.text_input, "Invitation code").input("made-up-code")
    _widget(signin.text_input, "Your name").input("Mallory")
    _widget(signin.text_input, "Choose a password").input(PASSWORD)
    _widget(signin.text_input, "Repeat the password").input(PASSWORD + "!")
    signin = _button(signin, "Create my account").click().run()
    assert [e.value for e in signin.error] == ["The two passwords differ."]
    _widget(signin.text_input, "Repeat the password").input(PASSWORD)
    signin = _button(signin, "Create my account").click().run()
    assert not signin.exception
    (refused,) = [e.value for e in signin.error]
    assert "invitation code is not valid" in unescape_markdown(refused)
    with sessions() as session:
        assert not session.scalars(select(User).where(User.display_name == "Mallory")).all()


def test_bad_input_is_refused_in_words_and_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    world, sessions = world
    app = _open(world.principal(Role.PLATFORM_ADMIN))
    _widget(app.text_input, "Their e-mail address").input("not an address")
    app = _button(app, "Create the invitation").click().run()
    assert not app.exception
    assert any("email" in e.value for e in app.error)
    _widget(app.text_input, "Short name (slug)").input("Bad Slug!")
    _widget(app.text_input, "Name").input("Some Force")
    app = _button(app, "Create the organisation").click().run()
    assert any("lower-case letters" in unescape_markdown(e.value) for e in app.error)
    with sessions() as session:
        assert session.scalars(select(Invitation)).all() == []
        assert not session.scalars(
            select(Organisation).where(Organisation.name == "Some Force")
        ).all()


def test_disable_give_a_role_issue_and_revoke_a_token_and_create_an_organisation(world) -> None:  # type: ignore[no-untyped-def]
    world, sessions = world
    admin = world.principal(Role.PLATFORM_ADMIN)
    member = world.users[Role.SUPPLIER_MEMBER]
    app = _open(admin)
    _widget(app.selectbox, "Person to change").set_value(member)
    app = _ok(app.run())
    app = _ok(_button(app, "Disable supplier\\_member's account").click().run())
    assert any("disabled" in s.value for s in app.success)
    with sessions() as session:
        assert session.get_one(User, member).is_active is False
    people = _frame(app, "Roles")
    assert (
        people.set_index("Address").loc["supplier_member@example.police.uk", "Account"]
        == "disabled"
    )

    _widget(app.selectbox, "Person to change").set_value(member)
    app = _ok(app.run())
    app = _ok(_button(app, "Re-enable supplier\\_member's account").click().run())
    _widget(app.selectbox, "Person to change").set_value(member)
    app = app.run()
    _widget(app.selectbox, "In the organisation").set_value(world.orgs["s1"].organisation_id)
    app = app.run()
    _widget(app.selectbox, "Role").set_value(Role.SUPPLIER_ADMIN)
    app = _ok(_button(app, "Give the role").click().run())
    with sessions() as session:
        roles = set(session.scalars(select(Membership.role).where(Membership.user_id == member)))
    assert roles == {Role.SUPPLIER_MEMBER, Role.SUPPLIER_ADMIN}

    _widget(app.multiselect, "Scopes").set_value(["products:read"])
    _widget(app.text_input, "What it is for").input("nightly export")
    app = _ok(_button(app, "Issue the token").click().run())
    (token,) = [c.value for c in app.code]
    assert token.count(".") == 2  # a JWT, shown once
    tokens = _frame(app, "Scopes")
    assert tokens[["For", "Scopes", "What it is for", "Last used", "Status"]].values.tolist() == [
        ["platform_admin@example.police.uk", "products:read", "nightly export", "never", "active"]
    ]
    app = _ok(_button(app, "Revoke the token").click().run())
    with sessions() as session:
        assert session.scalars(select(ApiToken.revoked_at)).one() is not None

    _widget(app.text_input, "Name").input("Kent Police")
    _widget(app.text_input, "Short name (slug)").input("kent-police")
    app = _ok(_button(app, "Create the organisation").click().run())
    organisations = _frame(app, "Kind")
    assert ["Kent Police", "kent-police", "Force", 0] in organisations[
        ["Name", "Short name (slug)", "Kind", "People"]
    ].values.tolist()


def test_a_supplier_administrator_sees_and_gives_only_their_own(world) -> None:  # type: ignore[no-untyped-def]
    world, _ = world
    app = _ok(_open(world.principal(Role.SUPPLIER_ADMIN)))
    people = _frame(app, "Roles")
    assert sorted(people["Address"]) == [
        "supplier_admin@example.police.uk",
        "supplier_member@example.police.uk",
    ]
    assert _widget(app.selectbox, "Organisation to join").options == [
        "Organisation s1 (supplier, s1)"
    ]
    assert _widget(app.selectbox, "Their role").options == [
        "Supplier administrator",
        "Supplier team member",
    ]
    assert _widget(app.selectbox, "Organisation").options == [
        "Every organisation",
        "Organisation s1 (supplier, s1)",
    ]
    assert not [b for b in app.button if b.label == "Create the organisation"]
    organisations = _frame(app, "Kind")
    assert organisations["Short name (slug)"].tolist() == ["s1"]


def test_a_supplier_member_is_refused_the_page_by_the_services(world) -> None:  # type: ignore[no-untyped-def]
    world, _ = world
    app = _open(world.principal(Role.SUPPLIER_MEMBER))
    assert not app.exception
    assert not app.dataframe
    assert any("does not allow" in e.value for e in app.error)


def test_the_audit_trail_is_searched_and_its_chain_verified(world) -> None:  # type: ignore[no-untyped-def]
    world, sessions = world
    admin = world.principal(Role.PLATFORM_ADMIN)
    app = _ok(_open(admin, _audit))
    everything = _frame(app, "Action")
    assert set(everything["Action"]) == {"world.created"}
    with transaction(sessions) as session:
        from posture.identity.directory import create_organisation

        create_organisation(session, admin, "Kent Police", "kent-police", "force")
    app = _ok(app.run())
    _widget(app.selectbox, "Action").set_value("organisation.created")
    app = _ok(app.run())
    found = _frame(app, "Action")
    assert found[["Who", "Action", "Organisation"]].values.tolist() == [
        ["platform_admin@example.police.uk", "organisation.created", "Kent Police"]
    ]
    _widget(app.text_input, "Who (part of a name or address, or cli, worker, system)").input(
        "nobody-here"
    )
    app = _ok(app.run())
    assert any("No event matches" in i.value for i in app.info)
    app = _ok(_button(app, "Verify the chain").click().run())
    (verdict,) = [s.value for s in app.success]
    assert verdict.startswith("The chain holds: all 6 events verified")


def _account() -> None:
    from ui.account import account_page

    account_page()


def test_someone_with_an_account_joins_from_account_security(world) -> None:  # type: ignore[no-untyped-def]
    world, sessions = world
    member = world.principal(Role.SUPPLIER_MEMBER)
    with transaction(sessions) as session:
        from posture.identity.invitations import invite

        code = invite(
            session,
            world.principal(Role.PLATFORM_ADMIN),
            member.email,
            world.orgs["n1"].organisation_id,
            Role.CHALLENGE_JUDGE,
        ).code
    app = _ok(_open(member, _account))
    _widget(app.text_input, "Invitation code").input(code)
    app = _ok(_button(app, "Join").click().run())
    assert any("You are now challenge judge at Organisation n1" in s.value for s in app.success)
    with sessions() as session:
        roles = set(
            session.scalars(select(Membership.role).where(Membership.user_id == member.user_id))
        )
    assert roles == {Role.SUPPLIER_MEMBER, Role.CHALLENGE_JUDGE}
    _widget(app.text_input, "Invitation code").input(code)
    app = _button(app, "Join").click().run()
    assert any("not valid" in unescape_markdown(e.value) for e in app.error)


def test_names_people_type_are_shown_as_typed(world) -> None:  # type: ignore[no-untyped-def]
    from tests.test_app_plain_text import assert_no_user_markdown, hostile, shown_in_markdown

    world, sessions = world
    name, organisation = hostile("name"), hostile("organisation")
    with transaction(sessions) as session:
        session.get_one(Organisation, world.orgs["s1"].organisation_id).name = organisation
        person = User(email="hostile@s1.example", display_name=name)
        session.add(person)
        session.flush()
        session.add(
            Membership(
                user_id=person.id,
                organisation_id=world.orgs["s1"].organisation_id,
                role=Role.SUPPLIER_MEMBER,
            )
        )
        person_id = person.id
    app = _open(world.principal(Role.SUPPLIER_ADMIN))
    _widget(app.selectbox, "Person to change").set_value(person_id)
    app = app.run()
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, f"Disable {name}'s account")
    app = next(b for b in app.button if b.label.startswith("Disable")).click().run()
    assert_no_user_markdown(app)
    assert shown_in_markdown(app, f"{name}'s account is disabled")
    _widget(app.text_input, "Their e-mail address").input("new@s1.example")
    app = _button(app, "Create the invitation").click().run()
    assert_no_user_markdown(app)
    assert any(organisation in t.value for t in app.text)  # the note is plain text
