"""Demo TLS reports written by the TLS check's own combine step over planted answers.

Each server profile says what a demo endpoint supports; `answer` plays that server to every probe
the real check plans (and to its follow-ups), so the report, its findings and its score are the
check's own, not hand-written shapes. No network is touched.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from checks.catalogue.tls import Safeguard, SuiteClass
from checks.egress import Target
from checks.readiness import assemble
from checks.report import CheckReport
from checks.tls.chain_store import anchors_of
from checks.tls.check import combine, plan, protocol_failure
from checks.tls.handshake import HandshakeResult
from checks.tls.policy import Judge, tls_clients
from checks.tls.probe_kinds import SafeguardProbe
from checks.tls.probes import ClientProbe, GroupProbe, Probe, SuiteProbe, VersionProbe
from checks.tls.safeguards import EMPTY_RENEGOTIATION_INFO, with_follow_ups
from checks.tls.suites import OFFERED
from checks.tls.wire import INAPPROPRIATE_FALLBACK, Outcome, ServerAnswer

HYBRID, X25519, P256 = 0x11EC, 0x001D, 0x0017
TLS13, TLS12, TLS11, TLS10 = 0x0304, 0x0303, 0x0302, 0x0301
HANDSHAKE_FAILURE, PROTOCOL_VERSION = 40, 70
ADDRESS = "192.0.2.10"  # documentation range (RFC 5737): the demo names no real host
CA_NAME = "Demo Police Supplier Issuing CA"
USAGES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


@dataclass(frozen=True)
class TlsServer:
    """What a demo endpoint supports, most preferred group first."""

    groups: tuple[int, ...]
    versions: frozenset[int] = frozenset({TLS13, TLS12})
    suites: frozenset[SuiteClass] = frozenset({SuiteClass.ECDHE})
    # True: the server's own order decides; False: the client's first supported group wins.
    server_order: bool = True
    unreachable: bool = False
    notes: tuple[str, ...] = field(default=())

    def pick(self, offered: tuple[int, ...]) -> int | None:
        ordered = self.groups if self.server_order else offered
        other = offered if self.server_order else self.groups
        return next((code for code in ordered if code in other), None)

    def answer(self, probe: Probe) -> ServerAnswer:
        if self.unreachable:
            return ServerAnswer(Outcome.UNREACHABLE, detail="connection refused")
        if isinstance(probe, ClientProbe):
            client = next(c for c in tls_clients() if c.id == probe.client)
            group = self.pick(client.codes)
            if group is None:
                return ServerAnswer(Outcome.ALERT, alert=HANDSHAKE_FAILURE)
            return ServerAnswer(Outcome.SERVER_HELLO, version=TLS13, selected_group=group)
        if isinstance(probe, VersionProbe):
            if probe.version in self.versions:
                return self._tls12_hello(probe.version, OFFERED[SuiteClass.ECDHE][0])
            return ServerAnswer(Outcome.ALERT, alert=PROTOCOL_VERSION)
        if isinstance(probe, SuiteProbe):
            if probe.suite_class in self.suites and TLS12 in self.versions:
                return self._tls12_hello(TLS12, OFFERED[probe.suite_class][0])
            return ServerAnswer(Outcome.ALERT, alert=HANDSHAKE_FAILURE)
        if isinstance(probe, GroupProbe):
            if probe.group in self.groups:
                return ServerAnswer(Outcome.SERVER_HELLO, version=TLS13, selected_group=probe.group)
            return ServerAnswer(Outcome.ALERT, alert=HANDSHAKE_FAILURE)
        if isinstance(probe, SafeguardProbe):
            if probe.safeguard is Safeguard.FALLBACK_SCSV:
                return ServerAnswer(Outcome.ALERT, alert=INAPPROPRIATE_FALLBACK)
            return self._tls12_hello(probe.version, probe.suite)
        return ServerAnswer(Outcome.ALERT, alert=HANDSHAKE_FAILURE)  # no DHE suite

    def _tls12_hello(self, version: int, suite: int) -> ServerAnswer:
        if version == TLS13:
            return ServerAnswer(
                Outcome.SERVER_HELLO, version=version, selected_group=self.groups[0]
            )
        return ServerAnswer(
            Outcome.SERVER_HELLO,
            version=version,
            cipher_suite=suite,
            renegotiation_info=EMPTY_RENEGOTIATION_INFO,
        )


SERVERS: dict[str, TlsServer] = {
    # Hybrid ML-KEM first whatever the client prefers: the target state.
    "pq-preferred": TlsServer(groups=(HYBRID, X25519, P256)),
    # Hybrid only for clients that ask for it first.
    "pq-follows-client": TlsServer(groups=(X25519, HYBRID, P256), server_order=False),
    # A current but classical configuration.
    "classical": TlsServer(groups=(X25519, P256)),
    # An old appliance: TLS 1.0 and 1.1 still on, RSA key transport and CBC suites accepted.
    "legacy": TlsServer(
        groups=(P256, X25519),
        versions=frozenset({TLS13, TLS12, TLS11, TLS10}),
        suites=frozenset({SuiteClass.ECDHE, SuiteClass.RSA_KEY_TRANSPORT, SuiteClass.CBC}),
    ),
    "unreachable": TlsServer(groups=(), unreachable=True),
}


def _certificate(
    subject: str,
    issuer: str,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    as_of: datetime,
    ca: bool,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(0x5EED + ca)
        .not_valid_before(as_of - timedelta(days=400 if ca else 200))
        .not_valid_after(as_of + timedelta(days=2000 if ca else 200))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if ca:
        usage = dict.fromkeys(USAGES, False) | {"key_cert_sign": True, "crl_sign": True}
    else:
        usage = dict.fromkeys(USAGES, False) | {"digital_signature": True}
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    return builder.sign(signer, hashes.SHA256())


def demo_chain(name: str, as_of: datetime) -> tuple[x509.Certificate, x509.Certificate]:
    """A P-256 leaf for `name` (a wildcard: one certificate serves every demo host in its
    domain) and the issuing CA the demo's trust store holds, from fixed keys, so the same seed
    gives the same certificate facts."""
    ca_key = ec.derive_private_key(0x5EED_C4EC_CA, ec.SECP256R1())
    leaf_key = ec.derive_private_key(0x5EED_C4EC_D3E0, ec.SECP256R1())
    ca = _certificate(CA_NAME, CA_NAME, ca_key, ca_key, as_of, ca=True)
    return _certificate(name, CA_NAME, leaf_key, ca_key, as_of, ca=False), ca


def tls_report(variant: str, host: str, moment: datetime) -> CheckReport:
    """The report the TLS check writes for `host` playing `variant`, as of `moment`; its
    certificate is the wildcard of the host's parent domain."""
    server = SERVERS[variant]
    target = Target(host, 443, ADDRESS, socket.AF_INET)
    answers = {probe: server.answer(probe) for probe in plan()}
    if protocol_failure(answers) is None:
        answers = with_follow_ups(answers, lambda more: {p: server.answer(p) for p in more})
    leaf, issuer = demo_chain("*." + host.split(".", 1)[1], moment)
    # The check's full handshake offers the classical-first client's groups.
    full = next(c for c in tls_clients() if c.judge is Judge.CLASSICAL_FIRST)
    handshake = (
        HandshakeResult(False)
        if server.unreachable
        else HandshakeResult(
            True,
            _group_name(server.pick(full.codes)),
            "TLSv1.3",
            "TLS_AES_256_GCM_SHA384",
            chain=[leaf, issuer],
        )
    )
    trust = anchors_of([issuer], "demo-trust.pem")
    findings, subscores, result = combine(target, answers, handshake, moment, trust)
    report = assemble(
        "tls", target.label, moment, findings, subscores, result.as_details(), moment.date()
    )
    return report.model_copy(update={"finished_at": moment.astimezone(UTC)})


def _group_name(code: int | None) -> str | None:
    return {HYBRID: "X25519MLKEM768", X25519: "X25519", P256: "secp256r1"}.get(code or 0)
