"""Framework exchange for people using the app: upload a CISO Assistant library, an OSCAL catalog
or an OSCAL profile; download a shipped framework as a CISO Assistant library or an OSCAL catalog.

Imports need `framework.manage`. An upload is checked whole by the same readers as the command
line (size, depth, aliases, schema, ids) before anything is stored; the bytes go to a private
temporary file only because those readers take a path, and the file is gone when this returns.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy.orm import Session

from frameworks.catalogue_view import catalogue_id_of
from frameworks.loader import LoadedFramework
from kernel.errors import ValidationFailed
from kernel.upload_limit import FRAMEWORK_UPLOAD_BYTES
from posture.audit import Actor
from posture.identity.accounts import actor_of
from posture.identity.permissions import PermissionDenied, Principal, visible_organisations

PERMISSION = "framework.manage"
MAX_UPLOAD_BYTES = FRAMEWORK_UPLOAD_BYTES
# What a file name may look like once stored as the import's source name.
SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class UploadKind(StrEnum):
    CISO_LIBRARY = "ciso-assistant library (YAML)"
    OSCAL_CATALOG = "OSCAL catalog (JSON)"
    OSCAL_PROFILE = "OSCAL profile (JSON)"


@dataclass(frozen=True)
class UploadResult:
    summary: str
    already_present: bool


def require_manager(principal: Principal) -> None:
    """Framework data is shared by every tenant: only an estate-wide grant may change it."""
    if visible_organisations(principal, PERMISSION) is not None:
        raise PermissionDenied("importing framework catalogues needs an estate-wide role")


def _safe_name(name: str, kind: UploadKind) -> str:
    base = "".join(c if c in SAFE_NAME else "_" for c in Path(name or "").name)[:120].strip("._")
    suffix = ".yaml" if kind is UploadKind.CISO_LIBRARY else ".json"
    return (base or "upload") if base.endswith((".yaml", ".yml", ".json")) else base + suffix


def import_upload(
    session: Session,
    principal: Principal,
    kind: UploadKind,
    name: str,
    data: bytes,
    catalogue_id: str | None = None,
) -> UploadResult:
    """Check and store one uploaded file; refused input changes nothing."""
    require_manager(principal)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(f"file: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    if not data:
        raise ValidationFailed("file: empty")
    actor = actor_of(principal)
    with tempfile.TemporaryDirectory(prefix="assure-upload-") as folder:
        path = Path(folder) / _safe_name(name, kind)
        path.write_bytes(data)
        return _import_path(session, actor, kind, path, catalogue_id or None)


def _import_path(
    session: Session, actor: Actor, kind: UploadKind, path: Path, catalogue_id: str | None
) -> UploadResult:
    # The readers pull in YAML, trestle and the schema validator: loaded when first used.
    from frameworks.ciso_assistant.errors import CisoLibraryError
    from frameworks.oscal.importer import OscalImportError
    from posture.catalogue_store import import_ciso_file, import_oscal_file
    from posture.profile_store import import_oscal_profile

    try:
        if kind is UploadKind.OSCAL_PROFILE:
            profile = import_oscal_profile(session, actor, path, catalogue_id)
            resolved = profile.profile
            return UploadResult(
                f"profile {resolved.title} {resolved.version}: {len(resolved.control_ids)} "
                f"controls of {resolved.catalogue_id} {resolved.catalogue_version}",
                profile.already_present,
            )
        store = import_ciso_file if kind is UploadKind.CISO_LIBRARY else import_oscal_file
        stored = store(session, actor, path, catalogue_id)
    except (CisoLibraryError, OscalImportError) as exc:
        # The readers name the file by its temporary path; the user knows it by its own name.
        raise ValidationFailed(str(exc).replace(str(path.parent) + "/", "")) from None
    catalogue = stored.catalogue
    return UploadResult(
        f"catalogue {catalogue.catalogue_id} {catalogue.version}: {catalogue.title} "
        f"({stored.control_count} requirements)",
        stored.already_present,
    )


def framework_download(loaded: LoadedFramework, form: str) -> tuple[str, bytes]:
    """(file name, bytes) of a shipped framework as a CISO Assistant library or OSCAL catalog.
    Shipped frameworks are public: anyone who may read the framework page may download them."""
    key = catalogue_id_of(loaded.framework)
    if form == "ciso":
        from frameworks.ciso_assistant.export import export_framework, library_yaml

        return f"{key}.yaml", library_yaml(export_framework(loaded)).encode()
    if form == "oscal":
        from frameworks.oscal.export import export_oscal

        document = export_oscal(loaded)
        return f"{key}.oscal.json", (
            json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        ).encode()
    raise ValidationFailed(f"format: {form!r} is not ciso or oscal")
