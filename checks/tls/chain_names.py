"""Does a leaf certificate name the host: its subjectAltNames (never the CN) against the SNI name
or, for a check given an address, the address. RFC 6125 as browsers apply it: names compare
case-insensitively as A-labels, a wildcard is a whole leftmost label matching exactly one label,
and never spans a public suffix: not a top-level domain (`*.com`), nor a generic second level
under a country code (`*.police.uk`, `*.co.uk`: a partial list in
checks/data/public_suffixes.yaml)."""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import DNSName, IPAddress
from pydantic import BaseModel, ConfigDict, Field

from checks.tls.chain_ocsp import ERRORS
from kernel.data_yaml import load_data_yaml

MAX_NAMES = 500  # subjectAltNames looked at; real certificates carry at most a few hundred
WILDCARD_STAND_IN = "assure-wildcard"  # a label to validate trust for a wildcard-only leaf

# The data files sit beside the checks package's modules: read as files, without
# importlib.resources, whose import (tempfile, shutil, zipfile) costs a sandboxed check 8 ms.
DATA = Path(__file__).resolve().parents[1] / "data"


class PublicSuffixes(BaseModel):
    """Second levels no wildcard may span under a country code (a partial list)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    country_code_length: int = Field(ge=2, le=3)
    generic_second_levels: frozenset[str]

    def spanned_by(self, rest: str) -> bool:
        """`*.<rest>` would cover every registrant under a public suffix."""
        labels = rest.split(".")
        if len(labels) < 2:
            return True
        second, country = labels[-2:]
        return (
            len(labels) == 2
            and len(country) == self.country_code_length
            and country.isalpha()
            and second in self.generic_second_levels
        )


@cache
def public_suffixes() -> PublicSuffixes:
    text = (DATA / "public_suffixes.yaml").read_text("utf-8")
    return PublicSuffixes.model_validate(load_data_yaml(text))


def leaf_names(leaf: x509.Certificate) -> list[str | ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The DNS names (lower case, no trailing dot) and addresses the leaf's SAN holds; none when
    it has no SAN or the extension does not parse."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        entries = list(san)[:MAX_NAMES]
    except (*ERRORS, x509.ExtensionNotFound):
        return []
    names: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for entry in entries:
        if isinstance(entry, x509.DNSName):
            names.append(entry.value.lower().rstrip("."))
        elif isinstance(entry, x509.IPAddress) and not isinstance(
            entry.value, ipaddress.IPv4Network | ipaddress.IPv6Network
        ):
            names.append(entry.value)
    return names


def _a_label(name: str) -> str | None:
    try:
        return name.rstrip(".").encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None


def _dns_matches(pattern: str, host: str) -> bool:
    if not pattern or any(ord(c) < 33 or ord(c) > 126 for c in pattern):
        return False
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    rest = pattern[2:]
    first, _, remainder = host.partition(".")
    # `*.example.com` covers `a.example.com`, not `example.com`, `a.b.example.com`, `*.com` or
    # `*.police.uk`.
    if "*" in rest or public_suffixes().spanned_by(rest):
        return False
    return bool(first) and remainder == rest


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def name_matches(
    names: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address],
    server_name: str | None,
    address: str,
) -> bool:
    if server_name is None:
        wanted = _address(address)
        return wanted is not None and wanted in names
    host = _a_label(server_name)
    if host is None:
        return False
    return any(isinstance(n, str) and _dns_matches(n, host) for n in names)


def trust_subject(
    names: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address],
    server_name: str | None,
    address: str,
    matches: bool,
) -> DNSName | IPAddress | None:
    """The name to validate the chain for: the host's own when the leaf names it, else the
    leaf's first usable name, so trust is judged whatever the name (`name_matches` says that)."""
    if matches:
        if server_name is None:
            wanted = _address(address)
            return IPAddress(wanted) if wanted is not None else None
        host = _a_label(server_name)
        candidates: list[str | ipaddress.IPv4Address | ipaddress.IPv6Address] = (
            [host] if host else []
        )
    else:
        candidates = []
    for name in [*candidates, *names]:
        try:
            if isinstance(name, str):
                concrete = WILDCARD_STAND_IN + name[1:] if name.startswith("*.") else name
                return DNSName(concrete)
            return IPAddress(name)
        except (ValueError, TypeError):
            continue
    return None
