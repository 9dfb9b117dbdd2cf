"""The certificate chain a TLS server presents, as the TLS check records it: whether it chains to
the trust store, whether it names the host, its order, and the OCSP response stapled to it.
Not a kind of check; a part of the TLS result kept in its own module (checks/tls/chain.py
decides it)."""

from __future__ import annotations

from enum import StrEnum

from checks.catalogue import ResultPart
from checks.catalogue.certificate_seen import IsoTime


class OcspStaple(StrEnum):
    """What the OCSP response the server stapled (status_request was always sent) says."""

    ABSENT = "absent"  # none stapled
    GOOD = "good"  # for this leaf, signed by its issuer (or its delegate), current, good
    REVOKED = "revoked"
    UNKNOWN = "unknown"  # the responder does not know the certificate
    MALFORMED = "malformed"  # not an OCSP response, too large, or an unsuccessful one
    OTHER_CERTIFICATE = "other-certificate"  # about some other certificate
    OUT_OF_WINDOW = "out-of-window"  # thisUpdate in the future, or past its nextUpdate
    UNVERIFIED = "unverified"  # its signature is not the leaf's issuer's (or delegate's)


class TlsChain(ResultPart):
    """The chain the full handshake got, judged against a trust store at one moment."""

    presented: int  # certificates the server sent (readable or not)
    considered: int  # the first MAX_CHAIN (checks/tls/chain.py) of the readable ones
    unreadable: int = 0  # sent but not readable as X.509; left out of everything below
    trust_store: str = ""  # the PEM bundle judged against
    # Chains from the leaf to an anchor of the store, valid now, for the leaf's own names: the
    # name the check connected with is judged apart, in `name_matches`.
    trusted: bool = False
    trust_error: str = ""  # why not, as the path validation said it
    path: tuple[str, ...] = ()  # the validated path, leaf first, anchor last (subjects)
    server_name: str | None = None  # the SNI name; None when the target was an address
    name_matches: bool = False  # a subjectAltName (never the CN) covers the name or address
    names: tuple[str, ...] = ()  # the leaf's DNS and IP subjectAltNames (the first 50)
    self_signed_leaf: bool = False
    # Each certificate on the leaf's path was sent right after the one it issued.
    in_order: bool = False
    # The leaf's path ends at a self-signed certificate or one an anchor issued, using only what
    # was sent: else the server leaves out an intermediate (clients that do not fetch it fail).
    complete: bool = False
    missing_issuer: str = ""  # the issuer nobody sent, when incomplete
    duplicates: int = 0  # certificates sent more than once
    unrelated: int = 0  # distinct certificates not on the leaf's path
    ocsp: OcspStaple = OcspStaple.ABSENT
    ocsp_detail: str = ""
    ocsp_this_update: IsoTime | None = None
    ocsp_next_update: IsoTime | None = None
    ocsp_responder_named: bool = False  # the leaf's AIA names an OCSP responder

    @property
    def truncated(self) -> bool:
        return self.presented - self.unreadable > self.considered
