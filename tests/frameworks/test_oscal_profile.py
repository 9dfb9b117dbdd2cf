"""An OSCAL profile resolves against a catalog already imported: include-all, with-ids and
exclusions select controls in the catalog's order; an id the catalog lacks, a catalog never
imported, a remote catalog without leave to fetch it and hostile files are refused with the file,
the place and the reason, and nothing is written."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from checks.egress import EgressPolicy
from frameworks.catalogue import UpstreamCatalogue
from frameworks.oscal.importer import read_oscal_catalog
from frameworks.oscal.profile import (
    KnownCatalogue,
    OscalProfileError,
    named_catalogue,
    parse_oscal_profile,
    resolve_profile,
)
from kernel.errors import ValidationFailed
from posture.audit import Actor
from posture.catalogue_store import import_oscal_file
from posture.profile_store import egress_fetcher, import_oscal_profile
from posture.storage.engine import transaction
from posture.storage.models import AuditEvent, ImportedProfile
from tests.peers.servers import serving, stall_handler

DATA = Path(__file__).resolve().parents[1] / "data" / "oscal"
NIST_LOW = DATA / "NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog-min.json"
LOW_TITLE = "NIST Special Publication 800-53 Revision 5.1.1 LOW IMPACT BASELINE"
LOW_VERSION = "5.1.1+u4"
TESTER = Actor(label="tester")
RESOURCE = "9b1f3c2e-7d4a-4c8b-a1e6-2f5d8c0b7a31"


@cache
def low_catalogue() -> UpstreamCatalogue:
    return read_oscal_catalog(NIST_LOW, "nist-low").catalogue


def profile_doc(
    imports: list[dict[str, Any]],
    title: str = "A force's subset of the LOW baseline",
    version: str = "1.0",
    resources: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "uuid": "3c0d6c1e-5b0f-4d8e-9a43-7f1e2b6c9d50",
        "metadata": {
            "title": title,
            "last-modified": "2026-11-01T00:00:00Z",
            "version": version,
            "oscal-version": "1.1.2",
        },
        "imports": imports,
    }
    if resources is not None:
        profile["back-matter"] = {"resources": resources}
    return {"profile": profile}


def by_resource(**selection: Any) -> dict[str, Any]:
    """A profile naming the LOW catalog through a back-matter resource, as NIST's profiles do."""
    return profile_doc(
        [{"href": f"#{RESOURCE}", **selection}],
        resources=[
            {
                "uuid": RESOURCE,
                "title": LOW_TITLE,
                "rlinks": [{"href": "../catalogs/low-baseline.json"}],
            }
        ],
    )


def _parsed(document: dict[str, Any] | bytes, source: str = "profile.json") -> Any:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return parse_oscal_profile(raw, source)


def _resolved_ids(**selection: Any) -> list[str]:
    return resolve_profile(_parsed(by_resource(**selection)), low_catalogue()).control_ids


# --- resolution -----------------------------------------------------------------------------


def test_include_all_selects_every_control_in_catalogue_order() -> None:
    assert _resolved_ids(**{"include-all": {}}) == low_catalogue().item_ids()


def test_with_ids_select_those_controls_in_catalogue_order() -> None:
    ids = _resolved_ids(**{"include-controls": [{"with-ids": ["sc-7", "ac-2", "ac-1", "ac-2"]}]})
    assert ids == ["ac-1", "ac-2", "sc-7"]


def test_exclusions_are_taken_from_the_selection() -> None:
    every = low_catalogue().item_ids()
    ids = _resolved_ids(**{"include-all": {}, "exclude-controls": [{"with-ids": ["ac-1", "sc-7"]}]})
    assert ids == [i for i in every if i not in {"ac-1", "sc-7"}]
    assert len(ids) == len(every) - 2


def test_ids_the_catalogue_does_not_have_are_refused_by_name() -> None:
    with pytest.raises(OscalProfileError) as refused:
        _resolved_ids(**{"include-controls": [{"with-ids": ["ac-1", "zz-9", "zz-10"]}]})
    assert str(refused.value) == (
        "profile.json at /profile/imports/0/include-controls: the catalogue has no control "
        "zz-9, zz-10; nothing was imported"
    )
    many = [f"zz-{n}" for n in range(30)]
    with pytest.raises(OscalProfileError, match="zz-19 and 10 more"):
        _resolved_ids(**{"include-controls": [{"with-ids": many}]})
    with pytest.raises(OscalProfileError, match="exclude-controls: the catalogue has no control"):
        _resolved_ids(**{"include-all": {}, "exclude-controls": [{"with-ids": ["xx-1"]}]})


