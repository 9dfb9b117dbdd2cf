"""Judge the certificate chain a TLS server presents: does it chain to the trust store, does it
name the host, is it self-signed, is it complete and in order, and what does its stapled OCSP
response say. Pure: the chain, the name, the staple, the trust store and a moment in; a TlsChain,
its findings and its cap on the certificate sub-score out.

Trust and name are decided apart, so a chain nobody trusts that names the host and a trusted
chain for another host read differently: trust is validated for one of the leaf's own names,
and the name the check connected with is matched against the subjectAltNames (never the CN, as
browsers have not read it since 2017). Everything is the server's, so nothing here raises on
what it sent: an unreadable part proves nothing and is credited nothing, and `judge_chain` is a
boundary: whatever the server's bytes make fail inside it becomes an unread chain (a finding
and no credit), never an exception that would lose the whole run.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID
from cryptography.x509.verification import (
    DNSName,
    IPAddress,
    PolicyBuilder,
    VerificationError,
)

from checks.catalogue.tls_chain import OcspStaple, TlsChain
from checks.findings import CheckFinding, finding
from checks.readiness import readiness_policy
from checks.tls.chain_names import leaf_names, name_matches, trust_subject
from checks.tls.chain_ocsp import ERRORS, StapleVerdict, judge_staple
from checks.tls.chain_store import TrustAnchors
from checks.tls.handshake import HandshakeResult

# Certificates of one chain looked at: real chains are 2-4 long; a longer one is judged on its
# first ten (path building tries every pair, so this bounds the work a hostile chain costs).
MAX_CHAIN = 10
STAPLE_PROBLEMS = {
    OcspStaple.MALFORMED,
    OcspStaple.OTHER_CERTIFICATE,
    OcspStaple.OUT_OF_WINDOW,
    OcspStaple.UNVERIFIED,
    OcspStaple.UNKNOWN,
}


def issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """`parent` names `child`'s issuer and its key verifies `child`'s signature."""
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except ERRORS:
        return False
    return True


def self_signed(certificate: x509.Certificate) -> bool:
    return issued(certificate, certificate)


def _distinct(chain: list[x509.Certificate]) -> tuple[list[x509.Certificate], int]:
    seen: list[x509.Certificate] = []
    for certificate in chain:
        if certificate not in seen:
            seen.append(certificate)
    return seen, len(chain) - len(seen)


def _path(distinct: list[x509.Certificate]) -> list[int]:
    """Positions (in what was sent, duplicates dropped) of the leaf's issuers, leaf first."""
    path = [0]
    while not self_signed(distinct[path[-1]]):
        current = distinct[path[-1]]
        following = next(
            (i for i, c in enumerate(distinct) if i not in path and issued(current, c)), None
        )
        if following is None:
            break
        path.append(following)
    return path


def _text(name: x509.Name) -> str:
    try:
        return name.rfc4514_string()[:300]
    except ERRORS:
        return "(a name that cannot be written out)"


def _anchor_issuer(certificate: x509.Certificate, trust: TrustAnchors) -> x509.Certificate | None:
    return next((a for a in trust.named(certificate.issuer) if issued(certificate, a)), None)


def _validate(
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    subject: DNSName | IPAddress | None,
    trust: TrustAnchors,
    now: datetime,
) -> tuple[bool, str, tuple[str, ...]]:
    if subject is None:
        return False, "the leaf names no DNS name or IP address (subjectAltName)", ()
    try:
        builder = PolicyBuilder().store(trust.store).time(now).max_chain_depth(MAX_CHAIN)
        verified = builder.build_server_verifier(subject).verify(leaf, intermediates)
    except VerificationError as exc:
        return False, str(exc)[:500], ()
    except ERRORS as exc:
        return False, f"the chain could not be validated: {exc}"[:500], ()
    return True, "", tuple(_text(c.subject) for c in verified)


def _names_responder(leaf: x509.Certificate) -> bool:
    try:
        access = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (*ERRORS, x509.ExtensionNotFound):
        return False
    return any(d.access_method == AuthorityInformationAccessOID.OCSP for d in access)


