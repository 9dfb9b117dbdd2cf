"""Make an OpenAPI description self-contained before schemathesis sees it.

Every remote `$ref` is fetched here, through the egress policy (resolve once, vetted address,
no redirects, size cap) and the bounded parser, and placed under `x-assure-bundled` with the
reference rewritten to point there. Example `externalValue`s and links whose `operationRef`
leaves the document are dropped, with a note. What remains refers only to itself, so the
schemathesis child has nothing to fetch; its network guard would refuse it anyway.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin

from checks.api import spec as spec_limits
from checks.api.spec import MAX_REMOTE_DOCUMENTS, MAX_SPEC_BYTES, LoadedSpec, SpecError
from checks.api.spec import parse_document as parse_description
from checks.egress import EgressPolicy
from checks.fetch import FetchError, fetch

BUNDLE_KEY = "x-assure-bundled"


@dataclass
class BundledSpec:
    document: dict[str, Any]
    remote_documents: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def encoded(self) -> bytes:
        return json.dumps(self.document, default=str).encode()


def _plain(document: Any) -> Any:
    """A tree without shared nodes (YAML anchors), so each copy is rewritten on its own."""
    return json.loads(json.dumps(document, default=str))


def _pointer(prefix: str, fragment: str) -> str:
    if fragment and not fragment.startswith("/"):
        raise SpecError(
            f"$ref fragment #{fragment} names an anchor; only JSON pointers can be bundled"
        )
    return f"#{prefix}{fragment}"


class _Bundler:
    def __init__(self, policy: EgressPolicy, cache: dict[str, Any], base_uri: str) -> None:
        self.policy = policy
        self.cache = cache
        self.base_uri = base_uri
        self.index: dict[str, int] = {}
        self.documents: list[Any] = []
        self.notes: list[str] = []
        # One deadline for every document the validator did not already fetch, so twenty
        # remote references cannot each take a full fetch deadline.
        self.deadline = time.monotonic() + spec_limits.FETCH_DEADLINE_SECONDS

    def _slot(self, uri: str) -> int:
        if uri in self.index:
            return self.index[uri]
        if len(self.documents) >= MAX_REMOTE_DOCUMENTS:
            raise SpecError(f"more than {MAX_REMOTE_DOCUMENTS} remote documents referenced")
        if uri not in self.cache:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise SpecError(
                    f"remote $ref {uri}: the referenced documents took longer than "
                    f"{spec_limits.FETCH_DEADLINE_SECONDS:g}s to fetch"
                )
            try:
                raw = fetch(uri, self.policy, max_bytes=MAX_SPEC_BYTES, deadline_seconds=left)
            except FetchError as exc:
                raise SpecError(f"remote $ref {uri}: {exc}") from exc
            self.cache[uri] = parse_description(raw)
        slot = len(self.documents)
        self.index[uri] = slot
        self.documents.append(None)
        self.documents[slot] = self._rewrite(_plain(self.cache[uri]), uri, f"/{BUNDLE_KEY}/{slot}")
        return slot

    def _reference(self, ref: str, base: str, prefix: str) -> str:
        if ref.startswith("#"):
            return _pointer(prefix, ref[1:])
        absolute, fragment = urldefrag(urljoin(base, ref) if base else ref)
        if not absolute.startswith(("http://", "https://")):
            raise SpecError(f"$ref {ref} is not followed; bundle the description")
        return _pointer(f"/{BUNDLE_KEY}/{self._slot(absolute)}", fragment)

    def _rewrite(self, node: Any, base: str, prefix: str, parent_key: str = "") -> Any:
        stack: list[tuple[Any, str]] = [(node, parent_key)]
        while stack:
            item, key = stack.pop()
            if isinstance(item, list):
                stack.extend((child, "") for child in item)
                continue
            if not isinstance(item, dict):
                continue
            if isinstance(item.get("$ref"), str):
                item["$ref"] = self._reference(item["$ref"], base, prefix)
            if key == "examples":
                self._drop_external_examples(item)
            elif key == "links":
                self._drop_remote_links(item, prefix)
            stack.extend((child, name) for name, child in item.items() if name != "$ref")
        return node

    def _drop_external_examples(self, examples: dict[str, Any]) -> None:
        for name, example in list(examples.items()):
            if isinstance(example, dict) and isinstance(example.get("externalValue"), str):
                self.notes.append(f"example {name!r}: externalValue is not fetched")
                del example["externalValue"]
                if "value" not in example:
                    del examples[name]

    def _drop_remote_links(self, links: dict[str, Any], prefix: str) -> None:
        for name, link in list(links.items()):
            if not isinstance(link, dict) or not isinstance(link.get("operationRef"), str):
                continue
            if link["operationRef"].startswith("#"):
                link["operationRef"] = _pointer(prefix, link["operationRef"][1:])
            else:
                self.notes.append(f"link {name!r}: operationRef to another document is dropped")
                del links[name]


def _remote_refs(document: Any) -> list[str]:
    found, stack = [], [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                found.append(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def bundle(spec: LoadedSpec, policy: EgressPolicy) -> BundledSpec:
    """The description with everything it references inside it, or SpecError."""
    base_uri = spec.source if spec.source.startswith(("http://", "https://")) else ""
    bundler = _Bundler(policy, dict(spec.remote), base_uri)
    document = bundler._rewrite(_plain(spec.document), base_uri, "")
    if bundler.documents:
        document[BUNDLE_KEY] = {str(i): d for i, d in enumerate(bundler.documents)}
    leftover = _remote_refs(document)
    if leftover:
        raise SpecError(f"$ref {leftover[0]} could not be bundled")
    return BundledSpec(document, list(bundler.index), bundler.notes)
