"""What real SSH clients would negotiate with a server: each takes the first key exchange on its
own list that the server offers (RFC 4253 7.1), whatever the server's order. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from checks.catalogue.ssh import SshClientKex
from checks.ssh.policy import SshClient, ssh_clients
from pq_crypto.catalogue import algorithm_index


def negotiate(client: Sequence[str], server: Sequence[str]) -> str | None:
    """The key exchange a client with this list gets from a server offering `server`; None when
    they share none (the client cannot connect). Every method here needs a signature-capable
    host key, which every SSH server has, so RFC 4253's host key condition changes nothing."""
    offered = set(server)
    return next((name for name in client if name in offered), None)


def client_outcome(client: SshClient, server_kex: Sequence[str]) -> SshClientKex:
    kex = negotiate(client.kex, server_kex)
    return SshClientKex(
        client=client.id,
        label=client.label,
        kex=kex,
        algorithm_class=algorithm_index().ssh(kex).algorithm_class if kex else None,
        post_quantum_capable=client.post_quantum_capable,
    )


def client_outcomes(server_kex: Sequence[str]) -> tuple[SshClientKex, ...]:
    return tuple(client_outcome(client, server_kex) for client in ssh_clients())


def left_classical(outcomes: Sequence[SshClientKex]) -> list[SshClientKex]:
    """The judged clients (those that could do post-quantum) that would not get it."""
    index = algorithm_index()
    return [
        outcome
        for outcome in outcomes
        if outcome.post_quantum_capable
        and not (outcome.kex and index.ssh(outcome.kex).quantum_resistant)
    ]
