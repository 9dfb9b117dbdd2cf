"""Passkeys as a second factor: enrolment at sign-in, signing in with a key, and every way a
forged, replayed, cloned or oversized answer is refused with nothing changed. The answers come
from a software authenticator with real keys; the webauthn package verifies them for real."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import ValidationFailed
from kernel.settings import load_settings
from posture.audit import Actor
from posture.identity import mfa, passkeys
from posture.identity.accounts import create_admin, principal_for
from posture.identity.passkeys import PasskeyAnswer, RelyingParty
from posture.identity.policy import identity_policy
from posture.identity.secretbox import SecretBox, secret_box
from posture.identity.sessions import open_session, resume_session
from posture.identity.signin import (
    SignInFailed,
    Verified,
    complete_enrolment,
    complete_passkey_enrolment,
    complete_with_code,
    complete_with_passkey,
    reauthenticate,
    sign_in_with_password,
)
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, PasskeyCredential, RecoveryCode, User
from tests.identity.software_authenticator import SoftwareAuthenticator

ORIGIN = "https://assure.example.police.uk"
RP = RelyingParty("assure.example.police.uk", "PoliceTech Assure", ORIGIN)
ADA = ("ada@assure.police.uk", "a sensible long passphrase")
BOB = ("bob@assure.police.uk", "another sensible passphrase")
T0 = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(minutes=1)


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return secret_box(load_settings({"ASSURE_DATA_DIR": str(tmp_path / "keys")}))


@pytest.fixture
def admins(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """Two platform admins, a role that must use a second factor."""
    with transaction(sessions) as session:
        for email, password in (ADA, BOB):
            create_admin(session, Actor("setup"), email, email.split("@")[0], password)
    return sessions


def _password(sessions: sessionmaker[Session], who: tuple[str, str], when: datetime) -> Verified:
    return sign_in_with_password(sessions, *who, now=when)


def _enrol(
    sessions: sessionmaker[Session], who: tuple[str, str], key: SoftwareAuthenticator
) -> list[str]:
    verified = _password(sessions, who, T0)
    assert verified.next_step == "enrol"
    with transaction(sessions) as session:
        ceremony = passkeys.begin_registration(session, RP, verified.user_id, now=T0)
    answer = PasskeyAnswer(ceremony.handle, key.create(ceremony.options_json))
    _, method, codes = complete_passkey_enrolment(
        sessions, RP, verified, answer, "Blue key", now=T0
    )
    assert method == "password+webauthn"
    return codes


def _sign_in_ceremony(
    sessions: sessionmaker[Session], who: tuple[str, str], when: datetime = LATER
) -> tuple[Verified, passkeys.Ceremony]:
    verified = _password(sessions, who, when)
    assert verified.next_step == "verify"
    with transaction(sessions) as session:
        ceremony = passkeys.begin_authentication(session, RP, verified.user_id, now=when)
    assert ceremony is not None
    return verified, ceremony


def _stored(sessions: sessionmaker[Session], email: str) -> list[tuple[int, datetime | None]]:
    with sessions() as session:
        rows = session.scalars(
            select(PasskeyCredential).join(User).where(User.email == email)
        ).all()
        return [(row.sign_count, row.last_used_at) for row in rows]


def _last_audit(sessions: sessionmaker[Session]) -> AuditEvent:
    with sessions() as session:
        return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


def _refused(
    sessions: sessionmaker[Session], verified: Verified, answer: PasskeyAnswer, reason: str
) -> None:
    """The answer signs no one in, changes no key, and the audit trail says why."""
    before = _stored(sessions, verified.email)
    with pytest.raises(SignInFailed):
        complete_with_passkey(sessions, RP, verified, answer, now=LATER)
    assert _stored(sessions, verified.email) == before
    event = _last_audit(sessions)
    assert event.action == "auth.mfa_failed"
    assert reason in event.shown_data["reason"]


def test_an_admin_enrols_a_passkey_then_signs_in_with_it(admins: sessionmaker[Session]) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    codes = _enrol(admins, ADA, key)
    assert len(codes) == identity_policy().mfa.recovery_codes
    assert _last_audit(admins).shown_data == {"method": "password+webauthn"}

    verified, ceremony = _sign_in_ceremony(admins, ADA)
    options = json.loads(ceremony.options_json)
    assert [item["id"] for item in options["allowCredentials"]] == [key.credentials[0].id_text]
    answer = PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json))
    principal, method = complete_with_passkey(admins, RP, verified, answer, now=LATER)
    assert method == "password+webauthn"
    with transaction(admins) as session:
        token = open_session(session, principal, method, now=LATER)
    with transaction(admins) as session:
        assert resume_session(session, token, now=LATER) is not None
        stored = session.scalars(select(PasskeyCredential)).one()
        assert (stored.label, stored.transports, stored.sign_count) == ("Blue key", ["usb"], 1)
        assert stored.last_used_at == LATER
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "mfa.passkey_registered" in actions
    assert actions[-1] == "auth.login"


def test_a_key_without_a_counter_signs_in_each_time_but_each_answer_works_once(
    admins: sessionmaker[Session],
) -> None:
    key = SoftwareAuthenticator(ORIGIN, counter_step=0)
    _enrol(admins, ADA, key)
    for _ in range(2):
        verified, ceremony = _sign_in_ceremony(admins, ADA)
        answer = PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json))
        assert complete_with_passkey(admins, RP, verified, answer, now=LATER)[1].endswith(
            "+webauthn"
        )
    _refused(admins, verified, answer, "challenge unknown, spent or expired")
    # The same answer under a fresh challenge: the signed challenge is the old one.
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    _refused(admins, verified, PasskeyAnswer(ceremony.handle, answer.response), "not verified")


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ({"origin": "https://assure.example.police.uk.evil.example"}, "origin"),
        ({"origin": "http://assure.example.police.uk"}, "origin"),
        ({"rp_id": "evil.example"}, "RP ID"),
    ],
)
def test_an_answer_for_another_site_is_refused(
    admins: sessionmaker[Session], forgery: dict[str, str], reason: str
) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    answer = PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json, **forgery))
    _refused(admins, verified, answer, reason)


def test_an_answer_to_another_users_challenge_is_refused(admins: sessionmaker[Session]) -> None:
    ada_key, bob_key = SoftwareAuthenticator(ORIGIN), SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, ada_key)
    _enrol(admins, BOB, bob_key)
    ada, _ = _sign_in_ceremony(admins, ADA)
    bob, bob_ceremony = _sign_in_ceremony(admins, BOB)
    # Ada's key answers Bob's challenge, handed in on Ada's sign-in.
    stolen = ada_key.get(bob_ceremony.options_json, credential=ada_key.credentials[0])
    _refused(admins, ada, PasskeyAnswer(bob_ceremony.handle, stolen), "challenge unknown")
    # Bob's own challenge was not spent by Ada's attempt.
    answer = PasskeyAnswer(bob_ceremony.handle, bob_key.get(bob_ceremony.options_json))
    assert complete_with_passkey(admins, RP, bob, answer, now=LATER)[1] == "password+webauthn"


def test_another_users_key_is_refused(admins: sessionmaker[Session]) -> None:
    ada_key, bob_key = SoftwareAuthenticator(ORIGIN), SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, ada_key)
    _enrol(admins, BOB, bob_key)
    ada, ceremony = _sign_in_ceremony(admins, ADA)
    bobs = bob_key.get(ceremony.options_json, credential=bob_key.credentials[0])
    _refused(admins, ada, PasskeyAnswer(ceremony.handle, bobs), "not registered to this account")


def test_a_counter_that_goes_backwards_is_refused_as_a_cloned_key(
    admins: sessionmaker[Session],
) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    answer = PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json, counter=5))
    complete_with_passkey(admins, RP, verified, answer, now=LATER)
    for counter in (5, 3, 0):
        verified, ceremony = _sign_in_ceremony(admins, ADA)
        clone = key.get(ceremony.options_json, counter=counter)
        _refused(admins, verified, PasskeyAnswer(ceremony.handle, clone), "sign count")
    assert _stored(admins, ADA[0]) == [(5, LATER)]


def test_the_counter_is_claimed_atomically(admins: sessionmaker[Session]) -> None:
    """The rule the conditional UPDATE applies, whatever the caller read before."""
    _enrol(admins, ADA, SoftwareAuthenticator(ORIGIN, counter_step=0))
    with transaction(admins) as session:
        key_id = session.scalars(select(PasskeyCredential.id)).one()
        assert passkeys.claim_counter(session, key_id, 0, LATER)  # no counter, still none
        assert passkeys.claim_counter(session, key_id, 7, LATER)
        assert not passkeys.claim_counter(session, key_id, 7, LATER)
        assert not passkeys.claim_counter(session, key_id, 6, LATER)
        assert not passkeys.claim_counter(session, key_id, 0, LATER)
        assert passkeys.claim_counter(session, key_id, 8, LATER)


UNREADABLE, UNVERIFIED = "unreadable or too large", "not verified"


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        pytest.param("not json", UNREADABLE, id="not-json"),
        pytest.param("[]", UNREADABLE, id="list"),
        pytest.param('{"id": 5}', UNREADABLE, id="id-not-text"),
        pytest.param(json.dumps({"id": "a" * 2000}), UNREADABLE, id="long-id"),
        pytest.param("x" * (10 * 1024 * 1024), UNREADABLE, id="10MB"),
        pytest.param(None, UNVERIFIED, id="empty-response"),
        pytest.param("bad-base64", UNVERIFIED, id="bad-base64"),
        pytest.param("bad-cbor", UNVERIFIED, id="bad-authenticator-data"),
    ],
)
def test_garbage_is_refused_cleanly(
    admins: sessionmaker[Session], response: str | None, reason: str
) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    if response is None or response.startswith("bad-"):
        # A real answer, then broken where the parsers look.
        answer = json.loads(key.get(ceremony.options_json))
        if response is None:
            answer["response"] = {}
        elif response == "bad-base64":
            answer["response"]["signature"] = "!!not base64url!!"
        else:
            answer["response"]["authenticatorData"] = "AAAA"
        response = json.dumps(answer)
    _refused(admins, verified, PasskeyAnswer(ceremony.handle, response), reason)


def test_a_valid_answer_wrapped_in_10_megabytes_is_refused(admins: sessionmaker[Session]) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    answer = json.loads(key.get(ceremony.options_json))
    answer["padding"] = "x" * (10 * 1024 * 1024)
    padded = PasskeyAnswer(ceremony.handle, json.dumps(answer))
    _refused(admins, verified, padded, "too large")


def test_an_answer_after_the_challenge_expired_is_refused(admins: sessionmaker[Session]) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    answer = PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json))
    too_late = ceremony.expires_at + timedelta(seconds=1)
    with pytest.raises(SignInFailed):
        complete_with_passkey(admins, RP, verified, answer, now=too_late)


def test_one_answer_sent_twenty_times_at_once_signs_in_once(
    admins: sessionmaker[Session],
) -> None:
    key = SoftwareAuthenticator(ORIGIN, counter_step=0)
    _enrol(admins, ADA, key)
    verified, ceremony = _sign_in_ceremony(admins, ADA)
    answer = PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json))

    def submit(_: int) -> str:
        try:
            return complete_with_passkey(admins, RP, verified, answer, now=LATER)[1]
        except SignInFailed:
            return "refused"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(submit, range(20)))
    assert outcomes.count("password+webauthn") == 1
    assert outcomes.count("refused") == 19


def test_refused_answers_lock_the_account_like_wrong_codes(admins: sessionmaker[Session]) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    verified = _password(admins, ADA, LATER)

    def answer(origin: str = ORIGIN) -> PasskeyAnswer:
        with transaction(admins) as session:
            ceremony = passkeys.begin_authentication(session, RP, verified.user_id, now=LATER)
        assert ceremony is not None
        return PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json, origin=origin))

    for _ in range(identity_policy().max_failed_logins):
        with pytest.raises(SignInFailed):
            complete_with_passkey(admins, RP, verified, answer("https://evil.example"), now=LATER)
    with pytest.raises(SignInFailed):
        complete_with_passkey(admins, RP, verified, answer(), now=LATER)
    assert _last_audit(admins).shown_data == {"reason": "locked"}


@pytest.mark.parametrize(
    ("forgery", "message"),
    [
        ({"origin": "https://evil.example"}, "could not be verified"),
        ({"rp_id": "evil.example"}, "could not be verified"),
    ],
)
def test_a_forged_registration_stores_nothing(
    admins: sessionmaker[Session], forgery: dict[str, str], message: str
) -> None:
    verified = _password(admins, ADA, T0)
    with transaction(admins) as session:
        ceremony = passkeys.begin_registration(session, RP, verified.user_id, now=T0)
    created = SoftwareAuthenticator(ORIGIN).create(ceremony.options_json, **forgery)
    answer = PasskeyAnswer(ceremony.handle, created)
    with pytest.raises(ValidationFailed, match=message):
        complete_passkey_enrolment(admins, RP, verified, answer, "Key", now=T0)
    # The challenge was spent by the refusal: the same answer cannot be tried again.
    with pytest.raises(ValidationFailed, match="expired"):
        complete_passkey_enrolment(admins, RP, verified, answer, "Key", now=T0)
    _assert_no_factor(admins)


@pytest.mark.parametrize(
    "response", ["{}", "x" * (10 * 1024 * 1024), '{"id": "a", "response": []}']
)
def test_a_garbage_registration_stores_nothing(
    admins: sessionmaker[Session], response: str
) -> None:
    verified = _password(admins, ADA, T0)
    with transaction(admins) as session:
        ceremony = passkeys.begin_registration(session, RP, verified.user_id, now=T0)
    with pytest.raises(ValidationFailed):
        complete_passkey_enrolment(
            admins, RP, verified, PasskeyAnswer(ceremony.handle, response), "Key", now=T0
        )
    _assert_no_factor(admins)


def test_a_registration_answering_another_users_challenge_stores_nothing(
    admins: sessionmaker[Session],
) -> None:
    ada = _password(admins, ADA, T0)
    bob = _password(admins, BOB, T0)
    with transaction(admins) as session:
        bobs = passkeys.begin_registration(session, RP, bob.user_id, now=T0)
    answer = PasskeyAnswer(bobs.handle, SoftwareAuthenticator(ORIGIN).create(bobs.options_json))
    with pytest.raises(ValidationFailed, match="expired"):
        complete_passkey_enrolment(admins, RP, ada, answer, "Key", now=T0)
    _assert_no_factor(admins)


def _assert_no_factor(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert session.scalars(select(PasskeyCredential)).all() == []
        assert session.scalars(select(RecoveryCode)).all() == []


def test_a_factor_set_up_meanwhile_is_not_sidestepped_by_enrolling_another(
    admins: sessionmaker[Session], box: SecretBox
) -> None:
    """A password verified before the account got its key cannot enrol a factor of its own."""
    stale = _password(admins, ADA, T0)
    assert stale.next_step == "enrol"
    _enrol(admins, ADA, SoftwareAuthenticator(ORIGIN))  # the account holder, in another tab
    with transaction(admins) as session:
        ceremony = passkeys.begin_registration(session, RP, stale.user_id, now=T0)
    created = SoftwareAuthenticator(ORIGIN).create(ceremony.options_json)
    answer = PasskeyAnswer(ceremony.handle, created)
    with pytest.raises(ValidationFailed, match="already set up"):
        complete_passkey_enrolment(admins, RP, stale, answer, "Mine now", now=T0)
    app = mfa.new_enrolment(ADA[0])
    code = pyotp.TOTP(app.secret).at(T0)
    with pytest.raises(ValidationFailed, match="already set up"):
        complete_enrolment(admins, box, stale, app.secret, code, now=T0)
    assert len(_stored(admins, ADA[0])) == 1


def test_a_key_is_registered_once_and_labels_are_kept_apart(
    admins: sessionmaker[Session],
) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    with admins() as session:
        user = session.scalars(select(User).where(User.email == ADA[0])).one()
        ceremony = passkeys.begin_registration(session, RP, user.id, now=LATER)
        excluded = [item["id"] for item in json.loads(ceremony.options_json)["excludeCredentials"]]
        assert excluded == [key.credentials[0].id_text]
        answer = PasskeyAnswer(ceremony.handle, key.create(ceremony.options_json))
        same_label = passkeys.register(session, RP, Actor("ada"), user.id, answer, "Blue\x00 key")
        assert "Blue key" in (same_label.refusal or "")
        ceremony = passkeys.begin_registration(session, RP, user.id, now=LATER)
        answer = PasskeyAnswer(ceremony.handle, key.create(ceremony.options_json))
        second = passkeys.register(session, RP, Actor("ada"), user.id, answer, "Spare")
        assert second.refusal is None
        assert second.recovery_codes == []  # a further factor keeps the codes there are
        session.commit()
    assert len(_stored(admins, ADA[0])) == 2


def test_changing_keys_needs_the_password_and_a_key(
    admins: sessionmaker[Session], box: SecretBox
) -> None:
    key = SoftwareAuthenticator(ORIGIN)
    _enrol(admins, ADA, key)
    with admins() as session:
        user_id = session.scalars(select(User.id).where(User.email == ADA[0])).one()

    def answer() -> tuple[RelyingParty, PasskeyAnswer]:
        with transaction(admins) as session:
            ceremony = passkeys.begin_authentication(session, RP, user_id, now=LATER)
        assert ceremony is not None
        return RP, PasskeyAnswer(ceremony.handle, key.get(ceremony.options_json))

    with pytest.raises(SignInFailed):  # the password alone is not enough once a key exists
        reauthenticate(admins, box, user_id, ADA[1], "", now=LATER)
    with pytest.raises(SignInFailed):
        reauthenticate(admins, box, user_id, "not my password", "", now=LATER, passkey=answer())
    reauthenticate(admins, box, user_id, ADA[1], "", now=LATER, passkey=answer())


def test_removing_the_last_key_removes_the_recovery_codes(
    admins: sessionmaker[Session], box: SecretBox
) -> None:
    codes = _enrol(admins, ADA, SoftwareAuthenticator(ORIGIN))
    verified = _password(admins, ADA, LATER)
    _, method = complete_with_code(admins, box, verified, codes[0], now=LATER)
    assert method == "password+recovery"  # recovery codes stand in for a lost key
    with transaction(admins) as session:
        user_id = verified.user_id
        key_id = session.scalars(select(PasskeyCredential.id)).one()
        assert passkeys.remove_passkey(session, Actor("ada", user_id), user_id, key_id)
        assert not passkeys.remove_passkey(session, Actor("ada", user_id), user_id, key_id)
    assert _last_audit(admins).action == "mfa.passkey_removed"
    _assert_no_factor(admins)
    assert _password(admins, ADA, LATER).next_step == "enrol"


def test_someone_elses_key_cannot_be_removed(admins: sessionmaker[Session]) -> None:
    _enrol(admins, ADA, SoftwareAuthenticator(ORIGIN))
    _enrol(admins, BOB, SoftwareAuthenticator(ORIGIN))
    with transaction(admins) as session:
        ada = session.scalars(select(User).where(User.email == ADA[0])).one()
        bobs_key = session.scalars(
            select(PasskeyCredential.id).where(PasskeyCredential.user_id != ada.id)
        ).one()
        assert not passkeys.remove_passkey(session, Actor("ada", ada.id), ada.id, bobs_key)
    assert len(_stored(admins, BOB[0])) == 1


def test_an_admin_reset_removes_keys_too(admins: sessionmaker[Session]) -> None:
    _enrol(admins, ADA, SoftwareAuthenticator(ORIGIN))
    with transaction(admins) as session:
        mfa.reset_by_admin(session, Actor("cli"), ADA[0])
    _assert_no_factor(admins)
    assert _last_audit(admins).data["passkeys"] == 1
    assert _password(admins, ADA, LATER).next_step == "enrol"


def test_a_passkey_session_counts_as_two_step(admins: sessionmaker[Session]) -> None:
    assert mfa.method_has_second_factor("password+webauthn")
    assert mfa.method_has_second_factor("oidc+webauthn")
    with admins() as session:
        principal = principal_for(session, session.scalars(select(User)).first())
    with transaction(admins) as session:
        assert open_session(session, principal, "password+webauthn")