def test_selectors_this_resolver_does_not_apply_are_refused_not_ignored() -> None:
    with pytest.raises(OscalProfileError, match="'matching' patterns are not resolved"):
        _resolved_ids(**{"include-controls": [{"matching": [{"pattern": "ac-*"}]}]})
    with pytest.raises(OscalProfileError, match="with-child-controls is not resolved"):
        _resolved_ids(
            **{"include-controls": [{"with-ids": ["ac-2"], "with-child-controls": "yes"}]}
        )


def test_a_profile_that_excludes_all_it_includes_is_refused() -> None:
    with pytest.raises(OscalProfileError, match="selects no control"):
        _resolved_ids(
            **{
                "include-controls": [{"with-ids": ["ac-1"]}],
                "exclude-controls": [{"with-ids": ["ac-1"]}],
            }
        )


# --- which catalogue an href names ------------------------------------------------------------

LOW = KnownCatalogue(1, "nist-low", LOW_VERSION, LOW_TITLE, NIST_LOW.name, "0" * 64)
OTHER = KnownCatalogue(2, "basic", "1.1", "Sample Security Catalog", "basic-catalog.json", "1" * 64)


def test_a_back_matter_resource_names_the_catalogue_by_title() -> None:
    assert named_catalogue(_parsed(by_resource(**{"include-all": {}})), [OTHER, LOW]) == LOW


def test_a_relative_file_name_names_the_catalogue_it_was_imported_from() -> None:
    document = profile_doc([{"href": f"../catalogs/{NIST_LOW.name}", "include-all": {}}])
    assert named_catalogue(_parsed(document), [OTHER, LOW]) == LOW
    unknown = profile_doc([{"href": "nist-high.json", "include-all": {}}])
    with pytest.raises(OscalProfileError, match="no imported catalogue was read from a file"):
        named_catalogue(_parsed(unknown), [OTHER, LOW])


def test_an_explicit_catalogue_id_wins_over_the_href() -> None:
    document = profile_doc([{"href": "nist-high.json", "include-all": {}}])
    assert named_catalogue(_parsed(document), [OTHER, LOW], "nist-low") == LOW
    with pytest.raises(OscalProfileError, match="no imported catalogue has the id 'nope'"):
        named_catalogue(_parsed(document), [OTHER, LOW], "nope")


def test_a_title_two_imported_versions_share_is_refused_as_ambiguous() -> None:
    newer = KnownCatalogue(3, "nist-low-next", "5.2.0", LOW_TITLE, "low-next.json", "2" * 64)
    with pytest.raises(OscalProfileError, match="matches several imported catalogues"):
        named_catalogue(_parsed(by_resource(**{"include-all": {}})), [LOW, newer])


@pytest.mark.parametrize(
    ("href", "message"),
    [
        ("https://example.org/low.json", "remote catalog and fetching is off"),
        ("file:///etc/passwd", "only http and https catalogs are fetched"),
        ("//example.org/low.json", "only http and https catalogs are fetched"),
    ],
)
def test_an_absolute_href_is_never_read_without_a_fetcher(href: str, message: str) -> None:
    document = profile_doc([{"href": href, "include-all": {}}])
    with pytest.raises(OscalProfileError, match=message):
        named_catalogue(_parsed(document), [LOW])


def test_a_profile_of_two_catalogues_is_refused() -> None:
    document = profile_doc(
        [
            {"href": NIST_LOW.name, "include-all": {}},
            {"href": "basic-catalog.json", "include-all": {}},
        ]
    )
    with pytest.raises(OscalProfileError, match="imports several catalogues"):
        named_catalogue(_parsed(document), [OTHER, LOW])


# --- the store ---------------------------------------------------------------------------------


