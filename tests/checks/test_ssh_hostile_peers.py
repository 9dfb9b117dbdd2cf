"""The SSH check against servers that hang or lie, on loopback: each ends within its time bound
with one clear finding (SSH-005) and no credit, and the largest KEXINIT a packet may hold is
read within bounds without crediting anything it names."""

from __future__ import annotations

import socket
import time

import pytest

from checks.egress import EgressPolicy
from checks.findings import finding
from checks.readiness import readiness_policy
from checks.report import ReportStatus
from checks.ssh import run_ssh_check
from checks.ssh.policy import ssh_clients, ssh_policy
from pq_crypto.catalogue import algorithm_index
from tests.peers import servers, ssh_hostile

LOOPBACK = EgressPolicy.loopback_only()
TIMEOUT = 0.6


@pytest.fixture(autouse=True, scope="module")
def _data_loaded() -> None:
    """Read the check's data files once before timing it: their first load is not the peer's
    doing (a one-shot cost of a second or two on a busy machine)."""
    finding("SSH-005", detail="warm-up")
    ssh_policy(), ssh_clients(), readiness_policy(), algorithm_index()


@pytest.mark.parametrize(
    "handler",
    [
        ssh_hostile.silent,
        ssh_hostile.banner_then_stall,
        ssh_hostile.trickling_banner,
        ssh_hostile.trickling_kexinit,
        ssh_hostile.ignore_flood,
        ssh_hostile.absurd_length,
        ssh_hostile.garbage_kexinit,
        ssh_hostile.lying_kexinit,
    ],
    ids=lambda handler: getattr(handler, "__name__", "handler"),
)
def test_a_hanging_or_lying_server_ends_in_time_with_one_finding_and_no_credit(handler) -> None:
    with servers.serving(handler) as server:
        started = time.monotonic()
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT * 3
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert [f.code for f in report.findings] == ["SSH-005"]
    assert report.findings[0].evidence["detail"]
    assert report.score is None
    assert report.subscores == {}
    assert report.details.get("kex_algorithms", []) == []


def test_the_largest_kexinit_is_read_within_bounds_and_credits_nothing() -> None:
    with servers.serving(ssh_hostile.giant_kexinit) as server:
        started = time.monotonic()
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    # The KEXINIT, then at most the host key budget for exchanges that cannot happen.
    assert elapsed < TIMEOUT * 5
    names = [k["name"] for k in report.details["kex_algorithms"]]
    assert names == ssh_hostile.GIANT_NAMES
    assert {k["class"] for k in report.details["kex_algorithms"]} == {"unknown"}
    codes = {f.code for f in report.findings}
    assert "SSH-001" in codes  # nothing post-quantum is credited
    assert report.subscores["key_exchange"] == 0
    assert report.subscores["signatures_and_certificates"] is None
    assert report.details["host_keys"] == []


def _dh(report) -> dict:  # type: ignore[no-untyped-def]
    (group,) = report.details["dh_groups"]
    return group


def _found(report, code: str):  # type: ignore[no-untyped-def]
    (found,) = [f for f in report.findings if f.code == code]
    return found


def test_a_group_exchange_handing_out_a_512_bit_group_is_critical_and_never_used() -> None:
    handler = ssh_hostile.group_exchange_handing_out(512, hybrids=True)
    with servers.serving(handler) as server:
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=TIMEOUT)
    group = _dh(report)
    assert (group["bits"], group["violation"]) == (
        512,
        "512 bits, outside the 1024 to 8192 asked for",
    )
    # Judged by its size (as TLS-DH-002 judges a 512-bit prime) and as the protocol violation
    # it is: OpenSSH clients abort on it, but what the server hands out is what it would use.
    broken = _found(report, "SSH-019")
    assert (broken.severity, broken.evidence["groups"]) == ("critical", {ssh_hostile.GEX: 512})
    assert "SSH-020" in {f.code for f in report.findings}
    assert "SSH-013" not in {f.code for f in report.findings}
    # Every judged client gets a hybrid (100), but a classical-only client on the list would
    # take the group exchange: dh_sizes.yaml's cap for a broken group negotiated is 0.
    assert "SSH-006" in {f.code for f in report.findings}
    assert broken.evidence["clients_negotiating"]
    assert report.subscores["key_exchange"] == 0
    # The probe's own key exchange refuses such a group: the host key stays unread.
    (unread,) = report.details["host_keys_not_read"]
    assert "512 bits" in unread["reason"]


@pytest.mark.parametrize(
    ("handler", "violation"),
    [
        (
            ssh_hostile.group_exchange_handing_out(16384, hybrids=True),
            "16384 bits, outside the 1024 to 8192 asked for",
        ),
        (
            ssh_hostile.group_exchange_handing_out(2048, even=True, hybrids=True),
            "an even p, which is no prime",
        ),
        (
            ssh_hostile.group_exchange_handing_out(2048, generator=1, hybrids=True),
            "a generator outside 2 to p-2",
        ),
        (
            ssh_hostile.group_exchange_handing_out(2048, padding=600, hybrids=True),
            "p is not a canonical positive mpint",
        ),
    ],
    ids=["too-large", "even-prime", "generator-1", "padded-prime"],
)
def test_a_group_exchange_group_that_breaks_rfc_4419_is_never_credited(
    handler: ssh_hostile.Callable, violation: str
) -> None:
    with servers.serving(handler) as server:
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=TIMEOUT)
    assert _dh(report)["violation"] == violation
    refused = _found(report, "SSH-020")
    assert refused.evidence["groups"][ssh_hostile.GEX]["violation"] == violation
    # Not credited as strong, whatever size it claims: capped as a weak group offered.
    assert not {"SSH-013", "SSH-019"} & {f.code for f in report.findings}
    assert report.subscores["key_exchange"] == 70


def test_a_sane_group_exchange_group_beside_hybrids_is_credited() -> None:
    # The control for the two tests above: the same peer with a well-formed 2048-bit group.
    handler = ssh_hostile.group_exchange_handing_out(2048, hybrids=True)
    with servers.serving(handler) as server:
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=TIMEOUT)
    assert (_dh(report)["bits"], _dh(report)["violation"]) == (2048, "")
    assert not {"SSH-013", "SSH-018", "SSH-019", "SSH-020"} & {f.code for f in report.findings}
    assert report.subscores["key_exchange"] == 100


def test_a_group_exchange_that_never_answers_is_inconclusive_and_capped() -> None:
    with servers.serving(ssh_hostile.group_exchange_stalling) as server:
        started = time.monotonic()
        report = run_ssh_check(f"127.0.0.1:{server.port}", LOOPBACK, timeout=TIMEOUT)
        elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT * 5
    group = _dh(report)
    assert (group["bits"], group["reason"]) == (None, "no answer in time")
    unread = _found(report, "SSH-018")
    assert unread.evidence["groups"] == {ssh_hostile.GEX: "no answer in time"}
    # Fail closed: until the group is read it counts as a weak group offered (100 -> 70).
    assert "SSH-006" in {f.code for f in report.findings}
    assert report.subscores["key_exchange"] == 70


def test_a_closed_port_is_a_network_finding_with_no_credit() -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    report = run_ssh_check(f"127.0.0.1:{port}", LOOPBACK, timeout=TIMEOUT)
    assert [f.code for f in report.findings] == ["NET-001"]
    assert report.status is ReportStatus.NOT_ASSESSABLE
    assert report.score is None
