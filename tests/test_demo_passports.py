"""The demo shows passports on first sign-in: the national assessor's acceptance of the demo
force's deployed products issues their passports, the force relies on those its use allows,
other forces rely on the first, and one is suspended, on the revocation list and in the
deploying forces' inboxes."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from kernel.settings import Settings
from posture.demo.seed import seed_demo
from posture.passport.registry import revocation_list, verify_here
from posture.platform_keys import platform_keys
from posture.storage.engine import transaction
from posture.storage.models import Alert, Passport, PassportReliance
from supplier_portal.demo_passports import seed_passports
from supplier_portal.demo_risk import seed_risk_register
from tests.cli import assure, cli_env

AS_OF = date(2026, 11, 1)


def test_the_demo_issues_relies_on_and_suspends_passports(
    sessions: sessionmaker[Session], backend_settings: Settings
) -> None:
    keys = platform_keys(backend_settings)
    with transaction(sessions) as session:
        result = seed_demo(session, 20, seed=2026, as_of=AS_OF, with_logins=True)
        emails = {login.role: login.email for login in result.logins}
        register = seed_risk_register(session, emails["force_assessor"], emails["siro"], AS_OF)
        assert register is not None
        made = seed_passports(
            session,
            emails["national_assessor"],
            emails["force_assessor"],
            keys,
            register["product_ids"],
        )
    assert len(made["passports"]) == 3
    assert made["relied_on_by_demo_force"]
    assert made["other_forces_relying"] >= 10
    with sessions() as session:
        documents = dict(session.execute(select(Passport.number, Passport.document)).all())
        listed = json.loads(revocation_list(session, keys))["revocations"]["entries"]
        verdicts = {
            number: verify_here(session, keys.public(), document).state
            for number, document in documents.items()
        }
        reliances = session.scalar(select(func.count()).select_from(PassportReliance))
        told = session.scalars(
            select(Alert.organisation_id).where(Alert.code == "PASSPORT-SUSPENDED")
        ).all()
    assert [e["number"] for e in listed] == [made["suspended_passport"]]
    assert verdicts[made["suspended_passport"]] == "suspended"
    assert sorted(set(verdicts.values())) == ["suspended", "valid"]
    assert reliances == len(made["relied_on_by_demo_force"]) + made["other_forces_relying"]
    # The supplier and both forces deploying the third product.
    assert len(told) == 3


def test_the_cli_demo_reports_its_passports(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = cli_env(tmp_path / "data")
    assert assure("db", "upgrade", env=env).returncode == 0
    seeded = assure("demo", "seed", "--suppliers", "20", "--with-logins", "--json", env=env)
    assert seeded.returncode == 0, seeded.stderr
    passports = json.loads(seeded.stdout)["passports"]
    assert len(passports["passports"]) == 3
    assert passports["suspended_passport"] in passports["passports"]
