"""A migrated database holding the multi-tenant test world, a second supplier's admin, and
scoped bearer tokens for each identity the API tests use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from kernel.settings import Settings, load_settings
from posture.identity.tokens import issue_token, known_scopes, signing_key
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import Membership, User
from posture.storage.models.enums import Role
from supplier_portal.procurement import lots, shortlists
from supplier_portal.procurement.gates import Gates
from supplier_portal.procurement.shortlists import RequirementForm
from tests.identity.world import World, build_world

IDENTITIES = {
    "s1": (Role.SUPPLIER_ADMIN, None),
    "s2": (Role.SUPPLIER_ADMIN, "s2"),
    "assessor": (Role.NATIONAL_ASSESSOR, None),
    "buyer": (Role.PROCUREMENT_OFFICER, None),
    "force": (Role.FORCE_ASSESSOR, None),
}


@dataclass(frozen=True)
class ApiWorld:
    world: World
    settings: Settings
    tokens: dict[str, str]
    shortlist_version_id: int


def prepare(data_dir: Path, database_url: str | None = None) -> ApiWorld:
    environ = {"ASSURE_DATA_DIR": str(data_dir)}
    if database_url:
        environ["ASSURE_DATABASE_URL"] = database_url
    settings = load_settings(environ)
    engine = build_engine(settings)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    key = signing_key(settings)
    tokens = {}
    with transaction(sessions) as session:
        world = build_world(session)
        s2_admin = User(email="admin@s2.example.police.uk", display_name="s2 admin")
        session.add(s2_admin)
        session.flush()
        session.add(
            Membership(
                user_id=s2_admin.id,
                organisation_id=world.orgs["s2"].organisation_id,
                role=Role.SUPPLIER_ADMIN,
            )
        )
        session.flush()
        for name, (role, org) in IDENTITIES.items():
            user = s2_admin if org == "s2" else session.get(User, world.users[role])
            assert user is not None
            token, _ = issue_token(
                session, None, key, user, sorted(known_scopes()), minutes=60, description=name
            )
            tokens[name] = token
        version_id = _shortlist(session, world)
    engine.dispose()
    return ApiWorld(world, settings, tokens, version_id)


def _shortlist(session: Session, world: World) -> int:
    """A saved shortlist of the national body's buyer (no product listed yet: empty)."""
    buyer = world.principal(Role.PROCUREMENT_OFFICER)
    home = world.orgs["n1"].organisation_id
    framework = lots.create_framework(session, buyer, home, "Digital evidence")
    lot = lots.add_lot(session, buyer, framework.id, "dems", "Evidence management", Gates())
    form = RequirementForm(
        title="Control room evidence",
        lot_ids=[lot.id],
        criteria=[
            {"key": "security_posture", "weight": 60},
            {"key": "price", "weight": 30},
            {"key": "social_value", "weight": 10},
        ],
    )
    requirement = shortlists.create_requirement(session, buyer, home, form)
    return shortlists.save_shortlist(session, buyer, requirement.id, {}, date.today()).id
