"""Portal pages by role (AppTest): products, self-assessment, review, listings, shortlists."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from kernel.settings import load_settings
from posture.identity.permissions import Membership, Principal
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import (
    Alert,
    Answer,
    Assessment,
    Job,
    LotApplication,
    MonitoredEndpoint,
    Organisation,
    Product,
    ShortlistVersion,
    User,
)
from posture.storage.models import Membership as MembershipRow
from posture.storage.models.enums import Role
from supplier_portal import assessments, evidence
from supplier_portal.forms import AnswerForm
from ui.plain import unescape_markdown


@pytest.fixture
def portal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    people = {}
    with transaction(sessions) as session:
        orgs = {}
        for slug, kind in (
            ("home-office", "national_body"),
            ("npcc", "national_body"),
            ("s1", "supplier"),
        ):
            org = Organisation(slug=slug, name=f"Org {slug}", kind=kind)
            session.add(org)
            session.flush()
            orgs[slug] = org.id
        for name, org, role in (
            ("officer", "home-office", Role.PROCUREMENT_OFFICER),
            ("assessor", "npcc", Role.NATIONAL_ASSESSOR),
            ("a1", "s1", Role.SUPPLIER_ADMIN),
        ):
            user = User(email=f"{name}@example.police.uk", display_name=name)
            session.add(user)
            session.flush()
            session.add(MembershipRow(user_id=user.id, organisation_id=orgs[org], role=role))
            people[name] = Principal(user.id, user.email, (Membership(orgs[org], role),))
    yield sessions, people
    engine.dispose()


def _page(module: str, function: str, principal: Principal) -> AppTest:
    app = AppTest.from_function(_render, args=(module, function), default_timeout=30)
    app.session_state["assure_principal"] = principal
    return app.run()


def _render(module: str, function: str) -> None:
    import importlib

    getattr(importlib.import_module(f"ui.pages.{module}"), function)()


def test_a_supplier_registers_a_product_and_bad_input_creates_nothing(portal) -> None:
    sessions, people = portal
    app = _page("supplier", "products_page", people["a1"])
    name = next(t for t in app.text_input if t.label == "Name")
    register = next(b for b in app.button if b.label == "Register")
    name.input("X")  # too short
    app = register.click().run()
    assert any("name" in e.value for e in app.error)
    next(t for t in app.text_input if t.label == "Name").input("Evidence Vault")
    app.multiselect[0].set_value(["uk"])
    app = next(b for b in app.button if b.label == "Register").click().run()
    assert any("Product registered" in s.value for s in app.success)
    with sessions() as session:
        products = session.scalars(select(Product)).all()
    assert [(p.name, p.data_locations) for p in products] == [("Evidence Vault", ["uk"])]


def _add_product(sessions, owner: Principal) -> None:  # type: ignore[no-untyped-def]
    with transaction(sessions) as session:
        session.add(
            Product(
                organisation_id=owner.memberships[0].organisation_id,
                name="Vault",
                category="analytics",
                deployment_model="saas",
                # Every fact declared, so the facts derive supplier-saas.
                max_classification="official",
                data_locations=["uk"],
                vetting="nppv2",
                forces_served=1,
                records_held=10_000,
            )
        )


def test_self_assessment_then_review_on_the_pages(portal) -> None:
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("self_assessment", "assessment_page", people["a1"])
    app = app.button[0].click().run()  # start the draft
    assert any("Draft ready" in s.value for s in app.success)
    for box in app.checkbox:
        if box.label.startswith("A board-level owner") or box.label.startswith(
            "Security decisions"
        ):
            box.check()
    save = next(b for b in app.button if b.label == "Save answer")  # the first outcome's
    app = save.click().run()
    assert any("Answer saved" in s.value for s in app.success), [e.value for e in app.error]
    # The other outcomes are left unanswered: submitting needs that confirmed.
    app = next(c for c in app.checkbox if c.label.startswith("Submit with ")).check().run()
    submit = next(b for b in app.button if b.label == "Submit the assessment")
    app = submit.click().run()
    assert any("Submitted for review" in s.value for s in app.success)
    with sessions() as session:
        assert session.scalar(select(Assessment.status)) == "submitted"
    review = _page("review_queue", "review_page", people["assessor"])
    assert review.dataframe[0].value["Outcome"].tolist() == ["A1.a"]
    record = next(b for b in review.button if b.label == "Record decision")
    review = record.click().run()  # nothing is preselected: no decision is recorded
    assert any("Choose a decision" in e.value for e in review.error)
    with sessions() as session:
        assert session.scalar(select(Answer.review_status)) is None
    next(r for r in review.radio if r.label == "Decision").set_value("accept")
    review = next(b for b in review.button if b.label == "Record decision").click().run()
    assert any("Recorded" in s.value for s in review.success)
    assert any("Nothing is waiting" in i.value for i in review.info)
    with sessions() as session:
        assert session.scalar(select(Answer.provenance)) == "independent"


def test_the_reviewer_can_open_the_evidence_attached_to_a_queued_assessment(portal) -> None:
    sessions, people = portal
    supplier, assessor = people["a1"], people["assessor"]
    _add_product(sessions, supplier)
    settings = load_settings()
    minutes = b"%PDF-1.7 board minutes naming the security owner"
    with transaction(sessions) as session:
        product_id = session.scalars(select(Product.id)).one()
        organisation_id = supplier.memberships[0].organisation_id
        draft = assessments.start_assessment(
            session, supplier, organisation_id, product_id, "supplier-saas"
        )
        answer = AnswerForm(outcome_id="A1.a", indicators_met=["A1.a.A1"])
        assessments.save_answer(session, supplier, draft.id, answer)
        evidence.add_evidence(session, supplier, settings, draft.id, "minutes [draft].pdf", minutes)
        assessments.submit_assessment(session, supplier, draft.id)
        assessment_id = draft.id
    review = _page("review_queue", "review_page", assessor)
    assert not review.exception
    (download,) = review.get("download_button")
    label = unescape_markdown(download.proto.label)
    assert label.startswith("minutes [draft].pdf (application/pdf")
    with sessions() as session:
        (item,) = evidence.list_evidence(session, assessor, assessment_id)
    assert evidence.evidence_content(settings, item) == minutes


def test_officer_creates_a_lot_supplier_applies_officer_lists(portal) -> None:
    sessions, people = portal
    with transaction(sessions) as session:
        session.add(
            Product(
                organisation_id=people["a1"].memberships[0].organisation_id,
                name="Vault",
                category="analytics",
                deployment_model="saas",
                data_locations=["uk"],
            )
        )
    app = _page("assurance", "procurement_page", people["officer"])
    app.text_input[0].input("PoliceTech COTS 2027")
    app = app.button[0].click().run()
    app.text_input[1].input("saas")
    app.text_input[2].input("Software as a service")
    app = app.button[1].click().run()
    assert any("Lot added" in s.value for s in app.success), [e.value for e in app.error]
    supplier = _page("assurance", "procurement_page", people["a1"])
    supplier = supplier.button[0].click().run()
    assert any("Applied" in s.value for s in supplier.success)
    for target in ("under_review", "listed"):
        app = _page("assurance", "procurement_page", people["officer"])
        app.selectbox[-1].set_value(target)
        app = next(b for b in app.button if b.label == "Move").click().run()
        assert any("Moved" in s.value for s in app.success), [e.value for e in app.error]
    with sessions() as session:
        assert session.scalar(select(LotApplication.status)) == "listed"


def test_a_buyer_builds_ranks_and_exports_a_shortlist(portal) -> None:
    test_officer_creates_a_lot_supplier_applies_officer_lists(portal)
    sessions, people = portal
    app = _page("assurance", "shortlist_page", people["officer"])
    app.text_input[0].input("Records for a small force")
    app.multiselect[0].set_value([1])
    app = app.button[0].click().run()
    assert any("Requirement created" in s.value for s in app.success), [e.value for e in app.error]
    app = next(b for b in app.button if b.label == "Rank and save a version").click().run()
    assert any("Shortlist saved" in s.value for s in app.success), [e.value for e in app.error]
    ranking = next(d.value for d in app.dataframe if "Product" in d.value.columns)
    assert ranking["Product"].tolist() == ["Vault"]
    assert [b.label for b in app.get("download_button")] == ["Download CSV", "Download XLSX"]
    with sessions() as session:
        assert session.scalar(select(ShortlistVersion.version)) == 1


def test_a_supplier_runs_a_tls_check_from_the_page(portal, tmp_path, monkeypatch) -> None:
    from tests.peers import servers
    from tests.peers.certificates import make_certificate

    monkeypatch.setenv("ASSURE_EGRESS_ALLOW", "127.0.0.0/8")
    # The job runs in this process at once; tests/jobs cover a real worker process.
    monkeypatch.setenv("ASSURE_QUEUE_IMMEDIATE", "true")
    sessions, people = portal
    _add_product(sessions, people["a1"])
    cert, key = make_certificate(tmp_path, "mldsa65")
    with servers.serving(servers.pyopenssl_handler(cert, key)) as server:
        app = _page("checks", "checks_page", people["a1"])
        app.text_input[0].input(f"127.0.0.1:{server.port}")
        app = app.button[0].click().run()
    assert any("TLS check queued as job" in s.value for s in app.success), [
        e.value for e in app.error
    ]
    jobs, runs, findings = (frame.value for frame in app.dataframe)
    # Post-quantum throughout, but self-signed: findings at medium and above fail the check, and
    # the job says so in the same words as its run (not "succeeded" beside a failed run).
    assert jobs["status"].iloc[0].startswith("Failed: ")
    assert jobs["status"].tolist() == runs["status"].tolist()
    assert runs["check"].tolist() == ["tls"]
    assert {"PQC-TLS-004", "TLS-CHAIN-003"} <= set(findings["code"].tolist())
    assert [b.label for b in app.get("download_button")] == [
        "Download JSON",
        "Download SARIF",
        "Download JUnit XML",
        "Download CBOM",
        "Download signed attestation bundle (ZIP)",
    ]


def test_a_bad_check_request_is_refused_on_the_page(portal) -> None:
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("checks", "checks_page", people["a1"])
    app = app.button[0].click().run()
    assert any("host:port" in unescape_markdown(e.value) for e in app.error)
    with sessions() as session:
        assert session.scalars(select(Job)).all() == []


def test_a_supplier_edits_the_organisation_profile(portal) -> None:
    sessions, people = portal
    app = _page("supplier", "products_page", people["a1"])
    next(t for t in app.text_input if t.label == "Website").input("not a url")
    app = next(b for b in app.button if b.label == "Save profile").click().run()
    assert any("website" in e.value for e in app.error)
    next(t for t in app.text_input if t.label == "Website").input("https://vault.example.com")
    next(t for t in app.text_input if t.label == "Security contact email").input(
        "security@vault.example.com"
    )
    app = next(b for b in app.button if b.label == "Save profile").click().run()
    assert any("Profile saved" in s.value for s in app.success)
    with sessions() as session:
        org = session.get(Organisation, people["a1"].memberships[0].organisation_id)
    assert (org.website, org.security_contact) == (
        "https://vault.example.com/",
        "security@vault.example.com",
    )


def test_a_supplier_registers_an_endpoint_for_monitoring_and_sees_its_alerts(portal) -> None:
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("checks", "checks_page", people["a1"])
    monitor = next(b for b in app.button if b.label == "Monitor this endpoint")
    next(t for t in app.text_input if t.label.startswith("Endpoint to monitor")).input("no port")
    app = monitor.click().run()
    assert any("target" in e.value for e in app.error)
    with sessions() as session:
        assert session.scalars(select(MonitoredEndpoint)).all() == []
    next(t for t in app.text_input if t.label.startswith("Endpoint to monitor")).input(
        "vault.example:443"
    )
    app = next(b for b in app.button if b.label == "Monitor this endpoint").click().run()
    assert any("Monitoring vault.example:443" in unescape_markdown(s.value) for s in app.success)
    with transaction(sessions) as session:
        endpoint = session.scalars(select(MonitoredEndpoint)).one()
        session.add(
            Alert(
                organisation_id=endpoint.organisation_id,
                product_id=endpoint.product_id,
                endpoint_id=endpoint.id,
                code="MON-PQ-LOST",
                severity="high",
                title="Post-quantum key exchange was lost",
                advice="Restore it.",
            )
        )
    app = _page("checks", "checks_page", people["a1"])
    endpoints, alerts = (frame.value for frame in app.dataframe)
    assert endpoints["target"].tolist() == ["vault.example:443"]
    assert endpoints["every (days)"].tolist() == [7]
    assert alerts["Code"].tolist() == ["MON-PQ-LOST"]
    assert alerts["Severity"].tolist() == ["high"]
    next(t for t in app.text_input if t.label == "Note (what was done)").input("restored")
    app = next(b for b in app.button if b.label == "Acknowledge alert").click().run()
    assert any("acknowledged" in s.value for s in app.success)
    with sessions() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.acknowledged_by_user_id == people["a1"].user_id
    app = _page("checks", "checks_page", people["a1"])
    assert any("No open alerts" in c.value for c in app.caption)
