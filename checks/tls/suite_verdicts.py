"""From the probes' answers to what the server accepts in TLS 1.2, class by class, pure. Any
ServerHello counts as evidence, whatever the probe asked: a version probe that got
TLS_RSA_WITH_AES_128_GCM_SHA256 proves RSA key transport as well as the class's own probe; so
the class's probe is not sent once such an answer is in hand (checks/tls/implied.py)."""

from __future__ import annotations

from checks.catalogue.tls import SuiteClass, Support, TlsSuiteClass
from checks.findings import CheckFinding, finding
from checks.tls.implied import noted, proving
from checks.tls.probes import Probe, SuiteProbe
from checks.tls.suites import OFFERED, TLS13_AEAD, suite_name, weak_family
from checks.tls.wire import TLS_VERSIONS, UNPROVEN, Outcome, ServerAnswer

PICKED = (Outcome.HELLO_RETRY, Outcome.SERVER_HELLO)


def _tls12_or_older(answer: ServerAnswer) -> bool:
    return (
        answer.outcome is Outcome.SERVER_HELLO
        and answer.cipher_suite is not None
        and (answer.version or 0) <= 0x0303
    )


def suite_verdicts(answers: dict[Probe, ServerAnswer]) -> list[TlsSuiteClass]:
    accepted = [a for a in answers.values() if _tls12_or_older(a)]
    verdicts = []
    for suite_class, offered in OFFERED.items():
        asked = answers.get(SuiteProbe(suite_class))
        if asked is None:
            continue
        own = proving(answers, asked)
        proof = next(
            (a for a in [own, *accepted] if _tls12_or_older(a) and a.cipher_suite in offered),
            None,
        )
        if proof is not None:
            code = proof.cipher_suite or 0
            verdicts.append(
                TlsSuiteClass(
                    suite_class=suite_class,
                    support=Support.SUPPORTED,
                    suite=suite_name(code),
                    family=weak_family(code),
                    protocol=TLS_VERSIONS.get(proof.version or 0),
                    answer=noted(asked, proof.outcome.value),
                )
            )
            continue
        if own.outcome in UNPROVEN:
            support, said = Support.INCONCLUSIVE, f"inconclusive: {own.outcome.value} {own.detail}"
        elif own.outcome is Outcome.SERVER_HELLO and own.cipher_suite is not None:
            # It picked a suite it was not offered: no evidence it accepts this class.
            support, said = Support.NOT_SUPPORTED, f"picked {suite_name(own.cipher_suite)} instead"
        else:
            alert = f" {own.alert}" if own.alert is not None else ""
            support, said = Support.NOT_SUPPORTED, f"{own.outcome.value}{alert}"
        verdicts.append(
            TlsSuiteClass(
                suite_class=suite_class, support=support, answer=noted(asked, said.strip())
            )
        )
    return verdicts


def forward_secrecy(verdicts: list[TlsSuiteClass]) -> bool | None:
    """ECDHE or DHE accepted in TLS 1.2; None when that cannot be told (an inconclusive answer,
    or no TLS 1.2 suite of any class accepted: TLS 1.2 is then not spoken at all)."""
    by_class = {v.suite_class: v.support for v in verdicts}
    fs = [by_class.get(SuiteClass.ECDHE), by_class.get(SuiteClass.DHE)]
    if Support.SUPPORTED in fs:
        return True
    if Support.INCONCLUSIVE in fs or not any(v.support is Support.SUPPORTED for v in verdicts):
        return None
    return False


def tls13_aead(answers: dict[Probe, ServerAnswer]) -> bool | None:
    """Every TLS 1.3 suite is AEAD (RFC 8446 B.4): checked on what the server picked."""
    picked = [
        a.cipher_suite
        for a in answers.values()
        if a.outcome in PICKED and a.version == 0x0304 and a.cipher_suite is not None
    ]
    return all(code in TLS13_AEAD for code in picked) if picked else None


def suite_findings(verdicts: list[TlsSuiteClass], pq_groups: list[str]) -> list[CheckFinding]:
    """`pq_groups`: the hybrid or quantum-safe groups the server was seen to accept (TLS 1.3)."""
    accepted = {v.suite_class: v for v in verdicts if v.support is Support.SUPPORTED}
    found = []
    if rsa := accepted.get(SuiteClass.RSA_KEY_TRANSPORT):
        if pq_groups:
            found.append(finding("TLS-SUITE-002", suite=rsa.suite, pq_groups=pq_groups))
        else:
            found.append(finding("TLS-SUITE-001", suite=rsa.suite))
    if weak := accepted.get(SuiteClass.WEAK):
        found.append(finding("TLS-SUITE-004", suite=weak.suite, family=weak.family))
    if cbc := accepted.get(SuiteClass.CBC):
        found.append(finding("TLS-SUITE-003", suite=cbc.suite))
    return found
