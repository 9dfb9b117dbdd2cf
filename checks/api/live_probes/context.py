"""What every probe is given: the description, the base URL, the proven identity (if any), the
client, the probe book, and the operations worth probing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.api.credentials import bearer
from checks.api.live_probes.client import ProbeBook, ProbeClient
from checks.api.model import OpenApiView, Operation
from checks.api.preflight import probe_operations
from checks.catalogue.api import LiveProbeOutcome
from checks.findings import CheckFinding

WRITES = ("post", "put", "patch")

Probed = tuple[list[CheckFinding], LiveProbeOutcome]


@dataclass(frozen=True)
class ProbeContext:
    view: OpenApiView
    base_url: str
    client: ProbeClient
    book: ProbeBook
    token: str | None = None  # a proven identity's bearer token; never recorded
    identity: str | None = None  # its name (primary, secondary)
    expired_token: str | None = None  # one the API signed that has expired; never recorded
    # One the API's issuer signed for another audience (another API); never recorded.
    other_audience_token: str | None = None

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def auth(self, token: str | None = None) -> dict[str, str]:
        return bearer(token if token is not None else self.token)

    def secured_get(self) -> str | None:
        """The shortest secured GET with nothing to fill in, when an identity was proven."""
        if not self.token:
            return None
        paths = probe_operations(self.view.document)
        return paths[0] if paths else None

    def cheap_get(self) -> tuple[str, bool] | None:
        """(path, with the identity) of a GET with nothing to fill in: a secured one with the
        proven identity, else a public one without it."""
        secured = self.secured_get()
        if secured:
            return secured, True
        public = self.view.plain_gets(secured=False)
        return (public[0].path, False) if public else None

    def json_writes(self) -> list[tuple[Operation, str, Any]]:
        """(operation, media type, schema) of each write with a JSON body and no path template,
        secured ones first."""
        found = []
        for op in self.view.operations():
            if op.method not in WRITES or "{" in op.path:
                continue
            if any(p.get("required") and p.get("in") != "path" for p in op.parameters):
                continue
            body = self.view.deref(op.node.get("requestBody"))
            content = (body or {}).get("content") if isinstance(body, dict) else None
            for media, entry in (content or {}).items():
                bare = str(media).split(";")[0].strip().lower()
                if (bare == "application/json" or bare.endswith("+json")) and isinstance(
                    entry, dict
                ):
                    found.append((op, bare, entry.get("schema")))
                    break
        return sorted(found, key=lambda row: not self.view.needs_credential(row[0]))


def outcome(probe: str, **fields: Any) -> LiveProbeOutcome:
    return LiveProbeOutcome(probe=probe, **fields)
