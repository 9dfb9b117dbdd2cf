"""What the host keys and host certificates read prove, and what they do not. Pure.

Only a key that signed the exchange hash is the server's: a server (or a man in the middle) can
put any key blob in its KEX reply, so a key whose signature does not verify is reported on its
own (SSH-017) and neither credited nor penalised by its size. A certificate is judged through
the certified key (when it signed) and its CA key (when the CA's signature over the certificate
verifies), each like a host key. A certificate a client would refuse earns nothing: not a host
certificate, a CA signature that fails or is SHA-1 (ssh-rsa, refused by OpenSSH 8.2 and later),
principals that do not name the host, or outside its validity window. Nothing it proves is
counted before every one of those is ruled out, so the caps are a second line, not the only one."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from checks.catalogue.ssh import SshHostCertificate, SshHostKey
from checks.findings import CheckFinding, finding
from checks.ssh.hostkeys import key_classification
from pq_crypto.catalogue import AlgorithmClass, Classification

SHA1_CA_SIGNATURE = "ssh-rsa"


@dataclass
class HostKeyVerdict:
    findings: list[CheckFinding] = field(default_factory=list)
    # The keys proven by a signature, by class: they feed the signature sub-score.
    classifications: list[Classification] = field(default_factory=list)
    verified: list[SshHostKey] = field(default_factory=list)
    unverified: list[SshHostKey] = field(default_factory=list)
    certificates: list[SshHostCertificate] = field(default_factory=list)
    caps: list[str] = field(default_factory=list)  # names of ssh_policy.yaml subscore_caps


@dataclass
class _Evidence:
    """Each certificate finding's evidence, by finding code."""

    by_code: dict[str, list[dict]] = field(default_factory=dict)

    def add(self, code: str, item: dict) -> None:
        self.by_code.setdefault(code, []).append(item)


def _weakness(key_type: str, bits: int | None) -> str | None:
    classification = key_classification(key_type, bits)
    if classification.algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN:
        return "broken"
    if (classification.classical_bits or 128) < 128:
        return "short"
    return None


def _sort(algorithm: str, key_type: str, bits: int | None, weak: list, short: list) -> None:
    """Put a proven key in SSH-007's list (broken) or SSH-008's (under 128-bit security)."""
    weakness = _weakness(key_type, bits)
    if weakness is not None:
        (weak if weakness == "broken" else short).append(
            {"algorithm": algorithm, "key": key_type, "bits": bits}
        )


def certificate_validity(cert: SshHostCertificate, now: datetime) -> str:
    """OpenSSH's rule: valid_after <= now < valid_before."""
    if cert.valid_after is not None and now < cert.valid_after:
        return "not yet valid"
    if cert.valid_before is not None and now >= cert.valid_before:
        return "expired"
    return "valid"


def names_host(principals: Sequence[str], host: str) -> bool | None:
    """Whether a host certificate's principals name the host the check was pointed at, as an
    OpenSSH client matches them (the name as given, lower case, `*` and `?` patterns); an
    address target matches an address principal. None: no principals, which OpenSSH accepts
    for any host."""
    if not principals:
        return None
    wanted = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(wanted)
    except ValueError:
        address = None
    for principal in principals:
        name = principal.lower().rstrip(".")
        if address is not None:
            try:
                if ipaddress.ip_address(name) == address:
                    return True
            except ValueError:
                pass
        if wanted and _pattern(name).fullmatch(wanted):
            return True
    return False


def _pattern(principal: str) -> re.Pattern[str]:
    """OpenSSH's match_pattern: `*` any run, `?` one character, everything else literal (no
    character classes, which fnmatch would read into a principal)."""
    literal = re.escape(principal).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(literal, re.DOTALL)


def _refusals(cert: SshHostCertificate, host: str, evidence: _Evidence) -> list[str]:
    """Why a client that trusts the CA would refuse this certificate (its validity window
    aside), each reason also put in its finding's evidence; an empty list: it would accept it."""
    reasons = []
    not_host = []
    if cert.cert_type != "host":
        not_host.append(f"a {cert.cert_type} certificate, not a host certificate")
    if not cert.ca_signature_verified:
        not_host.append(
            f"the CA's signature over the certificate ({cert.ca_signature_algorithm or 'none'}) "
            f"does not verify under the CA's {cert.ca_key_type or 'unread'} key"
        )
    if not_host:
        evidence.add("SSH-016", {"algorithm": cert.algorithm, "reasons": not_host})
        reasons += not_host
    ca = {"algorithm": cert.algorithm, "ca_key": cert.ca_key_type, "bits": cert.ca_key_bits}
    if cert.ca_signature_verified and cert.ca_signature_algorithm == SHA1_CA_SIGNATURE:
        why = "the CA signed it with ssh-rsa (SHA-1), which OpenSSH 8.2 and later refuse"
        evidence.add("SSH-015", ca | {"ca_signature": SHA1_CA_SIGNATURE, "reason": why})
        reasons.append(why)
    named = names_host(cert.principals, host)
    if named is False:
        evidence.add(
            "SSH-022",
            {"algorithm": cert.algorithm, "principals": list(cert.principals), "host": host},
        )
        reasons.append(f"its principals do not name {host}")
    elif named is None:
        evidence.add("SSH-023", {"algorithm": cert.algorithm, "host": host})
    return reasons


