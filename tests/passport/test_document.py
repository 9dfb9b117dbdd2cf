"""A passport file verifies offline with the published keys and revocation list, and only as
signed: any changed byte, a stripped or swapped signature, other keys, a date outside its
validity, a listing on the revocation list, or a stale or forged list is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from posture.passport.document import (
    DocumentRefused,
    PassportBody,
    canonical,
    open_sealed,
    read_revocations,
    seal,
    verify_offline,
)
from pq_crypto.attestation import AttestationKeys, load_or_create_keys

ISSUED = datetime(2026, 12, 1, 9, tzinfo=UTC)
EXPIRES = datetime(2027, 12, 1, 9, tzinfo=UTC)
DURING = datetime(2027, 3, 1, tzinfo=UTC)
MAX = 262_144


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> AttestationKeys:
    return load_or_create_keys(tmp_path_factory.mktemp("platform-keys"))


@pytest.fixture(scope="module")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> AttestationKeys:
    return load_or_create_keys(tmp_path_factory.mktemp("attacker-keys"))


def body(keys: AttestationKeys, number: str = "PP-00112233445566AA") -> dict:
    return PassportBody.model_validate(
        {
            "schema": "policetech-assure/passport/v1",
            "number": number,
            "issuer_fingerprint": keys.fingerprint,
            "product": {"id": 7, "name": "Evidence Vault", "version": "4.2",
                        "category": "digital_evidence",
                        "deployment_model": "saas"},
            "supplier": {"id": 3, "name": "Vault Ltd"},
            "assessment": {
                "id": 11, "version": 2, "sha256": "a" * 64,
                "accepted_at": "2026-11-30T10:00:00+00:00",
                "framework": {"id": "ptsbd", "version": "1.0", "content_sha256": "b" * 64},
            },
            "profile": {"id": "supplier-saas", "title": "SaaS supplier", "why": "cloud hosted"},
            "outcomes": [{"outcome": "A1.a", "title": "Governance", "status": "achieved",
                          "target": "achieved"}],
            "band": "B",
            "score": 81.5,
            "confidence": 72.0,
            "check_runs": [{"id": 5, "kind": "tls", "target": "vault.example:443",
                            "finished_at": "2026-11-29T08:00:00+00:00", "status": "succeeded",
                            "score": 90.0, "sha256": "c" * 64,
                            "certificate_not_after": "2028-01-01T00:00:00+00:00"}],
            "exceptions": [{"framework": "ptsbd", "outcome": "B2.c", "expires_on": "2027-06-01"}],
            "issued_at": ISSUED.isoformat(),
            "expires_at": EXPIRES.isoformat(),
            "expiry_reason": "validity",
        }
    ).wire()  # fmt: skip


def revocations(keys: AttestationKeys, entries: list[dict], issued: datetime = DURING) -> bytes:
    document = {
        "schema": "policetech-assure/passport-revocations/v1",
        "issuer_fingerprint": keys.fingerprint,
        "issued_at": issued.isoformat(),
        "next_update": (issued + timedelta(hours=24)).isoformat(),
        "entries": entries,
    }
    return seal("revocations", document, "passport-revocations", keys)


def check(keys: AttestationKeys, raw: bytes, listed: bytes | None = None, at: datetime = DURING):
    return verify_offline(
        raw, keys.public(), listed or revocations(keys, [], at), at, MAX, 16 * MAX
    )


def test_a_passport_verifies_offline_with_the_published_keys(keys: AttestationKeys) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    verdict = check(keys, raw)
    assert verdict.state == "valid", verdict.reasons
    assert verdict.passport is not None
    assert verdict.passport.product.name == "Evidence Vault"
    assert verdict.summary()["valid"] is True


def test_every_changed_byte_is_refused(keys: AttestationKeys) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    listed = revocations(keys, [])
    accepted = []
    for position in range(len(raw)):
        changed = bytearray(raw)
        changed[position] ^= 0x01
        if check(keys, bytes(changed), listed).valid:
            accepted.append(position)
    assert accepted == []


def test_a_stripped_or_swapped_signature_is_refused(
    keys: AttestationKeys, other_keys: AttestationKeys
) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    for algorithm in ("ed25519", "ml_dsa_65"):
        document = json.loads(raw)
        del document["signature"][algorithm]
        verdict = check(keys, canonical(document))
        assert verdict.state == "invalid"
        assert "not a hybrid signature bundle" in verdict.reasons[0]
    # One signature from the platform's keys, the other from an attacker's: both must hold.
    forged = json.loads(seal("passport", body(keys), "PP-00112233445566AA", other_keys))
    genuine = json.loads(raw)
    genuine["signature"]["ml_dsa_65"] = forged["signature"]["ml_dsa_65"]
    assert not check(keys, canonical(genuine)).valid


def test_a_passport_signed_with_other_keys_is_refused(
    keys: AttestationKeys, other_keys: AttestationKeys
) -> None:
    # The attacker names the platform as issuer and signs with keys of their own.
    raw = seal("passport", body(keys), "PP-00112233445566AA", other_keys)
    verdict = check(keys, raw)
    assert verdict.state == "invalid"
    assert "not the platform's published keys" in verdict.reasons[0]


def test_non_canonical_base64_of_the_same_signature_is_refused(keys: AttestationKeys) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    document = json.loads(raw)
    text = document["signature"]["ed25519"]["signature"]  # 64 bytes: ends "==", 4 spare bits
    last = text[-3]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = alphabet[alphabet.index(last) ^ 1]
    respelt = text[:-3] + twin + text[-2:]
    assert base64.b64decode(respelt) == base64.b64decode(text)
    document["signature"]["ed25519"]["signature"] = respelt
    assert not check(keys, canonical(document)).valid


def test_dates_decide_before_issue_and_after_expiry(keys: AttestationKeys) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    assert check(keys, raw, at=ISSUED - timedelta(seconds=1)).state == "not yet valid"
    assert check(keys, raw, at=EXPIRES - timedelta(seconds=1)).state == "valid"
    after = check(keys, raw, at=EXPIRES)
    assert after.state == "expired"
    assert after.reasons == [f"expired at {EXPIRES.isoformat()}"]


@pytest.mark.parametrize("status", ["suspended", "revoked", "superseded"])
def test_a_listed_passport_is_refused(keys: AttestationKeys, status: str) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    entry = {"number": "PP-00112233445566AA", "status": status, "since": DURING.isoformat(),
             "reason": "contradicted"}  # fmt: skip
    other = dict(entry, number="PP-FFFFFFFFFFFFFFFF")
    assert check(keys, raw, revocations(keys, [other])).valid
    verdict = check(keys, raw, revocations(keys, [other, entry]))
    assert verdict.state == status
    assert not verdict.valid


def test_a_stale_forged_or_future_revocation_list_is_refused(
    keys: AttestationKeys, other_keys: AttestationKeys
) -> None:
    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    stale = revocations(keys, [], DURING - timedelta(hours=25))
    assert "out of date" in check(keys, raw, stale).reasons[0]
    forged = revocations(other_keys, [])
    assert "not the platform's published keys" in check(keys, raw, forged).reasons[0]
    future = revocations(keys, [], DURING + timedelta(hours=1))
    assert "issued after" in check(keys, raw, future).reasons[0]
    # A valid list is not a passport, nor a passport a list.
    assert not check(keys, revocations(keys, []), revocations(keys, [])).valid
    with pytest.raises(DocumentRefused):
        read_revocations(raw, keys.public(), DURING, MAX)


@pytest.mark.parametrize(
    "hostile",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"passport": NaN, "signature": {}}',
        b"\xff\xfe{}",
        b"",
        b"null",
        b'{"passport": {}, "signature": {}, "signature": {}}',
        b"x" * (MAX + 1),
    ],
    ids=["deep", "nan", "not-ascii", "empty", "null", "duplicate-keys", "oversized"],
)
def test_hostile_files_are_refused_with_a_reason(keys: AttestationKeys, hostile: bytes) -> None:
    verdict = check(keys, hostile)
    assert verdict.state == "invalid"
    assert verdict.reasons
    with pytest.raises(DocumentRefused):
        open_sealed(hostile, "passport", keys.public(), MAX)


def test_a_passport_with_a_field_it_should_not_have_is_refused(keys: AttestationKeys) -> None:
    stated = body(keys)
    stated["band"] = "A"
    stated["extra"] = "anything"
    raw = seal("passport", stated, "PP-00112233445566AA", keys)
    verdict = check(keys, raw)
    assert verdict.state == "invalid"
    assert "malformed" in verdict.reasons[0]


def test_keys_document_round_trips_and_refuses_a_wrong_fingerprint(
    keys: AttestationKeys, tmp_path: Path
) -> None:
    from pq_crypto.attestation import PublicKeys

    document = keys.public().document()
    assert PublicKeys.from_document(json.loads(json.dumps(document))) == keys.public()
    with pytest.raises(ValueError, match="fingerprint"):
        PublicKeys.from_document(dict(document, fingerprint="0" * 64))
    for broken in (None, [], {"scheme": "x"}, dict(document, ed25519=5)):
        with pytest.raises(ValueError, match="keys document"):
            PublicKeys.from_document(broken)


def test_the_published_file_schema_takes_every_passport_the_platform_signs(
    keys: AttestationKeys,
) -> None:
    from jsonschema import Draft202012Validator

    from posture.passport.document import passport_file_schema

    raw = seal("passport", body(keys), "PP-00112233445566AA", keys)
    schema = Draft202012Validator(passport_file_schema())
    assert list(schema.iter_errors(json.loads(raw))) == []
    stripped = json.loads(raw)
    del stripped["signature"]["ml_dsa_65"]
    assert not schema.is_valid(stripped)


def test_a_number_too_large_to_hold_is_refused_not_raised(keys: AttestationKeys) -> None:
    raw = b'{"passport":{"score":1e400},"signature":{}}'
    verdict = check(keys, raw)
    assert verdict.state == "invalid"
    assert "not canonical JSON" in verdict.reasons[0]


def test_a_signature_made_for_another_document_is_refused(keys: AttestationKeys) -> None:
    # Signed by the platform's keys over the same bytes, but named as the revocation list.
    raw = seal("passport", body(keys), "passport-revocations", keys)
    verdict = check(keys, raw)
    assert verdict.state == "invalid"
    assert "made for another document" in verdict.reasons[0]
