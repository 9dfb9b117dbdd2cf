"""Secrets redacted by value wherever a report holds them: the tokens a check was given and a
base URL's user:password, in the forms an API that echoes its request gives them back (JSON,
HTML and percent escapes, base64, wrapped lines), not only in headers known to carry them.
"""

from __future__ import annotations

import base64
import html
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from checks.api.evidence import SECRET_REDACTED
from checks.findings import CheckFinding
from checks.report import CheckReport

# A secret shorter than this is not searched for: every "abc" in the evidence would go.
MIN_SECRET = 4
# A piece of a secret this long, cut off at either end of a kept excerpt, is redacted too.
MIN_FRAGMENT = 6
# A base64 run shorter than this, taken from the middle of an encoding, matches too much.
MIN_BASE64 = 8
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s]*@")
# What an echo escapes a secret with, each run decoded on its own before the search: a JSON
# escape (PHP writes `\/`; ensure_ascii and Go write `\uXXXX`, a pair for a character past
# U+FFFF), an HTML entity (named, decimal, hex), percent-encoding in either case, and a line
# break (a wrapped token, or a JSON-escaped one) with the indentation after it, which decodes to
# nothing. One linear pass, so a body of megabytes costs one scan per secret form.
_ESCAPED = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u[0-9a-fA-F]{4}"
    r"|(?:\\r)?\\n[ \t]*|\r?\n[ \t]*"
    r'|\\["\\/]'
    r"|&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
    r"|(?:%[0-9a-fA-F]{2})+"
)


def _decoded_run(run: str) -> str:
    """What one escaped run stands for; the run itself when it decodes to nothing sensible."""
    if run.startswith("\\u"):
        raw = run.encode("ascii").decode("unicode_escape")
        return raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if run.startswith(("\\n", "\\r", "\n", "\r")):
        return ""
    if run.startswith("\\"):
        return run[1:]
    if run.startswith("&"):
        return html.unescape(run)
    return unquote(run, errors="strict") if _utf8(run) else run


