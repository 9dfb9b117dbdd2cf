"""Store OSCAL profiles resolved against catalogues already imported, once each, with an audit
event. A profile is read, validated and resolved in full before anything is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from checks.egress import EgressPolicy
from checks.fetch import fetch as egress_fetch
from frameworks.catalogue import UpstreamCatalogue
from frameworks.oscal.importer import MAX_CATALOG_BYTES
from frameworks.oscal.profile import (
    MAX_PROFILE_BYTES,
    Fetch,
    KnownCatalogue,
    OscalProfileError,
    ResolvedProfile,
    named_catalogue,
    parse_oscal_profile,
    resolve_profile,
)
from kernel.errors import ValidationFailed
from kernel.settings import load_settings
from posture.audit import Actor, hold_append_lock, record
from posture.storage.locks import hold_exclusive
from posture.storage.models import ImportedCatalogue, ImportedProfile

# A catalog is fetched only to learn which imported catalogue it is; a slow or stalled server
# must not hold an import (and its caller) for longer than this in all.
FETCH_TIMEOUT_SECONDS = 10.0
FETCH_DEADLINE_SECONDS = 30.0
PROFILES_LOCK = "imported-profiles"


@dataclass(frozen=True)
class ProfileImport:
    record_id: int
    profile: ResolvedProfile
    already_present: bool


def egress_fetcher(
    policy: EgressPolicy,
    timeout: float = FETCH_TIMEOUT_SECONDS,
    deadline_seconds: float = FETCH_DEADLINE_SECONDS,
) -> Fetch:
    """A catalog fetcher bound by the egress policy, a size cap and a total deadline."""

    def fetch_catalog(url: str) -> bytes:
        return egress_fetch(
            url,
            policy,
            timeout=timeout,
            max_bytes=MAX_CATALOG_BYTES,
            deadline_seconds=deadline_seconds,
        )

    return fetch_catalog


def _settings_fetch(url: str) -> bytes:
    # The settings are read only when a profile names a remote catalog.
    return egress_fetcher(EgressPolicy.from_settings(load_settings()))(url)


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_PROFILE_BYTES:
            raise OscalProfileError(
                f"{path}: {size} bytes is over the {MAX_PROFILE_BYTES} byte limit"
            )
        return path.read_bytes()
    except OSError as exc:
        raise OscalProfileError(f"{path}: cannot be read ({exc.strerror})") from exc


def _known(session: Session) -> list[KnownCatalogue]:
    rows = session.execute(
        select(
            ImportedCatalogue.id,
            ImportedCatalogue.catalogue_id,
            ImportedCatalogue.version,
            ImportedCatalogue.title,
            ImportedCatalogue.source_name,
            ImportedCatalogue.sha256,
        ).order_by(ImportedCatalogue.id)
    ).all()
    return [KnownCatalogue(*row) for row in rows]


def import_oscal_profile(
    session: Session,
    actor: Actor,
    path: Path,
    catalogue_id: str | None = None,
    fetch: Fetch | None = None,
) -> ProfileImport:
    """Resolve the profile at `path` against an imported catalogue and store its selection.
    `fetch` reads a catalog an href names by URL; by default through the egress policy the
    settings give (which refuses private and loopback addresses unless they are allowed)."""
    raw = _read(path)
    parsed = parse_oscal_profile(raw, str(path))
    chosen = named_catalogue(parsed, _known(session), catalogue_id, fetch or _settings_fetch)
    record_row = session.get(ImportedCatalogue, chosen.record_id)
    assert record_row is not None  # listed by _known in this transaction
    resolved = resolve_profile(parsed, UpstreamCatalogue.model_validate(record_row.content))
    digest = hashlib.sha256(raw).hexdigest()

    # The audit lock first, as every audited path takes it, then this table's: the check for an
    # existing row and the insert happen with no other import in between.
    hold_append_lock(session)
    hold_exclusive(session, PROFILES_LOCK)
    existing = session.scalar(
        select(ImportedProfile).where(
            ImportedProfile.imported_catalogue_id == chosen.record_id,
            ImportedProfile.title == resolved.title,
            ImportedProfile.version == resolved.version,
        )
    )
    if existing is not None:
        if existing.sha256 != digest:
            raise ValidationFailed(
                f"profile {resolved.title!r} {resolved.version} was already imported for "
                f"{chosen.catalogue_id} {chosen.version} from different content; give the "
                "changed profile a new version"
            )
        return ProfileImport(existing.id, resolved, already_present=True)
    row = ImportedProfile(
        profile_uuid=resolved.profile_uuid,
        title=resolved.title,
        version=resolved.version,
        imported_catalogue_id=chosen.record_id,
        control_ids=resolved.control_ids,
        sha256=digest,
        source_name=path.name[:255],
        imported_by_user_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "profile.imported",
        "imported_profile",
        row.id,
        {
            "profile": resolved.profile_uuid,
            "version": resolved.version,
            "catalogue_id": chosen.catalogue_id,
            "catalogue_version": chosen.version,
            "sha256": digest,
            "controls": len(resolved.control_ids),
        },
    )
    return ProfileImport(row.id, resolved, already_present=False)