def _outside_validity(cert: SshHostCertificate, evidence: _Evidence) -> bool:
    """SSH-014 for a certificate outside its validity window, which clients refuse."""
    if cert.validity == "valid":
        return False
    evidence.add(
        "SSH-014",
        {
            "algorithm": cert.algorithm,
            "validity": cert.validity,
            "valid_after": cert.valid_after.isoformat() if cert.valid_after else None,
            "valid_before": cert.valid_before.isoformat() if cert.valid_before else None,
        },
    )
    return True


def _judge_ca(cert: SshHostCertificate, evidence: _Evidence) -> None:
    """SSH-015 for a broken CA key, SSH-021 for one under 128-bit security (what SSH-007 and
    SSH-008 are for a host key): only for a CA whose signature verified."""
    weakness = _weakness(cert.ca_key_type, cert.ca_key_bits)
    ca = {"algorithm": cert.algorithm, "ca_key": cert.ca_key_type, "bits": cert.ca_key_bits}
    if weakness == "broken":
        evidence.add("SSH-015", ca | {"ca_fingerprint": cert.ca_fingerprint})
    elif weakness == "short":
        evidence.add("SSH-021", ca | {"ca_fingerprint": cert.ca_fingerprint})


def judge_host_keys(
    keys: Sequence[SshHostKey],
    certificates: Sequence[SshHostCertificate],
    now: datetime,
    host: str = "",
) -> HostKeyVerdict:
    """`host`: the name (or address) the check was pointed at, which a host certificate's
    principals must name."""
    verdict = HostKeyVerdict()
    verdict.verified = [key for key in keys if key.signature_verified]
    verdict.unverified = [key for key in keys if not key.signature_verified]
    weak, short = [], []
    for key in verdict.verified:
        _sort(key.algorithm, key.key_type, key.key_bits, weak, short)
        verdict.classifications.append(key_classification(key.key_type, key.key_bits))
    unproven = [
        {"algorithm": k.algorithm, "fingerprint": k.fingerprint} for k in verdict.unverified
    ]
    evidence = _Evidence()
    refused = out_of_validity = False
    for cert in certificates:
        cert = cert.model_copy(update={"validity": certificate_validity(cert, now)})
        verdict.certificates.append(cert)
        if not cert.signature_verified:
            unproven.append({"algorithm": cert.algorithm, "fingerprint": cert.fingerprint})
            continue
        # The certified key signed the exchange: it is the server's key, weak or not.
        _sort(cert.algorithm, cert.key_type, cert.key_bits, weak, short)
        if cert.ca_signature_verified:
            _judge_ca(cert, evidence)
        reasons = _refusals(cert, host, evidence)
        outside = _outside_validity(cert, evidence)
        refused |= bool(reasons)
        out_of_validity |= outside
        if reasons or outside:
            continue
        # Accepted: only now do the certified key and its CA count.
        verdict.classifications.append(key_classification(cert.key_type, cert.key_bits))
        verdict.classifications.append(key_classification(cert.ca_key_type, cert.ca_key_bits))
    about = evidence.by_code.get  # the certificates each finding is about
    for code, items, key in (
        ("SSH-007", weak, "host_keys"),
        ("SSH-008", short, "host_keys"),
        ("SSH-017", unproven, "host_keys"),
        ("SSH-014", about("SSH-014"), "certificates"),
        ("SSH-015", about("SSH-015"), "certificates"),
        ("SSH-016", about("SSH-016"), "certificates"),
        ("SSH-021", about("SSH-021"), "certificates"),
        ("SSH-022", about("SSH-022"), "certificates"),
        ("SSH-023", about("SSH-023"), "certificates"),
    ):
        if items:
            verdict.findings.append(finding(code, **{key: items}))
    if unproven and not verdict.classifications:
        verdict.caps.append("no_verified_host_key")
    if out_of_validity:
        verdict.caps.append("host_certificate_out_of_validity")
    if refused:
        verdict.caps.append("host_certificate_refused")
    return verdict
