"""The shipped proxy's TLS settings, served on loopback by OpenSSL 4 (pyOpenSSL) exactly as
nginx applies them, and graded by the whole `assure check tls` command.

nginx hands its TLS directives to OpenSSL nearly verbatim: `ssl_ecdh_curve` to
SSL_CTX_set1_curves_list, `ssl_ciphers` to SSL_CTX_set_cipher_list (TLS 1.2 and below; TLS 1.3
suites stay OpenSSL's defaults), `ssl_protocols` to the version bounds,
`ssl_prefer_server_ciphers on` to SSL_OP_CIPHER_SERVER_PREFERENCE and `ssl_session_tickets off`
to SSL_OP_NO_TICKET. This module does the same with the same strings. A TLS directive it does
not model stops the test (UnmodelledTls) rather than being served as if it were absent."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL
from OpenSSL._util import lib as _openssl

from tests.deploy.nginx_conf import Directive, parse, walk
from tests.peers import servers, tls_chains

# What the tests model, each to be given once at the level the file is included at (http).
MODELLED = {
    "ssl_protocols",
    "ssl_ecdh_curve",
    "ssl_ciphers",
    "ssl_prefer_server_ciphers",
    "ssl_session_tickets",
}
# TLS directives that do not change what a client can negotiate: certificates (the tests serve
# their own, from a test CA), the session cache, and refusing a handshake for unknown names.
NOT_NEGOTIATED = {"ssl_certificate", "ssl_certificate_key", "ssl_session_cache"}
NOT_NEGOTIATED |= {"ssl_session_timeout", "ssl_reject_handshake"}
VERSIONS = {
    "TLSv1": SSL.TLS1_VERSION,
    "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION,
    "TLSv1.3": SSL.TLS1_3_VERSION,
}
VERSION_OFF = {
    "TLSv1": SSL.OP_NO_TLSv1,
    "TLSv1.1": SSL.OP_NO_TLSv1_1,
    "TLSv1.2": SSL.OP_NO_TLSv1_2,
    "TLSv1.3": SSL.OP_NO_TLSv1_3,
}


class UnmodelledTls(ValueError):
    """The configuration sets TLS in a way these tests cannot serve faithfully."""


@dataclass(frozen=True)
class ProxyTls:
    protocols: tuple[str, ...]
    groups: str
    ciphers: str
    prefer_server_ciphers: bool
    session_tickets: bool

    @classmethod
    def from_config(cls, directives: tuple[Directive, ...]) -> ProxyTls:
        found: dict[str, tuple[str, ...]] = {}
        for directive, depth in walk(directives):
            name = directive.name
            if not name.startswith("ssl_") or name in NOT_NEGOTIATED:
                continue
            if name not in MODELLED:
                raise UnmodelledTls(f"line {directive.line}: {name} is not modelled by the test")
            if depth:
                raise UnmodelledTls(f"line {directive.line}: {name} belongs at http level only")
            if name in found:
                raise UnmodelledTls(f"line {directive.line}: {name} is given twice")
            found[name] = directive.args
        missing = MODELLED - set(found)
        if missing:
            raise UnmodelledTls(f"the configuration must say {', '.join(sorted(missing))}")
        for name in ("ssl_ecdh_curve", "ssl_ciphers", "ssl_prefer_server_ciphers"):
            if len(found[name]) != 1:
                raise UnmodelledTls(f"{name} takes one argument")
        unknown = set(found["ssl_protocols"]) - set(VERSIONS)
        if unknown or not found["ssl_protocols"]:
            raise UnmodelledTls(f"ssl_protocols: {sorted(unknown)} cannot be served")
        return cls(
            protocols=found["ssl_protocols"],
            groups=found["ssl_ecdh_curve"][0],
            ciphers=found["ssl_ciphers"][0],
            prefer_server_ciphers=_on_off(found["ssl_prefer_server_ciphers"]),
            session_tickets=_on_off(found["ssl_session_tickets"]),
        )

    def context(self) -> SSL.Context:
        """An OpenSSL 4 server context set up as nginx sets up its own from these directives."""
        context = SSL.Context(SSL.TLS_SERVER_METHOD)
        numbers = sorted(VERSIONS[p] for p in self.protocols)
        context.set_min_proto_version(numbers[0])
        context.set_max_proto_version(numbers[-1])
        for name, off in VERSION_OFF.items():  # a gap inside the range, as nginx leaves one
            if name not in self.protocols and numbers[0] < VERSIONS[name] < numbers[-1]:
                context.set_options(off)
        # "auto" is nginx's own default: OpenSSL's list, untouched.
        groups = self.groups.encode()
        if groups != b"auto" and _openssl.SSL_CTX_set1_curves_list(context._context, groups) != 1:
            raise UnmodelledTls(f"OpenSSL refuses the groups {self.groups!r}")
        # nginx's OpenSSL 3.5 serves at security level 1 (Debian's configuration: 2), where a
        # suite without forward secrecy is still accepted; the cryptography wheel's OpenSSL 4
        # refuses TLS_RSA_* at its own default, so a weak suite in the file would go unserved
        # and unseen. The level is put back to 3.5's first; a @SECLEVEL of the file's comes
        # after it and wins.
        context.set_cipher_list(b"@SECLEVEL=1:" + self.ciphers.encode())
        if self.prefer_server_ciphers:
            context.set_options(SSL.OP_CIPHER_SERVER_PREFERENCE)
        if not self.session_tickets:
            context.set_options(SSL.OP_NO_TICKET)
        return context


def _on_off(args: tuple[str, ...]) -> bool:
    if args not in (("on",), ("off",)):
        raise UnmodelledTls(f"expected on or off, not {' '.join(args)}")
    return args == ("on",)


def _rsa_leaf(issuer: tls_chains.Issued) -> tls_chains.Issued:
    """An RSA server certificate from the test CA beside the ECDSA one, so RSA suites in
    `ssl_ciphers` can be negotiated too: a weak one cannot hide behind an ECDSA certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
        .add_extension(x509.SubjectAlternativeName(names), False)
        .sign(issuer.key, hashes.SHA256())
    )
    return tls_chains.Issued(certificate, key)


