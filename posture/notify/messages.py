"""E-mail as people read it: plain text built from the CloudEvent (never from the alert row), with
headers no alert text can break out of."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid

from posture.notify.events import CloudEvent

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
SUBJECT_LIMIT = 150


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """Text safe for a mail header: any line break or control character becomes a space, so an
    alert title cannot start a header of its own."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _base(sender: str, recipient: str, subject: str, delivery_id: int) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = one_line(subject)
    message["Message-ID"] = make_msgid(f"delivery-{delivery_id}")
    # Tells auto-responders and ticketing systems not to answer.
    message["Auto-Submitted"] = "auto-generated"
    return message


def _describe(event: CloudEvent) -> list[str]:
    data = event.data
    lines = [f"{data.severity.value.upper()}: {one_line(data.title, 200)}", ""]
    if data.product is not None:
        lines.append(f"Product: {one_line(data.product.name, 200)}")
    if data.supplier is not None:
        lines.append(f"Supplier: {one_line(data.supplier.name, 200)}")
    lines += [
        f"Held by: {one_line(data.organisation.name, 200)}",
        f"Code: {data.code} ({data.category})",
        f"Raised: {data.raised_at.strftime('%d %b %Y %H:%M UTC')}",
        "",
        "What to do:",
        data.advice,
    ]
    return lines


FOOTER = [
    "",
    "--",
    "Sent by PoliceTech Assure. Change which alerts you receive, and how, on your account page.",
]


def alert_email(sender: str, recipient: str, event: CloudEvent, delivery_id: int) -> EmailMessage:
    data = event.data
    message = _base(sender, recipient, f"[{data.severity.value}] {data.title}", delivery_id)
    message.set_content("\n".join([*_describe(event), "", f"Event id: {event.id}", *FOOTER]))
    return message


def digest_email(
    sender: str, recipient: str, day: date, events: Sequence[CloudEvent], delivery_id: int
) -> EmailMessage:
    subject = (
        f"PoliceTech Assure: {len(events)} alert{'s' if len(events) != 1 else ''} on {day:%d %b %Y}"
    )
    message = _base(sender, recipient, subject, delivery_id)
    lines = [f"Alerts raised for you on {day:%d %b %Y}:", ""]
    for number, event in enumerate(events, 1):
        lines += [
            f"{number}. " + _describe(event)[0],
            *("   " + line for line in _describe(event)[2:]),
            "",
        ]
    message.set_content("\n".join([*lines, *FOOTER]))
    return message
