"""The client lists are right and so is the rule applied to them: the installed OpenSSH client,
run against real sshd servers, negotiates exactly what the check predicts from its list; the
data matches the clients that are installed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from checks.ssh.clients import negotiate
from checks.ssh.policy import load_ssh_clients, ssh_clients
from pq_crypto.catalogue import AlgorithmClass, algorithm_index
from tests.peers.paramiko_sshd import paramiko_unavailable
from tests.peers.sshd import (
    SSH,
    client_kex_order,
    client_negotiates,
    openssh_version,
    running_sshd,
    sshd_unavailable,
)

needs_sshd = pytest.mark.skipif(sshd_unavailable() is not None, reason=str(sshd_unavailable()))
needs_ssh = pytest.mark.skipif(
    not Path(SSH).exists(), reason="openssh-client is not installed (.ci/run installs it)"
)
CLIENTS = {client.id: client for client in ssh_clients()}
SNTRUP = "sntrup761x25519-sha512@openssh.com"


@needs_sshd
@needs_ssh
@pytest.mark.parametrize(
    "server_kex",
    [
        f"curve25519-sha256,{SNTRUP}",  # PQ second on the server's list
        f"ecdh-sha2-nistp256,diffie-hellman-group14-sha256,{SNTRUP}",  # PQ last
        f"{SNTRUP},curve25519-sha256",  # PQ first
        "diffie-hellman-group14-sha256,ecdh-sha2-nistp384,curve25519-sha256",  # classical only
    ],
    ids=["pq-second", "pq-last", "pq-first", "classical"],
)
def test_the_real_openssh_client_negotiates_what_the_check_predicts(
    tmp_path: Path, server_kex: str
) -> None:
    with running_sshd(tmp_path, kex=server_kex) as port:
        negotiated = client_negotiates(port)
    assert negotiated == negotiate(client_kex_order(), server_kex.split(","))
    quantum_resistant = algorithm_index().ssh(negotiated).quantum_resistant
    assert quantum_resistant == (SNTRUP in server_kex)


@needs_ssh
def test_the_openssh_list_for_the_installed_release_is_its_default_order() -> None:
    version = openssh_version()
    client = client_kex_order()
    if version is not None and (9, 0) <= version < (9, 9):
        # Distributions that took the 2025 backport add the IANA name in front.
        expected = list(CLIENTS["openssh-9.0"].kex)
        assert [name for name in client if name != "sntrup761x25519-sha512"] == expected
    elif version is not None and version >= (10, 0):
        assert client == list(CLIENTS["openssh-10"].kex)
    else:
        pytest.skip(f"no client list to compare with OpenSSH {version}")


@pytest.mark.skipif(paramiko_unavailable() is not None, reason=str(paramiko_unavailable()))
def test_the_paramiko_list_is_paramikos_default_order() -> None:
    import paramiko

    assert list(CLIENTS["paramiko"].kex) == list(paramiko.Transport._preferred_kex)


def test_only_clients_that_know_a_hybrid_are_judged() -> None:
    judged = {client.id for client in ssh_clients() if client.post_quantum_capable}
    assert judged == {"openssh-10", "openssh-9.9", "openssh-9.0", "putty-0.83"}


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        # An ML-KEM-only server: OpenSSH 9.0 to 9.8 do not know it and fall back to X25519.
        (
            ["curve25519-sha256", "mlkem768x25519-sha256"],
            {
                "openssh-10": "mlkem768x25519-sha256",
                "openssh-9.9": "mlkem768x25519-sha256",
                "openssh-9.0": "curve25519-sha256",
                "putty-0.83": "mlkem768x25519-sha256",
            },
        ),
        # Only a NIST hybrid: PuTTY gets it, no OpenSSH does.
        (
            ["mlkem768nistp256-sha256", "ecdh-sha2-nistp256"],
            {
                "openssh-10": "ecdh-sha2-nistp256",
                "openssh-9.9": "ecdh-sha2-nistp256",
                "openssh-9.0": "ecdh-sha2-nistp256",
                "putty-0.83": "mlkem768nistp256-sha256",
            },
        ),
    ],
    ids=["mlkem-only", "nist-hybrid-only"],
)
def test_each_client_takes_the_first_of_its_own_list_the_server_offers(
    server: list[str], expected: dict[str, str]
) -> None:
    got = {cid: negotiate(CLIENTS[cid].kex, server) for cid in expected}
    assert got == expected


def test_a_client_with_nothing_in_common_negotiates_nothing() -> None:
    assert negotiate(CLIENTS["openssh-10"].kex, ["diffie-hellman-group1-sha1"]) is None


BAD_CLIENTS = """
clients:
  - id: typo-client
    label: A client with a typo
    source: test
    kex: [curve25519-sha256, mlkem768x25519-sha265, made-up-kex@example.org]
"""


def test_a_client_list_naming_a_key_exchange_the_catalogue_does_not_know_fails_to_load() -> None:
    with pytest.raises(ValidationError) as refused:
        load_ssh_clients(BAD_CLIENTS)
    message = str(refused.value)
    assert "mlkem768x25519-sha265, made-up-kex@example.org" in message
    assert "algorithms.yaml" in message
    assert "curve25519-sha256," not in message  # only the unknown names are named


def test_every_key_exchange_in_the_shipped_client_lists_classifies() -> None:
    index = algorithm_index()
    unknown = [
        (client.id, name)
        for client in ssh_clients()
        for name in client.kex
        if index.ssh(name).algorithm_class is AlgorithmClass.UNKNOWN
    ]
    assert unknown == []


def test_putty_lists_its_rsa_key_exchange_after_the_dh_groups() -> None:
    putty = list(CLIENTS["putty-0.83"].kex)
    assert putty[-3:] == ["diffie-hellman-group14-sha1", "rsa2048-sha256", "rsa1024-sha1"]
    index = algorithm_index()
    assert index.ssh("rsa2048-sha256").algorithm_class is AlgorithmClass.QUANTUM_VULNERABLE
    assert index.ssh("rsa1024-sha1").algorithm_class is AlgorithmClass.CLASSICALLY_BROKEN
    # A server that offers only RSA key exchange (RFC 4432) still lets PuTTY connect, and no
    # OpenSSH client.
    server = ["rsa2048-sha256", "rsa1024-sha1"]
    assert negotiate(CLIENTS["putty-0.83"].kex, server) == "rsa2048-sha256"
    assert negotiate(CLIENTS["openssh-10"].kex, server) is None
