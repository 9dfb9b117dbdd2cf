"""What a finding is about, from its evidence, and the stable key that tracks it across runs.

A finding's code says what is wrong; its subject says where, when one run can show the same code
more than once: the certificate (its position and subject name), the API operation or the
operations a live failure names, the place in an API description (a JSON pointer), the URL a
live probe sent to. A finding whose code a run raises once (the TLS versions, the key exchange
groups, the weak SSH algorithms as a list) has no subject: its evidence lists what the run saw
this time, and keying on that list would close and reopen the finding whenever the list changed,
so the code and target alone identify it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

MAX_SUBJECT = 512


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def _url(request: Any) -> str:
    if not isinstance(request, Mapping) or not isinstance(request.get("url"), str):
        return ""
    # The query string carries probe values that change run to run; the path is the endpoint.
    parts = urlsplit(request["url"])
    return _text(f"{request.get('method', '')} {parts.netloc}{parts.path}")


def finding_subject(evidence: Mapping[str, Any]) -> str:
    """The subject of a finding from its evidence; "" when it has none (code + target only)."""
    if "certificate" in evidence:
        subject = f"certificate {_text(evidence['certificate'])}"
        name = evidence.get("subject")
        subject = f"{subject}: {_text(name)}" if name else subject
    elif isinstance(evidence.get("operation"), str) and evidence["operation"]:
        subject = f"operation {_text(evidence['operation'])}"
    elif isinstance(evidence.get("operations"), list) and evidence["operations"]:
        subject = "operations " + ", ".join(sorted(_text(o) for o in evidence["operations"]))
    elif isinstance(evidence.get("pointer"), str) and evidence["pointer"] not in ("", "/"):
        subject = f"at {evidence['pointer']}"
    elif _url(evidence.get("request")):
        subject = f"request {_url(evidence['request'])}"
    else:
        return ""
    if len(subject) <= MAX_SUBJECT:
        return subject
    # Too long to store whole: cut, with a digest of the whole so two long subjects differ.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:16]
    return f"{subject[: MAX_SUBJECT - 20]}... {digest}"


def finding_key(
    organisation_id: int, product_id: int | None, kind: str, target: str, code: str, subject: str
) -> str:
    """The stable key of a tracked finding: the same fault on the same subject is one finding
    from run to run. Kind is part of it: a TLS run and a certificate file run may both raise a
    certificate code, and neither's runs may close the other's finding."""
    scope = f"product {product_id}" if product_id is not None else f"organisation {organisation_id}"
    parts = "\x00".join((scope, kind, target, code, subject))
    return hashlib.sha256(parts.encode()).hexdigest()
