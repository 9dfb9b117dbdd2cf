"""The chain judgement (checks/tls/chain*.py) on what a hostile or careless server could send and
no well-behaved peer does: no certificate, huge and padded chains, unreadable parts, SANs that do
not parse, names that must not match, staples that are garbage, truncated, forged or early, and
trust bundles with junk in them. Pure: no network."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtensionOID

from checks.catalogue.tls_chain import OcspStaple
from checks.tls.chain import MAX_CHAIN, certificate_cap, chain_findings, judge_chain
from checks.tls.chain_names import leaf_names, name_matches
from checks.tls.chain_ocsp import judge_staple
from checks.tls.chain_store import MAX_ANCHORS, anchors_of, load_trust_anchors
from checks.tls.handshake import MAX_OCSP_BYTES, readable
from kernel.errors import ConfigError
from tests.peers import der_edits
from tests.peers import tls_chains as pki
from tests.peers.certificates import write_pem

NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def ca() -> pki.Pki:
    return pki.pki()


def _judge(chain, ca: pki.Pki, staple: bytes | None = None, name: str | None = "localhost"):
    trust = anchors_of([ca.root.certificate], "test")
    return judge_chain(chain, name, "127.0.0.1", staple, trust, NOW)


def test_no_certificate_at_all_is_unread_and_untrusted(ca: pki.Pki) -> None:
    chain = _judge([], ca)
    assert chain.trusted is False
    assert chain.trust_error == "no certificate was sent"
    assert {f.code for f in chain_findings(chain)} == {"TLS-CHAIN-009"}
    assert certificate_cap(chain, None) == 0


@pytest.mark.parametrize("position", [0, 1], ids=["leaf", "intermediate"])
def test_a_certificate_that_fails_only_when_read_is_unread_never_a_crash(
    ca: pki.Pki, position: int
) -> None:
    # Loads, then raises on `.subject` (invalid UTF-8 in a UTF8String). Handed to the judgement
    # unprobed, the boundary counts the chain unread instead of raising.
    sent = [ca.leaf.certificate, ca.intermediate.certificate]
    issuer = ca.intermediate if position == 0 else ca.root
    sent[position] = der_edits.with_unreadable_subject(
        ca.leaf if position == 0 else ca.intermediate, issuer
    )
    assert not readable(sent[position])
    chain = _judge(sent, ca, pki.staple(ca.leaf.certificate, ca.intermediate))
    assert (chain.trusted, chain.considered, chain.unreadable) == (False, 0, 2)
    assert "could not be judged" in chain.trust_error
    assert {f.code for f in chain_findings(chain)} == {"TLS-CHAIN-009", "TLS-CHAIN-005"}
    assert certificate_cap(chain, 50.0) == 0


def test_a_huge_chain_is_judged_on_its_first_certificates_only(ca: pki.Pki) -> None:
    padding = [pki.ca(f"Padding {i}").certificate for i in range(3)] * 20
    sent = [ca.leaf.certificate, ca.intermediate.certificate, *padding]
    chain = _judge(sent, ca, pki.staple(ca.leaf.certificate, ca.intermediate))
    assert chain.presented == 62
    assert chain.considered == MAX_CHAIN
    assert chain.truncated
    assert chain.trusted is True
    assert chain.duplicates == MAX_CHAIN - 2 - 3
    assert chain.unrelated == 3
    assert {f.code for f in chain_findings(chain)} == {"TLS-CHAIN-005"}


def test_unreadable_certificates_are_counted_and_reported(ca: pki.Pki) -> None:
    sent = [ca.leaf.certificate, ca.intermediate.certificate]
    trust = anchors_of([ca.root.certificate], "test")
    chain = judge_chain(sent, "localhost", "127.0.0.1", None, trust, NOW, unreadable=2)
    assert (chain.presented, chain.unreadable, chain.trusted) == (4, 2, True)
    assert "TLS-CHAIN-005" in {f.code for f in chain_findings(chain)}


def test_a_duplicated_intermediate_is_out_of_order(ca: pki.Pki) -> None:
    sent = [ca.leaf.certificate, ca.intermediate.certificate, ca.intermediate.certificate]
    chain = _judge(sent, ca)
    assert (chain.duplicates, chain.in_order, chain.trusted) == (1, False, True)


def test_a_root_sent_cross_signed_by_an_untrusted_older_root_is_complete(ca: pki.Pki) -> None:
    older = pki.ca("Older Root")  # not in the store
    bridge = pki.cross_signed(ca.root, older)
    chain = _judge([ca.leaf.certificate, ca.intermediate.certificate, bridge], ca)
    assert (chain.trusted, chain.complete, chain.in_order, chain.unrelated) == (True, True, True, 0)
    assert {f.code for f in chain_findings(chain)} == {"TLS-CHAIN-006"}
    # Untrusted now (at a moment past the leaf's validity), the path still reaches the anchor.
    later = judge_chain(
        [ca.leaf.certificate, ca.intermediate.certificate, bridge],
        "localhost",
        "127.0.0.1",
        None,
        anchors_of([ca.root.certificate], "test"),
        NOW + 200 * pki.DAY,
    )
    assert (later.trusted, later.complete) == (False, True)


def test_a_certificate_whose_san_does_not_parse_names_nothing(ca: pki.Pki) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(pki._name("localhost"))
        .issuer_name(pki._name("localhost"))
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - pki.DAY)
        .not_valid_after(NOW + pki.DAY)
        .add_extension(
            x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x05garb"),
            False,
        )
    )
    broken = builder.sign(key, hashes.SHA256())
    chain = _judge([broken], ca)
    assert leaf_names(broken) == []
    assert (chain.trusted, chain.name_matches) == (False, False)
    assert {"TLS-CHAIN-002", "TLS-CHAIN-003"} <= {f.code for f in chain_findings(chain)}


def test_the_common_name_is_never_read_as_a_name(ca: pki.Pki) -> None:
    no_san = pki.leaf(ca.intermediate, names=())
    assert no_san.certificate.subject.rfc4514_string().endswith("CN=no-names,O=Assure Test PKI")
    chain = _judge([no_san.certificate, ca.intermediate.certificate], ca, name="no-names")
    assert chain.name_matches is False
    assert chain.trusted is False  # no SAN: no client validates it for any name


@pytest.mark.parametrize(
    ("names", "host", "matches"),
    [
        (["*.example.test"], "a.example.test", True),
        (["*.example.test"], "A.Example.Test.", True),
        (["*.example.test"], "example.test", False),
        (["*.example.test"], "a.b.example.test", False),
        (["*.test"], "example.test", False),
        (["f*.example.test"], "foo.example.test", False),
        (["xn--bcher-kva.example"], "bücher.example", True),
        (["127.0.0.1"], None, False),  # an address written as a DNS name is no IP SAN
        (["portal.example"], "portal.example\x00.evil.test", False),
        # Wildcards over a public suffix: every force, every UK company, every department.
        (["*.police.uk"], "met.police.uk", False),
        (["*.co.uk"], "supplier.co.uk", False),
        (["*.gov.uk"], "portal.gov.uk", False),
        (["*.nhs.uk"], "trust.nhs.uk", False),
        (["*.supplier.co.uk"], "api.supplier.co.uk", True),
        (["*.met.police.uk"], "api.met.police.uk", True),
        (["*.supplier.uk"], "api.supplier.uk", True),  # `supplier` is no generic second level
    ],
)
def test_names_match_as_browsers_match_them(names, host, matches) -> None:
    assert name_matches(names, host, "127.0.0.1") is matches


def test_an_ip_san_matches_the_address_only() -> None:
    assert name_matches([ipaddress.ip_address("::1")], None, "::1")
    assert not name_matches([ipaddress.ip_address("127.0.0.2")], None, "127.0.0.1")


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00",
        b"\x30" * 5000,
        b"\x30\x03\x0a\x01\x00",  # a SEQUENCE that ends early
        b"A" * (MAX_OCSP_BYTES + 1),
        ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER).public_bytes(
            serialization.Encoding.DER
        ),
    ],
    ids=["one-byte", "nested", "truncated", "oversized", "try-later"],
)
def test_hostile_staples_are_malformed_never_a_crash(ca: pki.Pki, raw: bytes) -> None:
    verdict = judge_staple(raw, ca.leaf.certificate, ca.intermediate.certificate, NOW)
    assert verdict.status is OcspStaple.MALFORMED


def test_a_truncated_real_staple_is_malformed(ca: pki.Pki) -> None:
    raw = pki.staple(ca.leaf.certificate, ca.intermediate)
    verdict = judge_staple(
        raw[: len(raw) // 2], ca.leaf.certificate, ca.intermediate.certificate, NOW
    )
    assert verdict.status is OcspStaple.MALFORMED


def test_a_staple_whose_issuer_is_unknown_is_not_credited(ca: pki.Pki) -> None:
    raw = pki.staple(ca.leaf.certificate, ca.intermediate)
    assert judge_staple(raw, ca.leaf.certificate, None, NOW).status is OcspStaple.UNVERIFIED
    assert judge_staple(raw, ca.leaf.certificate, ca.intermediate.certificate, NOW).status is (
        OcspStaple.GOOD
    )


def test_a_delegated_responder_is_believed_only_with_the_ocsp_signing_usage(ca: pki.Pki) -> None:
    leaf, issuer = ca.leaf.certificate, ca.intermediate.certificate
    delegate = pki.responder(ca.intermediate)
    signed = pki.staple(leaf, ca.intermediate, signer=delegate)
    assert judge_staple(signed, leaf, issuer, NOW).status is OcspStaple.GOOD
    impostor = pki.responder(ca.intermediate, ocsp_signing=False)
    forged = pki.staple(leaf, ca.intermediate, signer=impostor)
    assert judge_staple(forged, leaf, issuer, NOW).status is OcspStaple.UNVERIFIED


def test_a_staple_from_the_future_is_out_of_window(ca: pki.Pki) -> None:
    raw = pki.staple(
        ca.leaf.certificate,
        ca.intermediate,
        this_update=NOW + pki.DAY,
        next_update=NOW + 5 * pki.DAY,
    )
    verdict = judge_staple(raw, ca.leaf.certificate, ca.intermediate.certificate, NOW)
    assert verdict.status is OcspStaple.OUT_OF_WINDOW
    assert "future" in verdict.detail


def test_a_bundle_with_an_unreadable_block_keeps_the_rest(ca: pki.Pki, tmp_path: Path) -> None:
    path = write_pem(tmp_path / "mixed.pem", ca.root.certificate)
    path.write_bytes(
        b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
        + path.read_bytes()
    )
    store = load_trust_anchors(path)
    assert (len(store.anchors), store.skipped) == (1, 1)
    assert store.holds(ca.root.certificate)


def _revoked(ca: pki.Pki, **window) -> bytes:
    return pki.staple(ca.leaf.certificate, ca.intermediate, ocsp.OCSPCertStatus.REVOKED, **window)


def _verdict(ca: pki.Pki, raw: bytes) -> OcspStaple:
    return judge_staple(raw, ca.leaf.certificate, ca.intermediate.certificate, NOW).status


@pytest.mark.parametrize("code", [7, 11, 127], ids=["unassigned-7", "past-the-list", "largest"])
def test_a_validly_signed_revocation_with_an_odd_reason_is_still_revoked(
    ca: pki.Pki, code: int
) -> None:
    raw = der_edits.with_reason_code(_revoked(ca), code, ca.intermediate)
    verdict = judge_staple(raw, ca.leaf.certificate, ca.intermediate.certificate, NOW)
    assert verdict.status is OcspStaple.REVOKED
    assert "a reason that does not parse" in verdict.detail
    # The same edit without the issuer's signature proves nothing.
    forged = der_edits.with_reason_code(_revoked(ca), code, pki.ca("Forger"))
    assert _verdict(ca, forged) is OcspStaple.UNVERIFIED


@pytest.mark.parametrize(
    "window",
    [
        {"this_update": NOW - 10 * pki.DAY, "next_update": NOW - 3 * pki.DAY},
        {"this_update": NOW + pki.DAY, "next_update": NOW + 5 * pki.DAY},
    ],
    ids=["stale", "early"],
)
def test_a_signed_revocation_out_of_its_window_is_still_revoked(ca: pki.Pki, window) -> None:
    verdict = judge_staple(
        _revoked(ca, **window), ca.leaf.certificate, ca.intermediate.certificate, NOW
    )
    assert verdict.status is OcspStaple.REVOKED
    assert "stale" in verdict.detail


def test_any_revoked_single_response_about_the_leaf_wins(ca: pki.Pki) -> None:
    good = pki.staple(ca.leaf.certificate, ca.intermediate)
    unknown = pki.staple(ca.leaf.certificate, ca.intermediate, ocsp.OCSPCertStatus.UNKNOWN)
    other = pki.staple(pki.leaf(ca.intermediate).certificate, ca.intermediate)
    revoked = _revoked(ca)
    assert (
        _verdict(ca, der_edits.with_singles(good, [revoked], ca.intermediate)) is OcspStaple.REVOKED
    )
    assert (
        _verdict(ca, der_edits.with_singles(revoked, [good], ca.intermediate)) is OcspStaple.REVOKED
    )
    assert (
        _verdict(ca, der_edits.with_singles(good, [unknown], ca.intermediate)) is OcspStaple.UNKNOWN
    )
    # A single response about another certificate says nothing about this one.
    assert _verdict(ca, der_edits.with_singles(other, [good], ca.intermediate)) is OcspStaple.GOOD
    assert _verdict(ca, der_edits.with_singles(good, [good], ca.intermediate)) is OcspStaple.GOOD


def test_an_expired_delegated_responder_is_not_believed(ca: pki.Pki) -> None:
    leaf, issuer = ca.leaf.certificate, ca.intermediate.certificate
    expired = pki.responder(ca.intermediate, not_after=NOW - pki.DAY)
    signed = pki.staple(leaf, ca.intermediate, signer=expired)
    assert judge_staple(signed, leaf, issuer, NOW).status is OcspStaple.UNVERIFIED
    current = pki.responder(ca.intermediate)
    signed = pki.staple(leaf, ca.intermediate, signer=current)
    assert judge_staple(signed, leaf, issuer, NOW).status is OcspStaple.GOOD


def test_a_bundle_over_the_anchor_limit_is_the_operators_to_fix(
    ca: pki.Pki, tmp_path: Path
) -> None:
    one = ca.root.certificate.public_bytes(serialization.Encoding.PEM)
    (tmp_path / "huge.pem").write_bytes(one * (MAX_ANCHORS + 3))
    with pytest.raises(ConfigError, match=r"holds 5003 certificates.*\(3 would be skipped\)"):
        load_trust_anchors(tmp_path / "huge.pem")
    (tmp_path / "full.pem").write_bytes(one * MAX_ANCHORS)
    assert len(load_trust_anchors(tmp_path / "full.pem").anchors) == MAX_ANCHORS