@contextlib.contextmanager
def serving(tls: ProxyTls, folder: Path) -> Iterator[tuple[int, Path]]:
    """The settings on 127.0.0.1 with an ECDSA and an RSA certificate from a test CA (no OCSP
    address: the shipped configuration staples nothing). Yields (port, the CA's bundle)."""
    pki = tls_chains.pki()
    ecdsa = tls_chains.leaf(pki.intermediate, ocsp_url=None)
    context = tls.context()
    for served in (_rsa_leaf(pki.intermediate), ecdsa):
        context.use_certificate(served.certificate)
        context.use_privatekey(served.key)
    context.add_extra_chain_cert(pki.intermediate.certificate)
    with servers.serving(servers.handshaking(context)) as server:
        yield server.port, pki.bundle(folder)


def check_tls(port: int, trust: Path, data_dir: Path) -> dict[str, Any]:
    """`assure check tls localhost:PORT --json` as an operator runs it, trusting the test CA
    and allowed to reach loopback; the parsed report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSURE_")}
    env |= {
        "ASSURE_DATA_DIR": str(data_dir),
        "ASSURE_EGRESS_ALLOW": "127.0.0.1/32",
        "ASSURE_TLS_TRUST_STORE": str(trust),
    }
    command = [sys.executable, "-m", "assure_cli.main", "check", "tls", f"localhost:{port}"]
    done = subprocess.run(
        [*command, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"assure check tls exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def grade(config_text: str, folder: Path) -> dict[str, Any]:
    """Serve the TLS settings of `config_text` and return the check's report on them."""
    tls = ProxyTls.from_config(parse(config_text))
    with serving(tls, folder) as (port, trust):
        return check_tls(port, trust, folder / "data")