def judge_chain(
    chain: list[x509.Certificate],
    server_name: str | None,
    address: str,
    staple: bytes | None,
    trust: TrustAnchors,
    now: datetime,
    unreadable: int = 0,
    staple_error: str = "",
) -> TlsChain:
    """`chain` as sent, leaf first; `server_name` the SNI name, or None when the check was given
    an address (then `address` is matched against the IP subjectAltNames); `staple_error` why
    a handshake that asked for a staple failed when one that did not completed."""
    presented = len(chain) + unreadable
    considered = chain[:MAX_CHAIN]
    base = TlsChain(
        presented=presented,
        considered=len(considered),
        unreadable=unreadable,
        trust_store=trust.source,
        server_name=server_name,
    )
    if not considered:
        why = "the leaf certificate does not parse" if unreadable else "no certificate was sent"
        return base.model_copy(update={"trust_error": why})
    try:
        return _judged(base, considered, server_name, address, staple, trust, now, staple_error)
    except Exception as exc:  # the boundary (see the module docstring): nothing escapes it
        # Something of the server's did not parse after all: count the chain unread, so it is
        # reported (TLS-CHAIN-009, -005) and, untrusted, credited nothing.
        reason = f"the chain could not be judged: {type(exc).__name__}: {exc}"[:500]
        return base.model_copy(
            update={"considered": 0, "unreadable": presented, "trust_error": reason}
        )


def _staple(
    staple: bytes | None,
    leaf: x509.Certificate,
    issuer: x509.Certificate | None,
    now: datetime,
    staple_error: str,
) -> StapleVerdict:
    if staple_error:
        return StapleVerdict(
            OcspStaple.MALFORMED, f"asking for it ended the handshake: {staple_error}"[:300]
        )
    try:
        return judge_staple(staple, leaf, issuer, now)
    except Exception as exc:  # a staple that does not parse is malformed, no more
        return StapleVerdict(OcspStaple.MALFORMED, f"it does not parse: {exc}"[:300])


def _judged(
    base: TlsChain,
    considered: list[x509.Certificate],
    server_name: str | None,
    address: str,
    staple: bytes | None,
    trust: TrustAnchors,
    now: datetime,
    staple_error: str,
) -> TlsChain:
    leaf = considered[0]
    distinct, duplicates = _distinct(considered)
    path = _path(distinct)
    last = distinct[path[-1]]
    names = leaf_names(leaf)
    matches = name_matches(names, server_name, address)
    subject = trust_subject(names, server_name, address, matches)
    trusted, error, verified = _validate(leaf, considered[1:], subject, trust, now)
    # A validated path used only what was sent and the anchors, so it proves completeness; else
    # the path from the leaf must reach a root, an anchor, or a certificate an anchor issued.
    complete = (
        trusted
        or self_signed(last)
        or any(trust.holds(distinct[i]) for i in path)
        or _anchor_issuer(last, trust) is not None
    )
    issuer = distinct[path[1]] if len(path) > 1 else _anchor_issuer(leaf, trust)
    staple_verdict = _staple(staple, leaf, issuer, now, staple_error)
    return base.model_copy(
        update={
            "trusted": trusted,
            "trust_error": error,
            "path": verified,
            "name_matches": matches,
            "names": tuple(str(n) for n in names)[:50],
            "self_signed_leaf": self_signed(leaf),
            "in_order": path == list(range(len(path))) and duplicates == 0,
            "complete": complete,
            "missing_issuer": "" if complete else _text(last.issuer),
            "duplicates": duplicates,
            "unrelated": len(distinct) - len(path),
            "ocsp": staple_verdict.status,
            "ocsp_detail": staple_verdict.detail,
            "ocsp_this_update": staple_verdict.this_update,
            "ocsp_next_update": staple_verdict.next_update,
            "ocsp_responder_named": _names_responder(leaf),
        }
    )


