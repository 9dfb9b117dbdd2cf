"""The one event schema: an alert as a CloudEvents 1.0 event in structured JSON mode.

Every notification, by e-mail or webhook, is built from `alert_event`, and nothing else goes in
it: the alert's code, category, severity, title and advice, and the ids and names of the
product, its supplier and the organisation holding the alert -- never the alert's raw detail
(targets, findings), a secret or anyone's name or address. docs/notifications.md says why
CloudEvents rather than OCSF; docs/notification-event.schema.json is `event_json_schema()`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from checks.findings import Severity
from kernel.json_schema import inline_refs
from posture.notify.policy import notification_policy
from posture.storage.models import Alert, Organisation, Product

SPEC_VERSION = "1.0"
SOURCE = "/policetech-assure/alerts"
ALERT_RAISED = "uk.policetech-assure.alert.raised.v1"
CONTENT_TYPE = "application/json"

Id = Annotated[int, Field(ge=1)]
Text = Annotated[str, Field(max_length=4000)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NamedRef(_Part):
    id: Id
    name: Annotated[str, Field(max_length=200)]


class AlertData(_Part):
    """What an event says about its alert: plain text, for people and machines alike."""

    alert_id: Id
    code: Annotated[str, Field(max_length=32)]
    category: Annotated[str, Field(max_length=32)]
    severity: Severity
    title: Annotated[str, Field(max_length=200)]
    advice: Text
    raised_at: datetime
    organisation: NamedRef
    product: NamedRef | None
    supplier: NamedRef | None
    # A force's copy of its supplier's alert names the alert it copies.
    relayed_from_alert_id: Id | None


class CloudEvent(_Part):
    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=64)]
    source: Literal["/policetech-assure/alerts"]
    type: Literal["uk.policetech-assure.alert.raised.v1"]
    time: datetime
    subject: Annotated[str, Field(max_length=200)]
    datacontenttype: Literal["application/json"]
    data: AlertData

    def body(self) -> bytes:
        """The exact bytes sent and signed: compact JSON, keys in a fixed order."""
        return json.dumps(self.model_dump(mode="json"), separators=(",", ":")).encode()


def event_id(alert_id: int) -> str:
    # Stable per alert, so a receiver can drop a retried or redelivered event it already has.
    return f"alert-{alert_id}"


def _named(session: Session, model: type[Organisation] | type[Product], key: int | None):  # type: ignore[no-untyped-def]
    record = session.get(model, key) if key is not None else None
    return None if record is None else NamedRef(id=record.id, name=record.name)


def alert_event(session: Session, alert: Alert) -> CloudEvent:
    """The event for `alert`: the only place an alert becomes something sent outside."""
    organisation = _named(session, Organisation, alert.organisation_id)
    product = session.get(Product, alert.product_id) if alert.product_id is not None else None
    supplier = _named(session, Organisation, product.organisation_id) if product else None
    subject = (
        f"organisations/{alert.organisation_id}/products/{alert.product_id}"
        if alert.product_id is not None
        else f"organisations/{alert.organisation_id}"
    )
    data = AlertData(
        alert_id=alert.id,
        code=alert.code,
        category=notification_policy().category(alert.code),
        severity=Severity(alert.severity),
        title=alert.title,
        advice=alert.advice,
        raised_at=alert.raised_at,
        organisation=organisation,  # type: ignore[arg-type]
        product=NamedRef(id=product.id, name=product.name) if product else None,
        supplier=supplier,
        relayed_from_alert_id=alert.relayed_from_id,
    )
    return CloudEvent(
        specversion=SPEC_VERSION,
        id=event_id(alert.id),
        source=SOURCE,
        type=ALERT_RAISED,
        time=alert.raised_at,
        subject=subject,
        datacontenttype=CONTENT_TYPE,
        data=data,
    )


def event_json_schema() -> dict[str, Any]:
    """The event as a self-contained JSON Schema (draft 2020-12), as published in docs/."""
    schema = CloudEvent.model_json_schema(mode="serialization")
    body = inline_refs(schema, schema.get("$defs", {}))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://policetech-assure/schemas/notification-event.v1.json",
        **body,
        "title": "PoliceTech Assure alert event (CloudEvents 1.0, structured JSON)",
    }
