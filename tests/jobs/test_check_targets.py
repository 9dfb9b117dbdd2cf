"""A check's target is vetted before its job is queued, by the rules the worker enforces when the
check runs: a hostile target is refused with a reason naming the field, and nothing is queued."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from kernel.errors import ValidationFailed
from kernel.settings import Settings
from posture.check_requests import CheckRequest, file_fields
from posture.check_targets import host_problem, vet_request
from posture.jobs.dispatch import submit_check
from posture.jobs.queue import build_queue
from posture.storage.models import AuditEvent, Job
from posture.storage.models.enums import Role
from supplier_portal.forms import parse_form
from tests.identity.world import World

Db = tuple[World, sessionmaker[Session], Settings]
CLOSED = EgressPolicy()  # the default: no private, loopback or link-local address is allowed


def _endpoint(target: str) -> CheckRequest:
    return CheckRequest(kind="tls", target=target)


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("10.0.0.1:443", "10.0.0.1 is private"),
        ("169.254.169.254:80", "link-local (including cloud metadata)"),
        ("[::1]:443", "::1 is loopback"),
        ("[::ffff:10.0.0.1]:443", "private"),
        ("0.0.0.0:443", "0.0.0.0 is private"),
        ("localhost:443", "127.0.0.1 is loopback; ::1 is loopback"),
        ("LOCALHOST.:22", "loopback"),
        ("metadata.localhost:80", "loopback"),
        ("vault.example:0", "the port must be a number from 1 to 65535"),
        ("vault.example:70000", "the port must be a number from 1 to 65535"),
        ("vault.example:-1", "the port must be a number from 1 to 65535"),
        ("vault.example:443x", "the port must be a number from 1 to 65535"),
        ("https://vault.example:443", "give host:port, not a URL"),
        ("javascript:alert(1)", "the port must be a number from 1 to 65535"),
        ("vault_example:443", "not a host name or IP address"),
        ("-vault.example:443", "not a host name or IP address"),
        ("2130706433:443", "written in full"),  # 127.0.0.1 to inet_aton
        ("127.1:443", "written in full"),
        ("0x7f.1:443", "written in full"),
        ("0x7f000001:443", "written in full"),  # hex, with no final label of digits
        ("0X7F000001:443", "written in full"),
        ("vault example:443", "not a host name or IP address"),
        (":443", "a host name is 1 to 253 characters"),
    ],
)
def test_a_hostile_endpoint_is_refused_with_the_reason(target: str, said: str) -> None:
    with pytest.raises(ValidationFailed, match=r"^target: ") as refused:
        vet_request(_endpoint(target), CLOSED)
    assert said in str(refused.value)
    # A supplier cannot change the platform's settings: the refusal says who can.
    assert "ASSURE_EGRESS_ALLOW" not in str(refused.value)


def test_a_host_name_longer_than_dns_allows_is_refused_without_echoing_it() -> None:
    long_name = ".".join(["a" * 63] * 4)  # 255 characters: past the 253 a name may have
    with pytest.raises(ValidationFailed, match="a host name is 1 to 253 characters"):
        vet_request(_endpoint(f"{long_name}:443"), CLOSED)
    label = "a" * 64 + ".example"
    with pytest.raises(ValidationFailed) as refused:
        vet_request(_endpoint(f"{label}:443"), CLOSED)
    assert len(str(refused.value)) < 200


def test_a_five_kilobyte_target_is_refused_by_the_form_and_never_reaches_a_job() -> None:
    with pytest.raises(ValidationFailed, match="target: String should have at most 300"):
        parse_form(CheckRequest, {"kind": "tls", "target": "a" * 5000 + ".example:443"})
    assert host_problem("a" * 5000) == "a host name is 1 to 253 characters"


@pytest.mark.parametrize(
    "target",
    ["vault.example:443", "vault.example", "93.184.215.14:8443", "[2001:4860::8888]:443"],
)
def test_a_public_endpoint_passes(target: str) -> None:
    vet_request(_endpoint(target), CLOSED)


def test_what_the_operator_allows_passes_and_localhost_follows_its_addresses() -> None:
    loopback = EgressPolicy.loopback_only()
    vet_request(_endpoint("127.0.0.1:443"), loopback)
    vet_request(_endpoint("localhost:443"), loopback)
    only_v6 = EgressPolicy.from_cidrs(("::1/128",))
    # The worker goes ahead when any address the name stands for is allowed.
    vet_request(_endpoint("localhost:443"), only_v6)
    with pytest.raises(ValidationFailed, match=r"10\.0\.0\.1 is private"):
        vet_request(_endpoint("10.0.0.1:443"), loopback)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("javascript:alert(1)", "give the http:// or https:// URL"),
        ("JavaScript://vault.example/%0aalert(1)", "give the http:// or https:// URL"),
        ("file:///etc/passwd", "give the http:// or https:// URL"),
        ("ftp://vault.example/jwks.json", "give the http:// or https:// URL"),
        ("https:///jwks.json", "give an http:// or https:// URL"),
        ("https://vault.example:99999/jwks.json", "give an http:// or https:// URL"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.1/jwks.json", "private"),
        ("http://localhost:8080/jwks.json", "loopback"),
        ("https://user@[::1]/jwks.json", "loopback"),
        ("https://vault.example/jwks.json x", "give an http:// or https:// URL"),
    ],
)
def test_a_hostile_url_is_refused(url: str, said: str) -> None:
    with pytest.raises(ValidationFailed, match="target: ") as refused:
        # As the page and the API make it: the form's model first, then the vetting.
        vet_request(parse_form(CheckRequest, {"kind": "jwks", "target": url}), CLOSED)
    assert said in str(refused.value)


def test_a_live_base_url_is_vetted_as_the_target_is() -> None:
    spec = file_fields("openapi.json", b"{}")
    with pytest.raises(ValidationFailed, match=r"^base URL: .*link-local"):
        vet_request(CheckRequest(kind="api", base_url="http://169.254.169.254/", **spec), CLOSED)
    with pytest.raises(ValidationFailed, match=r"^base URL: give an http"):
        vet_request(CheckRequest(kind="api", base_url="javascript:alert(1)", **spec), CLOSED)
    vet_request(CheckRequest(kind="api", base_url="https://sandbox.vault.example", **spec), CLOSED)
    with pytest.raises(ValidationFailed, match=r"^base URL: a cert check tests no live service"):
        vet_request(CheckRequest(kind="cert", base_url="https://vault.example", **spec), CLOSED)


def test_a_file_check_takes_no_target() -> None:
    request = CheckRequest(kind="cert", target="10.0.0.1:443", **file_fields("leaf.pem", b"x"))
    with pytest.raises(ValidationFailed, match=r"^target: a cert check reads a file"):
        vet_request(request, CLOSED)


def _jobs(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        queued = session.scalar(select(func.count()).select_from(Job))
        audited = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "job.queued")
        )
        return int(queued or 0), int(audited or 0)


@pytest.mark.parametrize(
    "target", ["10.0.0.1:443", "169.254.169.254:80", "localhost:443", "vault.example:70000"]
)
def test_submitting_a_refused_target_queues_nothing(world_db: Db, target: str) -> None:
    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    # The queue's policy is the one its worker checks run under.
    queue = build_queue(settings.model_copy(update={"queue_immediate": True}))
    before = _jobs(sessions)
    with pytest.raises(ValidationFailed, match=r"^target: "):
        submit_check(
            sessions, queue, world.principal(Role.SUPPLIER_MEMBER), product_id, _endpoint(target)
        )
    assert _jobs(sessions) == before
    assert queue.huey.pending_count() == 0


def test_someone_who_may_not_run_the_check_learns_nothing_of_the_allow_list(
    world_db: Db,
) -> None:
    """The permission is judged before the target: another supplier's member gets the same
    refusal for a private target as for a public one, so refusals do not map the allow-list."""
    from posture.identity.permissions import NotFound, PermissionDenied

    world, sessions, settings = world_db
    product_id = world.orgs["s1"].product_id
    assert product_id is not None
    queue = build_queue(settings.model_copy(update={"queue_immediate": True}))
    outsider = world.principal(Role.SUPPLIER_MEMBER, "s2")
    refusals = []
    for target in ("10.20.0.1:443", "vault.example:443"):
        with pytest.raises((NotFound, PermissionDenied)) as refused:
            submit_check(sessions, queue, outsider, product_id, _endpoint(target))
        refusals.append((type(refused.value), str(refused.value)))
    assert refusals[0] == refusals[1]
    assert queue.huey.pending_count() == 0