@pytest.fixture
def imported_low(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with transaction(sessions) as session:
        import_oscal_file(session, TESTER, NIST_LOW, "nist-low")
    return sessions


@pytest.fixture(scope="module")
def shared_low(module_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    """The LOW catalog imported once per module and backend, for the tests whose import is
    refused: each counts profiles and audit events before and after, so a refusal that wrote
    anything still fails the test that caused it."""
    with transaction(module_sessions) as session:
        import_oscal_file(session, TESTER, NIST_LOW, "nist-low")
    return module_sessions


def _write(tmp_path: Path, document: dict[str, Any] | bytes, name: str = "profile.json") -> Path:
    path = tmp_path / name
    path.write_bytes(document if isinstance(document, bytes) else json.dumps(document).encode())
    return path


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(ImportedProfile)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _import(sessions: sessionmaker[Session], path: Path, **options: Any) -> Any:
    with transaction(sessions) as session:
        return import_oscal_profile(session, TESTER, path, **options)


def test_a_profile_is_stored_once_with_its_selection_and_audited(
    imported_low: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _write(tmp_path, by_resource(**{"include-controls": [{"with-ids": ["ac-2", "ac-1"]}]}))
    first = _import(imported_low, path)
    again = _import(imported_low, path)
    assert (first.already_present, again.already_present) == (False, True)
    assert first.record_id == again.record_id
    with imported_low() as session:
        row = session.scalar(select(ImportedProfile))
        assert row is not None
        assert row.control_ids == ["ac-1", "ac-2"]
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (row.title, row.version, row.source_name) == (
            "A force's subset of the LOW baseline",
            "1.0",
            "profile.json",
        )
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["catalogue.imported", "profile.imported"]


def test_changed_content_under_the_same_title_and_version_changes_nothing(
    imported_low: sessionmaker[Session], tmp_path: Path
) -> None:
    _import(imported_low, _write(tmp_path, by_resource(**{"include-all": {}})))
    before = _counts(imported_low)
    changed = _write(
        tmp_path, by_resource(**{"include-controls": [{"with-ids": ["ac-1"]}]}), "changed.json"
    )
    with pytest.raises(ValidationFailed, match=r"already imported .* from different content"):
        _import(imported_low, changed)
    assert _counts(imported_low) == before


def test_a_profile_of_a_catalog_never_imported_is_refused(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _write(tmp_path, by_resource(**{"include-all": {}}))
    with pytest.raises(OscalProfileError, match="has not been imported"):
        _import(sessions, path, fetch=egress_fetcher(EgressPolicy()))
    assert _counts(sessions) == (0, 0)


def test_unknown_ids_are_refused_and_nothing_is_written(
    shared_low: sessionmaker[Session], tmp_path: Path
) -> None:
    before = _counts(shared_low)
    path = _write(tmp_path, by_resource(**{"include-controls": [{"with-ids": ["ac-1", "pm-99"]}]}))
    with pytest.raises(OscalProfileError, match=f"{re.escape(str(path))} at .*no control pm-99"):
        _import(shared_low, path)
    assert _counts(shared_low) == before


# --- remote catalogs ---------------------------------------------------------------------------


class _CatalogHandler(BaseHTTPRequestHandler):
    body = b""
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def catalog_server() -> Iterator[tuple[str, type[_CatalogHandler]]]:
    handler = type("Handler", (_CatalogHandler,), {"body": NIST_LOW.read_bytes(), "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_remote_catalog_on_loopback_is_refused_by_default(
    shared_low: sessionmaker[Session],
    tmp_path: Path,
    catalog_server: tuple[str, type[_CatalogHandler]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ASSURE_EGRESS_ALLOW", raising=False)
    base, handler = catalog_server
    before = _counts(shared_low)
    path = _write(tmp_path, profile_doc([{"href": f"{base}/low.json", "include-all": {}}]))
    with pytest.raises(OscalProfileError, match=r"refused by the egress policy .*loopback"):
        _import(shared_low, path)
    assert handler.hits == []
    assert _counts(shared_low) == before


def test_a_remote_catalog_is_fetched_when_loopback_is_allowed(
    imported_low: sessionmaker[Session],
    tmp_path: Path,
    catalog_server: tuple[str, type[_CatalogHandler]],
) -> None:
    base, handler = catalog_server
    path = _write(
        tmp_path,
        profile_doc([{"href": f"{base}/low.json", "include-controls": [{"with-ids": ["ac-1"]}]}]),
    )
    result = _import(imported_low, path, fetch=egress_fetcher(EgressPolicy.loopback_only()))
    assert handler.hits == ["/low.json"]
    assert (result.profile.catalogue_id, result.profile.control_ids) == ("nist-low", ["ac-1"])


def test_a_served_copy_that_differs_byte_for_byte_matches_by_title_and_version(
    imported_low: sessionmaker[Session],
    tmp_path: Path,
    catalog_server: tuple[str, type[_CatalogHandler]],
) -> None:
    base, handler = catalog_server
    handler.body = json.dumps(json.loads(NIST_LOW.read_bytes()), indent=1).encode()
    path = _write(tmp_path, profile_doc([{"href": f"{base}/low.json", "include-all": {}}]))
    result = _import(imported_low, path, fetch=egress_fetcher(EgressPolicy.loopback_only()))
    assert result.profile.catalogue_id == "nist-low"
    handler.body = json.dumps(
        {"catalog": {"metadata": {"title": "Another", "version": "1"}}}
    ).encode()
    other = _write(
        tmp_path,
        profile_doc([{"href": f"{base}/x.json", "include-all": {}}], title="Other"),
        "other.json",
    )
    with pytest.raises(OscalProfileError, match="'Another' 1, which has not been imported"):
        _import(imported_low, other, fetch=egress_fetcher(EgressPolicy.loopback_only()))


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_dead_peer_fails_cleanly_and_quickly(
    shared_low: sessionmaker[Session], tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/low.json"
    path = _write(tmp_path, profile_doc([{"href": url, "include-all": {}}]))
    before = _counts(shared_low)
    started = time.monotonic()
    with pytest.raises(OscalProfileError, match=r"cannot fetch http://127\.0\.0\.1"):
        _import(shared_low, path, fetch=egress_fetcher(EgressPolicy.loopback_only(), 1.0, 2.0))
    assert time.monotonic() - started < 5
    assert _counts(shared_low) == before


def test_a_hanging_peer_fails_at_the_deadline(
    shared_low: sessionmaker[Session], tmp_path: Path
) -> None:
    with serving(stall_handler) as server:
        url = f"http://127.0.0.1:{server.port}/low.json"
        path = _write(tmp_path, profile_doc([{"href": url, "include-all": {}}]))
        started = time.monotonic()
        with pytest.raises(OscalProfileError, match=r"within the total deadline of 1\.5s"):
            _import(shared_low, path, fetch=egress_fetcher(EgressPolicy.loopback_only(), 5.0, 1.5))
        assert time.monotonic() - started < 2.9  # the peer stalls for 3 s
    assert _counts(shared_low)[0] == 0


# --- hostile files -----------------------------------------------------------------------------


def _sparse(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


HOSTILE: dict[str, tuple[Any, str]] = {
    "deep nesting": (
        b'{"profile": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "refused: nested deeper than 64 levels",
    ),
    "not JSON": (b"\xff\xfe<profile/>", "not (valid|UTF-8) JSON"),
    "a catalog": (
        None,
        r"not an OSCAL profile \(no top-level 'profile'\) \(it is an OSCAL catalog\)",
    ),
    "a list": (b"[1, 2, 3]", "not an OSCAL profile"),
    "a million with-ids": (
        b'{"profile": {"imports": [{"include-controls": [{"with-ids": ['
        + b",".join([b'"a"'] * 1_000_000)
        + b"]}]}]}}",
        "at /profile/imports/0/include-controls: refused: more than 20000 control ids",
    ),
    "a 100k-digit number": (
        b'{"profile": {"uuid": ' + b"1" * 100_000 + b"}}",
        "a number is longer",
    ),
    "schema lie": (
        json.dumps(profile_doc([{"href": "x.json", "include-all": {}}])).replace(
            '"uuid": "3c0d6c1e', '"uuid": "not-a-uuid'
        ),
        r"not a valid OSCAL profile: /profile/uuid",
    ),
    "an overlong title": (profile_doc([{"href": "x.json", "include-all": {}}], "t" * 401), "title"),
    # Accepted by the schema; PostgreSQL text cannot hold it.
    "a NUL in the title": (
        profile_doc([{"href": "x.json", "include-all": {}}], "Low\u0000baseline"),
        "/profile/metadata/title: holds a NUL character",
    ),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_profiles_are_refused_with_file_and_reason_and_nothing_is_written(
    shared_low: sessionmaker[Session], tmp_path: Path, case: str
) -> None:
    content, reason = HOSTILE[case]
    if content is None:
        content = NIST_LOW.read_bytes()
    if isinstance(content, str):
        content = content.encode()
    path = _write(tmp_path, content)
    before = _counts(shared_low)
    started = time.monotonic()
    with pytest.raises(OscalProfileError, match=f"^{re.escape(str(path))}.*{reason}"):
        _import(shared_low, path, catalogue_id="nist-low")
    assert time.monotonic() - started < 20
    assert _counts(shared_low) == before


def test_a_60_mb_file_is_refused_before_it_is_read(
    shared_low: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _sparse(tmp_path, 60 * 1024 * 1024)
    before = _counts(shared_low)
    with pytest.raises(
        OscalProfileError, match=f"^{re.escape(str(path))}: 62914560 bytes is over the"
    ):
        _import(shared_low, path)
    assert _counts(shared_low) == before


# --- concurrency -------------------------------------------------------------------------------


def test_twenty_concurrent_imports_of_one_profile_store_one_row(
    imported_low: sessionmaker[Session], tmp_path: Path
) -> None:
    path = _write(tmp_path, by_resource(**{"include-controls": [{"with-ids": ["ac-1", "ac-2"]}]}))
    start = threading.Barrier(20)
    outcomes: list[object] = [None] * 20

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = _import(imported_low, path).already_present
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(map(str, outcomes)) == ["False"] + ["True"] * 19
    with imported_low() as session:
        assert session.scalar(select(func.count()).select_from(ImportedProfile)) == 1
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "profile.imported")
        )
    assert audited == 1