def unread_finding(reason: str, presented: int, unreadable: int) -> CheckFinding:
    """TLS-CHAIN-009: no leaf certificate could be read, so nothing about it was judged."""
    return finding("TLS-CHAIN-009", reason=reason, presented=presented, unreadable=unreadable)


def chain_findings(chain: TlsChain) -> list[CheckFinding]:
    """One finding per fault. A self-signed leaf nobody trusts is TLS-CHAIN-003 instead of
    TLS-CHAIN-001: the same failure, with a more specific fix (get a CA to issue it); one the
    operator's store holds as an anchor (an internal service pinned on purpose) is no fault."""
    evidence = {"trust_store": chain.trust_store, "presented": chain.presented}
    found = []
    if not chain.considered:
        # No leaf was read: trust, name and order were never judged, so none is claimed.
        found.append(unread_finding(chain.trust_error, chain.presented, chain.unreadable))
    elif not chain.trusted and chain.self_signed_leaf:
        found.append(finding("TLS-CHAIN-003", reason=chain.trust_error, **evidence))
    elif not chain.trusted:
        found.append(finding("TLS-CHAIN-001", reason=chain.trust_error, **evidence))
    if not chain.name_matches and chain.considered:
        found.append(
            finding("TLS-CHAIN-002", server_name=chain.server_name, names=list(chain.names))
        )
    if chain.considered and not chain.complete and not chain.self_signed_leaf:
        found.append(finding("TLS-CHAIN-004", missing_issuer=chain.missing_issuer, **evidence))
    if chain.unreadable or (
        chain.considered and (not chain.in_order or chain.unrelated or chain.truncated)
    ):
        found.append(
            finding(
                "TLS-CHAIN-005",
                in_order=chain.in_order,
                duplicates=chain.duplicates,
                unrelated=chain.unrelated,
                unreadable=chain.unreadable,
                considered=chain.considered,
                **evidence,
            )
        )
    if chain.ocsp is OcspStaple.ABSENT and chain.ocsp_responder_named:
        found.append(finding("TLS-CHAIN-006"))
    elif chain.ocsp is OcspStaple.REVOKED:
        found.append(finding("TLS-CHAIN-007", detail=chain.ocsp_detail))
    elif chain.ocsp in STAPLE_PROBLEMS:
        found.append(finding("TLS-CHAIN-008", staple=chain.ocsp.value, detail=chain.ocsp_detail))
    return found


def certificate_cap(chain: TlsChain, score: float | None) -> float | None:
    """The certificate sub-score measures how well the certificate authenticates the server.
    One that does not chain to a trusted anchor, names another host, or is stapled as revoked
    authenticates no one: a client that accepts it accepts an attacker's as readily, whatever
    its algorithms. So it scores as a broken signature does (CERT-003) and an expired
    certificate does (CERT-001): the policy's `broken` value. Order and staple faults leave
    authentication intact and cap nothing."""
    fails = not chain.trusted or not chain.name_matches or chain.ocsp is OcspStaple.REVOKED
    if not fails:
        return score
    floor = float(readiness_policy().signatures.broken)
    return floor if score is None else min(score, floor)


def server_name_of(host: str, address: str) -> str | None:
    """The name the check sent as SNI: None when it was given an address."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None if host == address else host
    return None


def presented_chain(
    host: str,
    address: str,
    handshake: HandshakeResult,
    trust: TrustAnchors | None,
    now: datetime,
) -> TlsChain | None:
    """The TLS check's chain part: None only for a caller that gave no trust store. A failed
    handshake is judged on what the server sent before it failed; with nothing readable, the
    chain is reported unread (and the certificate part credited nothing)."""
    if trust is None:
        return None
    chain = judge_chain(
        handshake.chain,
        server_name_of(host, address),
        address,
        handshake.ocsp_staple,
        trust,
        now,
        handshake.unreadable_certificates,
        handshake.staple_error,
    )
    if not chain.considered and not handshake.ok and not chain.presented:
        reason = f"the handshake failed before any certificate arrived: {handshake.error}"
        chain = chain.model_copy(update={"trust_error": reason[:500]})
    return chain
