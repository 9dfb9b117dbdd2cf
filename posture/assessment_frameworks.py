"""Which framework an assessment is made against, and the frameworks one can be made against."""

from __future__ import annotations

from sqlalchemy.orm import Session

from frameworks.catalogue_view import catalogue_id_of
from frameworks.library import shipped_library
from frameworks.loader import LoadedFramework, default_framework
from kernel.errors import DatabaseError, ValidationFailed
from posture.storage.models import Assessment, FrameworkVersion


def assessable_frameworks() -> list[LoadedFramework]:
    """Every shipped framework version, the default (PTSbD) first, then by catalogue id."""
    default = default_framework()
    others = sorted(
        (f for f in shipped_library().frameworks.values() if f.key != default.key),
        key=lambda f: catalogue_id_of(f.framework),
    )
    return [default, *others]


def framework_named(catalogue_id: str | None) -> LoadedFramework:
    """`ncsc-caf-4.0`, `ncsc-caf` (its newest version) or None for the default framework."""
    if not catalogue_id:
        return default_framework()
    try:
        loaded = shipped_library().by_catalogue_id(catalogue_id)
    except KeyError:
        known = ", ".join(catalogue_id_of(f.framework) for f in assessable_frameworks())
        raise ValidationFailed(
            f"framework: unknown framework {catalogue_id!r}; choose one of {known}"
        ) from None
    # The default is loaded once and cached; hand out that one object so tables cached by
    # identity (scoring) are shared.
    default = default_framework()
    return default if loaded.key == default.key else loaded


def framework_of(session: Session, assessment: Assessment) -> LoadedFramework:
    row = session.get(FrameworkVersion, assessment.framework_version_id)
    if row is None:
        raise DatabaseError(f"assessment {assessment.id} names no framework version")
    return framework_of_version(row)


def framework_of_version(row: FrameworkVersion) -> LoadedFramework:
    """The shipped framework an assessment was made against; refused when this release does not
    ship that version, or ships other content under its name, since answers would then be read
    against outcomes and indicators they were not given for."""
    default = default_framework()
    if (row.framework_id, row.version) == default.key:
        loaded = default
    else:
        found = shipped_library().frameworks.get((row.framework_id, row.version))
        if found is None:
            raise DatabaseError(
                f"framework {row.framework_id} {row.version} is in the database but this "
                "release does not ship it; use the release that does"
            )
        loaded = found
    if not loaded.pins_content(row.content_sha256):
        raise DatabaseError(
            f"framework {row.framework_id} {row.version} in the database was made against other "
            "content than this release ships; publish changes as a new framework version"
        )
    return loaded
