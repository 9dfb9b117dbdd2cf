"""Walk the permission table: every role against every service function, on its own
organisation's record, another tenant's record and a record that does not exist.

Allowed -> it works. No grant -> PermissionDenied. Outside the grant -> NotFound, worded exactly
as for a record that does not exist, so a refusal never reveals that another tenant's record is
there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kernel.errors import AssureError
from kernel.settings import Settings
from posture.audit_log import recent_events
from posture.identity.accounts import grant_role
from posture.identity.permissions import NotFound, PermissionDenied, Principal, permission_table
from posture.scoring.service import product_score
from posture.storage.models.enums import Role
from supplier_portal import assessments, check_results, evidence, products
from supplier_portal.forms import AnswerForm, DeploymentModel, ProductCategory, ProductForm
from tests.identity.world import OrgObjects

MISSING = 999_999
AS_OF = date(2026, 11, 1)
FORM = ProductForm(
    name="Case Vault",
    category=ProductCategory.DIGITAL_EVIDENCE,
    deployment_model=DeploymentModel.SAAS,
)
ANSWER = AnswerForm(outcome_id="A1.b", indicators_met=["A1.b.PA1"])


def _start(s: Session, p: Principal, t: OrgObjects, _: Settings) -> Any:
    profile = "supplier-saas" if t.product_id is not None else "force-baseline"
    return assessments.start_assessment(s, p, t.organisation_id, t.product_id, profile)


@dataclass(frozen=True)
class Case:
    name: str
    permission: str
    needs: str  # the OrgObjects field the call uses; None there means "nothing to act on"
    call: Callable[[Session, Principal, OrgObjects, Settings], Any]


CASES = [
    Case(
        "get_product",
        "product.read",
        "product_id",
        lambda s, p, t, _: products.get_product(s, p, t.product_id),
    ),
    Case(
        "create_product",
        "product.write",
        "product_id",
        lambda s, p, t, _: products.create_product(s, p, t.organisation_id, FORM),
    ),
    Case(
        "update_product",
        "product.write",
        "product_id",
        lambda s, p, t, _: products.update_product(s, p, t.product_id, FORM),
    ),
    Case(
        "withdraw_product",
        "product.write",
        "product_id",
        lambda s, p, t, _: products.withdraw_product(s, p, t.product_id),
    ),
    Case(
        "get_assessment",
        "assessment.read",
        "draft_assessment_id",
        lambda s, p, t, _: assessments.get_assessment(s, p, t.draft_assessment_id),
    ),
    Case(
        "list_answers",
        "assessment.read",
        "draft_assessment_id",
        lambda s, p, t, _: assessments.list_answers(s, p, t.draft_assessment_id),
    ),
    Case("start_assessment", "assessment.write", "organisation_id", _start),
    Case(
        "save_answer",
        "assessment.write",
        "draft_assessment_id",
        lambda s, p, t, _: assessments.save_answer(s, p, t.draft_assessment_id, ANSWER),
    ),
    Case(
        "submit_assessment",
        "assessment.submit",
        "draft_assessment_id",
        lambda s, p, t, _: assessments.submit_assessment(s, p, t.draft_assessment_id),
    ),
    Case(
        "add_evidence",
        "evidence.write",
        "draft_assessment_id",
        lambda s, p, t, settings: evidence.add_evidence(
            s, p, settings, t.draft_assessment_id, "policy.pdf", b"%PDF-1.7 test"
        ),
    ),
    Case(
        "list_evidence",
        "assessment.read",
        "draft_assessment_id",
        lambda s, p, t, _: evidence.list_evidence(s, p, t.draft_assessment_id),
    ),
    Case(
        "get_check_run",
        "check.read",
        "check_run_id",
        lambda s, p, t, _: check_results.get_check_run(s, p, t.check_run_id),
    ),
    Case(
        "product_score",
        "score.read",
        "product_id",
        lambda s, p, t, _: product_score(s, p, t.product_id, AS_OF),
    ),
    Case(
        "grant_role",
        "membership.manage",
        "organisation_id",
        lambda s, p, t, _: grant_role(s, p, 1, t.organisation_id, Role.SUPPLIER_MEMBER),
    ),
]


def _outcome(call: Callable[[], Any]) -> tuple[str, str]:
    try:
        call()
    except PermissionDenied as exc:
        return "denied", str(exc)
    except NotFound as exc:
        return "not found", str(exc)
    except AssureError as exc:
        return f"error {type(exc).__name__}", str(exc)
    return "ok", ""


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_role_against_service_function(role: Role, case: Case, world_db) -> None:
    world, sessions, settings = world_db
    grant = permission_table().permissions[case.permission].grants.get(role)
    principal = world.principal(role)
    own = world.orgs[world.home_org[role]]
    foreign = world.orgs["s2"]
    missing = replace(foreign, **{case.needs: MISSING})

    def attempt(target: OrgObjects) -> tuple[str, str]:
        with sessions() as session:
            result = _outcome(lambda: case.call(session, principal, target, settings))
            session.rollback()
        return result

    has_own = getattr(own, case.needs) is not None
    if grant is None:
        for target in (own, foreign, missing) if has_own else (foreign, missing):
            assert attempt(target)[0] == "denied"
        return
    if has_own:
        assert attempt(own) == ("ok", ""), f"{role} should reach its own {case.needs}"
    foreign_result, missing_result = attempt(foreign), attempt(missing)
    assert missing_result[0] == "not found"
    if grant == "any":
        assert foreign_result == ("ok", "")
    else:
        assert foreign_result == missing_result, "a refusal must not reveal the record exists"


LISTS = [
    ("list_products", "product.read", lambda s, p: products.list_products(s, p)),
    ("list_assessments", "assessment.read", lambda s, p: assessments.list_assessments(s, p)),
    ("list_check_runs", "check.read", lambda s, p: check_results.list_check_runs(s, p)),
    ("recent_events", "audit.read", lambda s, p: recent_events(s, p)),
]


@pytest.mark.parametrize(("name", "permission", "call"), LISTS, ids=[x[0] for x in LISTS])
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_lists_hold_only_what_the_role_may_see(
    role: Role, name: str, permission: str, call, world_db
) -> None:
    world, sessions, _ = world_db
    grant = permission_table().permissions[permission].grants.get(role)
    principal = world.principal(role)
    with sessions() as session:
        if grant is None:
            with pytest.raises(PermissionDenied):
                call(session, principal)
            return
        owners = {row.organisation_id for row in call(session, principal)}
    own_id = world.orgs[world.home_org[role]].organisation_id
    if grant == "own":
        assert owners <= {own_id}
    else:
        assert {world.orgs["s1"].organisation_id, world.orgs["s2"].organisation_id} <= owners
