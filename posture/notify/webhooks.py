"""Organisations' webhook endpoints: registered by the organisation's admins, vetted by the
egress policy at registration (and again at every delivery), seen only within the tenant."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.egress import OPERATOR_ADVICE, EgressPolicy, EgressRefused, parse_url
from checks.findings import Severity
from kernel.errors import ValidationFailed
from posture.audit import record
from posture.identity.accounts import actor_of
from posture.identity.permissions import Principal, require
from posture.identity.scoped import load_visible, within_reach
from posture.storage.models import WebhookEndpoint

MANAGE = "webhook.manage"
DEFAULT_SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
MAX_ENDPOINTS = 10


class EndpointForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = Field(min_length=8, max_length=2048)
    description: str = Field(default="", max_length=200)
    severities: list[Severity] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITIES), min_length=1
    )


@dataclass(frozen=True)
class EndpointView:
    id: int
    organisation_id: int
    shown_url: str
    description: str
    severities: list[str]
    active: bool
    created_at: datetime


def shown_url(url: str) -> str:
    """scheme://host:port/… : a receiver's path or query often carries its token, so it is
    never shown again once registered."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…"


def vet_url(url: str, egress: EgressPolicy) -> str:
    """The URL if it may be registered: https (plain http only to a loopback address, for tests
    and local receivers), no credentials in it, and an address the egress policy allows."""
    try:
        target = parse_url(url, ("https", "http"))
    except EgressRefused as exc:
        raise ValidationFailed(f"webhook URL: {exc}") from None
    parts = urlsplit(target.url)
    if parts.username or parts.password:
        raise ValidationFailed("webhook URL: put no user name or password in it")
    if parts.fragment:
        raise ValidationFailed("webhook URL: a fragment (#...) is never sent; remove it")
    if target.scheme == "http" and not _loopback(target.host):
        raise ValidationFailed(
            "webhook URL: use https (plain http only to a loopback IP address, such as 127.0.0.1)"
        )
    try:
        egress.resolve(target.host, target.port)
    except EgressRefused as exc:
        # Registered by an organisation's admin, who cannot change the platform's settings.
        said = str(exc).replace(OPERATOR_ADVICE, "only the platform's operator can allow it")
        raise ValidationFailed(f"webhook URL: {said}") from None
    return target.url


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _view(endpoint: WebhookEndpoint) -> EndpointView:
    return EndpointView(
        endpoint.id,
        endpoint.organisation_id,
        shown_url(endpoint.url),
        endpoint.description,
        list(endpoint.severities),
        endpoint.active,
        endpoint.created_at,
    )


def register_endpoint(
    session: Session,
    principal: Principal,
    organisation_id: int,
    form: EndpointForm | dict,
    egress: EgressPolicy,
    now: datetime,
) -> EndpointView:
    require(principal, MANAGE, organisation_id, "organisation")
    try:
        chosen = form if isinstance(form, EndpointForm) else EndpointForm.model_validate(form)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(
            f"webhook: {'.'.join(map(str, first['loc']))}: {first['msg']}"
        ) from None
    url = vet_url(chosen.url, egress)
    active = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.url).where(
            WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.active.is_(True)
        )
    ).all()
    same = [endpoint_id for endpoint_id, known in active if known == url]
    if same:
        # Two endpoints at one address would send each event there twice.
        raise ValidationFailed(f"webhook: that address is endpoint #{same[0]} already")
    if len(active) >= MAX_ENDPOINTS:
        raise ValidationFailed(f"webhook: an organisation may have {MAX_ENDPOINTS} endpoints")
    endpoint = WebhookEndpoint(
        organisation_id=organisation_id,
        url=url,
        description=" ".join(chosen.description.split()),
        severities=sorted({s.value for s in chosen.severities}),
        active=True,
        created_by_user_id=principal.user_id,
        created_at=now,
    )
    session.add(endpoint)
    session.flush()
    record(
        session,
        actor_of(principal),
        "webhook.registered",
        "webhook_endpoint",
        endpoint.id,
        # The host only: the rest of a webhook URL may be a credential.
        {
            "endpoint_id": endpoint.id,
            "host": urlsplit(url).hostname,
            "severities": endpoint.severities,
        },
        organisation_id=organisation_id,
    )
    return _view(endpoint)


def disable_endpoint(
    session: Session, principal: Principal, endpoint_id: int, now: datetime
) -> EndpointView:
    endpoint = load_visible(
        session, WebhookEndpoint, endpoint_id, principal, MANAGE, "webhook endpoint"
    )
    if not endpoint.active:
        raise ValidationFailed("webhook endpoint: already disabled")
    endpoint.active, endpoint.disabled_at = False, now
    record(
        session,
        actor_of(principal),
        "webhook.disabled",
        "webhook_endpoint",
        endpoint.id,
        {"endpoint_id": endpoint.id},
        organisation_id=endpoint.organisation_id,
    )
    return _view(endpoint)


def endpoint_view(session: Session, principal: Principal, endpoint_id: int) -> EndpointView:
    return _view(
        load_visible(session, WebhookEndpoint, endpoint_id, principal, MANAGE, "webhook endpoint")
    )


def list_endpoints(session: Session, principal: Principal) -> list[EndpointView]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    return [
        _view(e)
        for e in session.scalars(
            within_reach(query, WebhookEndpoint.organisation_id, principal, MANAGE)
        )
    ]
