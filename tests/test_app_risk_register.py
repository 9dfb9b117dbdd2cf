"""The risk register in the app (AppTest): a force assessor raises a scenario from a contradicted
claim and sees the suggestion before submitting; the SIRO accepts it within the appetite's limit
and the register shows until when; a longer acceptance is refused by name with nothing written;
hostile text stays text; a role without the permission is refused."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from posture.storage.models import AuditEvent, Deployment
from posture.storage.models.enums import Role
from posture.storage.models.risk import (
    RiskAcceptance,
    RiskEvidenceLink,
    RiskScenario,
    RiskTreatment,
)
from tests.identity.world import World
from tests.risk_register.test_scenarios import (
    C3B,
    contradict_c3b,
    deploy,
    f1,
    form_data,
    raise_one,
    today,
)
from tests.test_app_portal import _page
from ui.navigation import PAGES, refusal
from ui.plain import unescape_markdown

HOSTILE = "**x** <script>alert(1)</script> [y](http://evil.example/p.png)"
CLAIM = f"contradicted_claim {C3B}"


@pytest.fixture
def risk_app(world_db, monkeypatch: pytest.MonkeyPatch) -> tuple[World, Any]:
    """The test world served to AppTest: f1 deploys s1's product, whose C3.b claim a check
    contradicts."""
    world, sessions, settings = world_db
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    contradict_c3b(sessions, world, "s1")
    deploy(sessions, f1(world), world.orgs["s1"].product_id)
    return world, sessions


def _rows(sessions: sessionmaker[Session]) -> tuple[int, int, int, int]:
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (RiskScenario, RiskEvidenceLink, RiskAcceptance, AuditEvent)
        )


def _shown(app: AppTest) -> str:
    """Every Markdown text on the page as the reader sees it."""
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    return " ".join(unescape_markdown(part.replace("**", "")) for part in parts)


def _errors(app: AppTest) -> list[str]:
    return [unescape_markdown(e.value) for e in app.error]


def _fill_raise(app: AppTest, title: str) -> None:
    app.selectbox(key="raise-threat").set_value("quantum-harvest-now-decrypt-later")
    app.text_input(key="raise-title").input(title)
    app.text_area(key="raise-threat-text").input("Recorded TLS traffic decrypted later.")
    app.text_area(key="raise-vulnerability").input("Key exchange is not post-quantum.")
    app.selectbox(key="raise-ci").set_value("major")


def _raised(world: World, sessions: sessionmaker[Session], title: str = "PQ gap") -> int:
    force, product_id = f1(world), world.orgs["s1"].product_id
    data = form_data(
        force,
        product_id,
        title=title,
        threat="quantum-harvest-now-decrypt-later",
        evidence=[{"kind": "contradicted_claim", "ref": C3B}],
    )
    return raise_one(sessions, force.assessor, data).id


def test_a_force_assessor_raises_a_scenario_from_a_contradicted_claim(risk_app) -> None:
    world, sessions = risk_app
    app = _page("risk_scenario", "scenarios_page", world.principal(Role.FORCE_ASSESSOR))
    assert not app.exception
    assert "Suggested current likelihood: Unlikely" in _shown(app)
    app.multiselect(key="raise-evidence").select(CLAIM).run()
    # The suggestion moves with the evidence chosen, before anything is submitted.
    shown = _shown(app)
    assert "Suggested current likelihood: Possible" in shown
    assert "possible: unlikely raised one step because a claim" in shown
    assert "contradicted" in shown
    _fill_raise(app, "Harvest now, decrypt later on custody data")
    # Rating otherwise without saying why is refused, and nothing is written.
    before = _rows(sessions)
    app.selectbox(key="raise-cl-possible").set_value("rare").run()
    app = app.button(key="raise").click().run()
    assert any("differs_because" in e for e in _errors(app)), _errors(app)
    assert not app.exception
    assert _rows(sessions) == before
    app.selectbox(key="raise-cl-possible").set_value("possible").run()
    app = app.button(key="raise").click().run()
    assert any("Scenario raised" in s.value for s in app.success), _errors(app)
    with sessions() as session:
        scenario = session.scalars(select(RiskScenario)).one()
        refs = session.scalars(select(RiskEvidenceLink.ref)).all()
    assert (scenario.suggested_likelihood, scenario.current_likelihood) == ("possible", "possible")
    assert scenario.differs_because is None
    assert list(refs) == [C3B]
    # The new scenario is shown with its live evidence.
    assert app.selectbox(key="detail-scenario").value == scenario.id
    assert list(app.dataframe[0].value["state"]) == ["current"]
    # The form is emptied: a second click raises nothing twice.
    assert app.text_input(key="raise-title").value == ""
    app = app.button(key="raise").click().run()
    assert any("title" in e for e in _errors(app)), _errors(app)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RiskScenario)) == 1
    # A treatment, likewise, is added once.
    app.text_area(key="t-text").input("Move the key exchange to X25519MLKEM768.")
    app = app.button(key="t-add").click().run()
    assert any("Treatment added" in s.value for s in app.success), _errors(app)
    assert app.text_area(key="t-text").value == ""
    app = app.button(key="t-add").click().run()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(RiskTreatment)) == 1


def test_the_siro_accepts_for_90_days_and_the_register_shows_until_when(risk_app) -> None:
    world, sessions = risk_app
    scenario_id = _raised(world, sessions)
    siro = world.principal(Role.SIRO)
    app = _page("risk_decisions", "decisions_page", siro)
    assert not app.exception
    limit = today() + timedelta(days=90)
    # Before the button: the level, the appetite for the product's data and the limit; a high
    # risk on OFFICIAL data is above its appetite (medium), and the SIRO is warned so.
    (warning,) = [w.value for w in app.warning]
    assert warning.startswith(
        "A high risk, above the appetite for OFFICIAL data (at most medium); it may be accepted "
        f"for at most 90 days, until {limit.isoformat()}."
    )
    # The scenario decided on is shown with it.
    shown = " ".join(t.value for t in app.text)
    assert "Threat:" in shown
    assert "Current: High" in shown
    app.text_area(key="acc-why").input("Mitigated by the force VPN until the supplier upgrades.")
    app.date_input(key="acc-until").set_value(limit)
    app = app.button(key="accept").click().run()
    assert any(f"Accepted until {limit.isoformat()}" in s.value for s in app.success), _errors(app)
    register = _page("risk_register", "register_page", siro)
    assert not register.exception
    frame = register.dataframe[0].value
    row = frame[frame["id"] == scenario_id].iloc[0]
    assert (row["status"], row["accepted until"]) == ("accepted", limit)
    assert "Possible likelihood, Major impact (High): 1" in _shown(register)


def test_a_too_long_acceptance_is_refused_with_the_limit_and_nothing_written(risk_app) -> None:
    world, sessions = risk_app
    _raised(world, sessions)
    app = _page("risk_decisions", "decisions_page", world.principal(Role.SIRO))
    app.text_area(key="acc-why").input("Mitigated by the force VPN until the supplier upgrades.")
    # The date box offers no later day; a crafted request sending one is refused all the same.
    app.date_input(key="acc-until").set_value(today() + timedelta(days=91))
    before = _rows(sessions)
    app = app.button(key="accept").click().run()
    limit = (today() + timedelta(days=90)).isoformat()
    refused = [e for e in _errors(app) if "at most 90 days" in e and limit in e]
    assert refused, _errors(app)
    assert not app.exception
    assert _rows(sessions) == before
    with sessions() as session:
        assert session.scalars(select(RiskScenario.status)).one() == "open"


def test_hostile_text_in_a_title_is_shown_literally(risk_app) -> None:
    world, sessions = risk_app
    app = _page("risk_scenario", "scenarios_page", world.principal(Role.FORCE_ASSESSOR))
    app.multiselect(key="raise-evidence").select(CLAIM).run()
    _fill_raise(app, HOSTILE)
    app = app.button(key="raise").click().run()
    assert any("Scenario raised" in s.value for s in app.success), _errors(app)
    assert HOSTILE in [t.value for t in app.text]
    # No Markdown on the page carries the title unescaped: no bold, no script, no image link.
    for element in [*app.markdown, *app.caption, *app.error, *app.success]:
        assert "<script>" not in element.value
        assert "**x**" not in element.value
        assert "](http" not in element.value
    register = _page("risk_register", "register_page", world.principal(Role.FORCE_ASSESSOR))
    assert list(register.dataframe[0].value["title"]) == [HOSTILE]
    with sessions() as session:
        assert session.scalars(select(RiskScenario.title)).one() == HOSTILE


def test_a_supplier_is_refused_and_writes_nothing(risk_app) -> None:
    world, sessions = risk_app
    _raised(world, sessions)
    supplier = world.principal(Role.SUPPLIER_ADMIN)
    before = _rows(sessions)
    for module, function in (
        ("risk_register", "register_page"),
        ("risk_scenario", "scenarios_page"),
        ("risk_decisions", "decisions_page"),
    ):
        app = _page(module, function, supplier)
        assert not app.exception, module
        assert any("your role does not allow" in e for e in _errors(app)), (module, _errors(app))
        assert not app.dataframe, module
        assert not app.button, module
    assert _rows(sessions) == before
    # Navigation never offers them: the supplier gets none of the register's pages.
    risk_pages = [spec for spec in PAGES if spec.url_path.startswith("risk-")]
    assert len(risk_pages) == 3
    assert all(refusal(supplier, spec) for spec in risk_pages)


def test_only_the_siro_gets_the_decisions_page(risk_app) -> None:
    world, _ = risk_app
    decisions = next(spec for spec in PAGES if spec.url_path == "risk-decisions")
    assert refusal(world.principal(Role.SIRO), decisions) is None
    assert refusal(world.principal(Role.FORCE_ASSESSOR), decisions)
    assert refusal(world.principal(Role.NATIONAL_ASSESSOR), decisions)
    app = _page("risk_decisions", "decisions_page", world.principal(Role.FORCE_ASSESSOR))
    assert any("your role does not allow" in e for e in _errors(app)), _errors(app)


def test_a_national_assessor_reads_any_forces_register_and_the_product_across_forces(
    risk_app,
) -> None:
    world, sessions = risk_app
    scenario_id = _raised(world, sessions)
    national = world.principal(Role.NATIONAL_ASSESSOR)
    app = _page("risk_register", "register_page", national)
    assert not app.exception
    force_id = world.orgs["f1"].organisation_id
    box = app.selectbox(key="register-org")
    n1 = world.orgs["n1"].organisation_id
    assert box.options == [
        f"Organisation n1 (organisation {n1})",
        f"Organisation f1 (organisation {force_id})",
    ]
    # Its own (national body's) register is empty: it starts at the force's, which is not.
    assert box.value == force_id
    app = box.set_value(force_id).run()
    assert not app.exception
    assert list(app.dataframe[0].value["id"]) == [scenario_id]
    # The heatmap's text alternative names the filled cell; its table covers all 25 cells.
    assert "Possible likelihood, Major impact (High): 1" in _shown(app)
    counts = app.dataframe[1].value
    assert (len(counts), int(counts["count"].sum())) == (25, 1)
    # The register downloads, built when clicked: CSV and XLSX always, the POA&M once there
    # is a scenario.
    assert [b.label for b in app.get("download_button")] == [
        "Download CSV",
        "Download XLSX",
        "Download OSCAL POA&M",
        "Download portfolio CSV",
        "Download portfolio XLSX",
    ]
    # A national assessor deploys nothing.
    assert not [b for b in app.button if b.key == "deploy"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Deployment)) == 1


def test_a_force_ends_a_deployment_and_can_no_longer_raise_risks_on_the_product(
    risk_app,
) -> None:
    world, sessions = risk_app
    assessor = world.principal(Role.FORCE_ASSESSOR)
    app = _page("risk_register", "register_page", assessor)
    assert not app.exception
    deployed = [d.value for d in app.dataframe if "product" in d.value.columns]
    assert [list(frame["product"]) for frame in deployed] == [["s1 Evidence Vault"]]
    app = app.button(key="end").click().run()
    assert any("Ended the deployment" in s.value for s in app.success), _errors(app)
    with sessions() as session:
        assert session.scalars(select(Deployment.ended_at)).one() is not None
    raising = _page("risk_scenario", "scenarios_page", assessor)
    assert raising.selectbox(key="raise-subject").options == ["This organisation"]
    # No evidence box without a product: evidence is only ever about a deployed product.
    assert not raising.multiselect


def test_a_siro_says_the_force_connects_it_to_pnn_and_sees_the_product_falls_short(
    risk_app,
) -> None:
    world, sessions = risk_app
    app = _page("risk_register", "register_page", world.principal(Role.SIRO))
    assert not app.exception
    product_id = world.orgs["s1"].product_id
    (standing,) = [d.value for d in app.dataframe if "needs" in d.value.columns]
    assert list(standing["needs"]) == ["supplier-saas"]
    assert list(standing["reaches it"]) == ["yes"]
    app.multiselect(key=f"use-{product_id}-networks").set_value(["pnn"])
    app.selectbox(key=f"use-{product_id}-classification").set_value("secret")
    app = app.button(key="save-use").click().run()
    assert not app.exception
    assert any("Saved our use and record of" in s.value for s in app.success), _errors(app)
    (standing,) = [d.value for d in app.dataframe if "needs" in d.value.columns]
    assert list(standing["needs"]) == ["supplier-critical-national"]
    assert list(standing["reaches it"]) == ["no"]
    assert list(standing["our use adds"]) == ["SECRET, PNN"]
    assert any("not assessed against the profile our use needs" in w.value for w in app.warning)
    with sessions() as session:
        stored = session.scalars(select(Deployment)).one()
        assert (stored.classification, stored.police_networks) == ("secret", ["pnn"])

    # The caveat with SECRET is refused on the page, before anything is sent.
    before = _rows(sessions)
    app.checkbox(key=f"use-{product_id}-caveat").check()
    app = app.run()
    assert any("OFFICIAL only" in e for e in _errors(app)), _errors(app)
    assert not [b for b in app.button if b.key == "save-use"]
    assert _rows(sessions) == before


def test_a_siro_records_criticality_contract_and_sub_suppliers_and_bad_ones_are_refused(
    risk_app,
) -> None:
    world, sessions = risk_app
    app = _page("risk_register", "register_page", world.principal(Role.SIRO))
    product_id = world.orgs["s1"].product_id
    key = f"record-{product_id}"
    app.selectbox(key=f"{key}-criticality").set_value("mission-critical")
    app.text_input(key=f"{key}-v").input("7.1")
    app.checkbox(key=f"{key}-end-known").check()
    app = app.run()
    app.date_input(key=f"{key}-end").set_value(date(2028, 3, 31))
    app.number_input(key=f"{key}-notice").set_value(91)
    app.text_area(key=f"{key}-subs").input("Acme Hosting\n  \nNorthern Cloud")
    app = app.button(key="save-use").click().run()
    assert not app.exception
    assert any("Saved our use and record of" in s.value for s in app.success), _errors(app)
    (table,) = [d.value for d in app.dataframe if "criticality" in d.value.columns]
    assert list(table["criticality"]) == ["Mission critical"]
    assert list(table["version"]) == ["7.1"]
    assert list(table["sub-suppliers"]) == ["Acme Hosting; Northern Cloud"]
    assert [str(d) for d in table["give notice by"]] == ["2027-12-31"]

    # The same sub-supplier twice is refused on the page, naming it, and nothing is saved.
    before = _rows(sessions)
    app.text_area(key=f"{key}-subs").input("Acme Hosting\nacme  hosting")
    app = app.run()
    assert any("listed twice" in e for e in _errors(app)), _errors(app)
    assert not [b for b in app.button if b.key == "save-use"]
    assert _rows(sessions) == before
    with sessions() as session:
        stored = session.scalars(select(Deployment)).one()
        assert stored.sub_suppliers == ["Acme Hosting", "Northern Cloud"]
        assert stored.criticality == "mission-critical"
