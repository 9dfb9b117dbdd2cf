"""A national assessor's acceptance of a product's assessment in full issues its passport,
stating what the records say at that moment; a newer one supersedes it; the CLI verifies it
offline with the published keys and revocation list, and against the platform's records."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from checks.certificate_file import run_certificate_check
from kernel.clock import utcnow
from posture.audit import SYSTEM, verify_chain
from posture.check_runs import record_check_run
from posture.passport.document import PassportBody
from posture.passport.issue import NoPassport, add_months, assessment_digest, issue_passport
from posture.passport.registry import revocation_list, verify_here
from posture.storage.engine import transaction
from posture.storage.models import Answer, Assessment, AuditEvent, Passport
from posture.storage.models.enums import PassportStatus, Role
from supplier_portal.reviews import review_answer
from tests.cli import assure, cli_env
from tests.passport.conftest import Db, Issued, accept_in_full, issue_for
from tests.peers.certificates import make_certificate


def _body(document: bytes) -> PassportBody:
    return PassportBody.model_validate(json.loads(document)["passport"])


def test_accepting_a_product_assessment_in_full_issues_its_signed_passport(
    issued: Issued,
) -> None:
    world, s1 = issued.world, issued.world.orgs["s1"]
    body = _body(issued.document)
    with issued.sessions() as session:
        assessment = session.get(Assessment, s1.submitted_assessment_id)
        assert assessment is not None
        assert body.assessment.sha256 == assessment_digest(session, assessment)
        passport = session.scalars(select(Passport)).one()
        verdict = verify_here(session, issued.keys.public(), issued.document)
        issued_events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "passport.issued")
        ).all()
        assert verify_chain(session).intact
    assert verdict.state == "valid", verdict.reasons
    assert (body.product.id, body.supplier.id) == (s1.product_id, s1.organisation_id)
    assert body.assessment.id == s1.submitted_assessment_id
    assert body.profile.id == "supplier-saas"
    assert "supplier-saas" in body.profile.why
    assert [run.id for run in body.check_runs] == [s1.check_run_id]
    assert body.issuer_fingerprint == issued.keys.fingerprint
    issued_at = passport.issued_at
    assert body.expires_at == add_months(issued_at, 12).isoformat()
    assert body.expiry_reason == "validity"
    assert passport.status == PassportStatus.ISSUED
    assert [e.object_id for e in issued_events] == [str(passport.id)]
    assert world.orgs["s2"].product_id not in {body.product.id}


def test_no_passport_until_the_last_answer_is_accepted(world_db: Db) -> None:
    world, sessions, settings = world_db
    from posture.platform_keys import platform_keys

    keys = platform_keys(settings)
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        session.add(
            Answer(
                assessment_id=s1.submitted_assessment_id,
                outcome_id="A1.b",
                indicators_met=[],
                provenance="self_asserted",
                answered_at=utcnow(),
            )
        )
    assessor = world.principal(Role.NATIONAL_ASSESSOR)
    with sessions() as session:
        first, second = session.scalars(
            select(Answer.id)
            .where(Answer.assessment_id == s1.submitted_assessment_id)
            .order_by(Answer.id)
        ).all()
    with transaction(sessions) as session:
        review_answer(session, assessor, first, "accept", keys=keys)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Passport)) == 0
    with transaction(sessions) as session:
        review_answer(session, assessor, second, "query", "please give the evidence", keys=keys)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Passport)) == 0


def test_a_force_assessment_gets_no_passport(world_db: Db) -> None:
    world, sessions, settings = world_db
    from posture.platform_keys import platform_keys

    with transaction(sessions) as session:
        accept_in_full(
            session, world, world.orgs["f1"].submitted_assessment_id, platform_keys(settings)
        )
        assessment = session.get(Assessment, world.orgs["f1"].submitted_assessment_id)
        assert assessment is not None
        assert assessment.status == "accepted"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Passport)) == 0
    with transaction(sessions) as session, pytest.raises(NoPassport, match="a force's"):
        issue_passport(session, SYSTEM, platform_keys(settings), assessment.id)
    with pytest.raises(NoPassport, match="not accepted"), transaction(sessions) as session:
        issue_passport(
            session, SYSTEM, platform_keys(settings), world.orgs["s2"].submitted_assessment_id
        )


def test_a_newer_passport_supersedes_the_older_and_the_list_says_so(issued: Issued) -> None:
    with transaction(issued.sessions) as session:
        newer = issue_passport(
            session, SYSTEM, issued.keys, issued.world.orgs["s1"].submitted_assessment_id
        )
        newer_number = newer.number
    with issued.sessions() as session:
        older = session.scalars(select(Passport).where(Passport.number == issued.number)).one()
        assert (older.status, older.status_reason) == (PassportStatus.SUPERSEDED, "superseded")
        assert older.status_detail == {"by": newer_number}
        listed = json.loads(revocation_list(session, issued.keys))["revocations"]["entries"]
        verdict = verify_here(session, issued.keys.public(), issued.document)
    assert [(e["number"], e["status"]) for e in listed] == [(issued.number, "superseded")]
    assert verdict.state == "superseded"


def test_a_cited_certificate_that_expires_first_ends_the_passport_that_day(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, _ = world_db
    s1 = world.orgs["s1"]
    cert, _key = make_certificate(tmp_path, days=40)
    report = run_certificate_check(cert.read_bytes(), "vault-cert.pem")
    with transaction(sessions) as session:
        record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id)
    issued = issue_for(world_db)
    body = _body(issued.document)
    cited = [run for run in body.check_runs if run.kind == "cert"]
    assert len(cited) == 1
    assert cited[0].certificate_not_after is not None
    assert body.expires_at == cited[0].certificate_not_after
    assert body.expiry_reason == "certificate"
    with issued.sessions() as session:
        assert verify_here(session, issued.keys.public(), issued.document).valid
        after = utcnow() + timedelta(days=41)
        assert verify_here(session, issued.keys.public(), issued.document, after).state == (
            "expired"
        )


def test_the_cli_verifies_offline_and_on_the_platform(issued: Issued, tmp_path: Path) -> None:
    env = cli_env(issued.settings.data_dir)
    passport = tmp_path / "passport.json"
    passport.write_bytes(issued.document)
    keys, listed = tmp_path / "keys.json", tmp_path / "revocations.json"
    assert assure("passport", "keys", "--out", str(keys), env=env).returncode == 0
    assert assure("passport", "revocations", "--out", str(listed), env=env).returncode == 0
    offline = assure(
        "passport", "verify", str(passport), "--keys", str(keys), "--revocations",
        str(listed), "--json", env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    verdict = json.loads(offline.stdout)
    assert (verdict["valid"], verdict["number"]) == (True, issued.number)
    assert "revocation list issued" in verdict["checked_against"]
    here = assure("passport", "verify", str(passport), env=env)
    assert here.returncode == 0, here.stderr
    assert here.stdout.splitlines()[-1].startswith("valid: ")

    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(issued.document.replace(b'"band":"', b'"band":"A', 1))
    refused = assure("passport", "verify", str(tampered), env=env)
    assert refused.returncode == 1
    assert "invalid: " in refused.stdout
    one_only = assure("passport", "verify", str(passport), "--keys", str(keys), env=env)
    assert one_only.returncode == 2
    assert "both --keys and --revocations" in one_only.stderr
    later = assure(
        "passport", "verify", str(passport), "--keys", str(keys), "--revocations", str(listed),
        "--at", (utcnow() + timedelta(days=2)).isoformat(), env=env,
    )  # fmt: skip
    assert later.returncode == 1
    assert "out of date" in later.stdout


def test_the_pdf_summary_states_the_passport_and_carries_its_qr_code(issued: Issued) -> None:
    import hashlib
    import io

    from pypdf import PdfReader

    from posture.passport.summary_pdf import passport_pdf, qr_payload

    pdf = passport_pdf(issued.document)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    body = _body(issued.document)
    for stated in (issued.number, body.product.name, f"Band {body.band}", body.supplier.name):
        assert stated in text, stated
    digest = hashlib.sha256(issued.document).hexdigest()
    assert digest in text.replace("\n", "")
    assert qr_payload(issued.document) == f"assure-passport:{issued.number}:{digest}"
    assert sum(len(page.images) for page in reader.pages) == 1


def test_a_product_name_outside_latin_1_prints_safely(issued: Issued) -> None:
    from posture.passport.summary_pdf import passport_pdf
    from posture.storage.models import Product

    with transaction(issued.sessions) as session:
        product = session.get(Product, issued.world.orgs["s1"].product_id)
        assert product is not None
        product.name = "Évidence 証拠 Vault ) Tj (injected"
        renamed = issue_passport(
            session, SYSTEM, issued.keys, issued.world.orgs["s1"].submitted_assessment_id
        )
        document = renamed.document
    import io

    from pypdf import PdfReader

    text = PdfReader(io.BytesIO(passport_pdf(document))).pages[0].extract_text()
    assert "Évidence ?? Vault ) Tj (injected" in text


def test_a_cited_run_with_an_open_critical_finding_withholds_the_passport(
    world_db: Db, tmp_path: Path
) -> None:
    world, sessions, settings = world_db
    from posture.platform_keys import platform_keys

    s1 = world.orgs["s1"]
    cert, _key = make_certificate(tmp_path, expired=True)
    with transaction(sessions) as session:
        report = run_certificate_check(cert.read_bytes(), "vault-cert.pem")
        record_check_run(session, SYSTEM, report, s1.organisation_id, s1.product_id)
        accept_in_full(session, world, s1.submitted_assessment_id, platform_keys(settings))
    with sessions() as session:
        assessment = session.get(Assessment, s1.submitted_assessment_id)
        assert assessment is not None
        assert assessment.status == "accepted"  # the acceptance stands
        assert session.scalar(select(func.count()).select_from(Passport)) == 0
        withheld = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "passport.withheld")
        ).one()
    assert "CERT-001" in withheld.data["because"]


def test_a_passport_says_why_when_the_facts_fell_after_submission(world_db: Db) -> None:
    world, sessions, _ = world_db
    s1 = world.orgs["s1"]
    with transaction(sessions) as session:
        assessment = session.get(Assessment, s1.submitted_assessment_id)
        assert assessment is not None
        assessment.profile_id = "supplier-critical-national"
    issued = issue_for(world_db)
    profile = _body(issued.document).profile
    assert profile.id == "supplier-critical-national"
    assert profile.why.startswith("supplier-critical-national, the profile the assessment was")
    assert "now ask for supplier-saas" in profile.why