def _utf8(run: str) -> bool:
    try:
        bytes.fromhex(run.replace("%", "")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _Unescaped:
    """A text with every escaped run decoded, and where each decoded piece came from: a
    secret found in `text` is redacted over the original characters it was spelled with."""

    text: str
    starts: tuple[int, ...]  # where each piece begins in `text`
    spans: tuple[tuple[int, int, bool], ...]  # (start, end, plain) of each piece in the original

    @classmethod
    def of(cls, original: str) -> _Unescaped:
        pieces: list[str] = []
        starts: list[int] = []
        spans: list[tuple[int, int, bool]] = []
        at = size = 0

        def add(piece: str, start: int, end: int, plain: bool) -> None:
            nonlocal size
            if piece:
                pieces.append(piece)
                starts.append(size)
                spans.append((start, end, plain))
                size += len(piece)

        for match in _ESCAPED.finditer(original):
            add(original[at : match.start()], at, match.start(), True)
            decoded = _decoded_run(match.group())
            add(decoded, match.start(), match.end(), decoded == match.group())
            at = match.end()
        add(original[at:], at, len(original), True)
        return cls("".join(pieces), tuple(starts), tuple(spans))

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original characters that `text[start:end]` was decoded from."""
        first, last = bisect_right(self.starts, start) - 1, bisect_right(self.starts, end - 1) - 1
        begin, _, plain = self.spans[first]
        at = begin + start - self.starts[first] if plain else begin
        begin, stop, plain = self.spans[last]
        to = begin + end - self.starts[last] if plain else stop
        return at, to


def _base64_runs(secret: str) -> set[str]:
    """What any base64 text (standard or URL-safe, padded or not) holding `secret` at any byte
    offset must contain: the secret encoded on its own, then, for each of the three alignments,
    the characters that depend on the secret's bytes alone. So `token:`, `user:password` and
    `Bearer token` encoded whole are found as well."""
    data = secret.encode()
    runs = set()
    for offset, skip in ((0, 0), (1, 2), (2, 3)):
        whole = base64.b64encode(b"\0" * offset + data).decode("ascii")
        kept = whole[skip : 4 * ((offset + len(data)) // 3)]
        runs |= {kept, whole.rstrip("=")} if offset == 0 else {kept}
    runs |= {run.translate(_URLSAFE) for run in runs}
    return {run for run in runs if len(run) >= MIN_BASE64}


_URLSAFE = str.maketrans("+/", "-_")


def _forms(secret: str) -> set[str]:
    """What a secret is searched for as, in the text and in its decoded form (_Unescaped): as
    given, its base64 runs, and a JWT's payload and signature on their own (the payload names
    the user; the signature, with the claims anyone can read, is the token). Escaped forms
    (JSON, HTML, percent) need no entry: the search decodes them."""
    forms = {secret} | _base64_runs(secret)
    parts = secret.split(".")
    if len(parts) == 3:
        forms |= {part for part in parts[1:] if len(part) >= 8}
    return {form for form in forms if len(form) >= MIN_SECRET}


def _userinfo_forms(base_url: str) -> set[str]:
    """A base URL's `user:password@`: the pair and the password, as written and percent-decoded
    (the pair as an HTTP Basic credential is among its base64 runs)."""
    userinfo = urlsplit(base_url.strip()).netloc.rpartition("@")[0]
    if not userinfo:
        return set()
    user, _, password = userinfo.partition(":")
    forms = {userinfo, f"{unquote(user)}:{unquote(password)}", password, unquote(password)}
    return {form for secret in forms if len(secret) >= MIN_SECRET for form in _forms(secret)}


@dataclass(frozen=True)
class KnownSecrets:
    """Every credential value the user gave the run. Headers known to carry credentials are
    redacted by name; these are redacted by value wherever they show up in stored evidence (an
    API that echoes its request into its body or another header would otherwise hand them
    back), however the echo escaped or encoded them."""

    values: tuple[str, ...] = ()  # longest first, so a token goes before its own signature

    @classmethod
    def of(
        cls,
        tokens: list[str] | tuple[str, ...],
        base_url: str | None = None,
    ) -> KnownSecrets:
        """Every token given (the identities' and those the JWT probe sends) and the base
        URL's user:password, in every form an echo may give them back."""
        found: set[str] = set()
        for secret in tokens:
            if len(secret) >= MIN_SECRET:
                found |= _forms(secret)
        if base_url:
            found |= _userinfo_forms(base_url)
        return cls(tuple(sorted(found, key=lambda s: (-len(s), s))))

    def text(self, value: str) -> str:
        value = _USERINFO.sub(rf"\1{SECRET_REDACTED}@", value)
        if self.values:
            value = self._redacted(value)
        for secret in self.values:
            value = _cut_edges(value, secret)
        return value

    def _redacted(self, value: str) -> str:
        """`value` with every span that spells a secret, as written or escaped, in any case
        (an echo that folds a token's case leaves little of it to guess), replaced."""
        spans = _found(value, self.values)
        unescaped = _Unescaped.of(value)
        if unescaped.text != value:
            spans += [unescaped.original(*span) for span in _found(unescaped.text, self.values)]
        if not spans:
            return value
        kept, at = [], 0
        for start, end in _merged(spans):
            kept += [value[at:start], SECRET_REDACTED]
            at = end
        return "".join(kept) + value[at:]

    def scrub(self, value: Any) -> Any:
        """`value` (JSON-like: dicts, lists, tuples, strings) with every secret redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.scrub(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.scrub(v) for v in value)
        return value


def _found(text: str, secrets: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where each secret is in `text`, case-folded when folding keeps every position."""
    folded = text.lower()
    fold = len(folded) == len(text)
    spans = []
    for secret in secrets:
        needle = secret.lower() if fold else secret
        haystack = folded if fold else text
        at = haystack.find(needle)
        while at != -1:
            spans.append((at, at + len(needle)))
            at = haystack.find(needle, at + len(needle))
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _cut_edges(value: str, secret: str) -> str:
    """An excerpt cut mid-secret keeps a piece of it at its end (or, cut before, at its
    start): redact a piece of at least MIN_FRAGMENT characters there."""
    if len(secret) <= MIN_FRAGMENT:
        return value
    head, tail = secret[:MIN_FRAGMENT], secret[-MIN_FRAGMENT:]
    window = len(secret) - 1
    start = max(0, len(value) - window)
    at = value.find(head, start)
    while at != -1:
        if secret.startswith(value[at:]):
            value = value[:at] + SECRET_REDACTED
            break
        at = value.find(head, at + 1)
    end = min(len(value), window)
    at = value.rfind(tail, 0, end)
    while at != -1:
        if secret.endswith(value[: at + MIN_FRAGMENT]):
            value = SECRET_REDACTED + value[at + MIN_FRAGMENT :]
            break
        at = value.rfind(tail, 0, at + MIN_FRAGMENT - 1)
    return value


def scrubbed_findings(findings: list[CheckFinding], secrets: KnownSecrets) -> list[CheckFinding]:
    return [f.model_copy(update={"evidence": secrets.scrub(f.evidence)}) for f in findings]


def scrubbed_report(report: CheckReport, secrets: KnownSecrets) -> CheckReport:
    """The report with no known secret in its findings, its details (curl lines of unconfirmed
    failures, the schemathesis command's --url) or its target."""
    return report.model_copy(
        update={
            "target": secrets.text(report.target),
            "findings": scrubbed_findings(report.findings, secrets),
            "details": secrets.scrub(report.details),
        }
    )
