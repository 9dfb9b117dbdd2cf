"""The My posture page (AppTest): a supplier sees its product's score, band, trend, gaps, the
contradicted claim and every outcome explained in words; a force sees itself; an assessor
searches the estate; a subject with no submitted assessment says so; a link cannot reach
another tenant's subject."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from posture.assessment_frameworks import framework_named
from posture.framework_registry import register_framework
from posture.identity.permissions import Principal
from posture.storage.engine import transaction
from posture.storage.models.enums import Role
from tests.app_headings import heading_levels_in_order
from tests.dashboards.conftest import Db, snapshots
from tests.identity.world import add_force
from tests.risk_register.test_scenarios import contradict_c3b
from ui.pages.my_posture import NOT_A_PRODUCT, REFUSED
from ui.plain import unescape_markdown

__all__ = ["snapshots"]


def _render() -> None:
    from ui.navigation import PAGES, guarded

    guarded(next(spec for spec in PAGES if spec.url_path == "my-posture"))()


def _open(principal: Principal, subject: str | None = None, product: str | None = None) -> AppTest:
    app = AppTest.from_function(_render, default_timeout=60)
    app.session_state["assure_principal"] = principal
    if subject is not None:
        app.query_params["subject"] = subject
    if product is not None:
        app.query_params["product"] = product
    return app.run()


def _subjects(app: AppTest):  # type: ignore[no-untyped-def]
    (picker,) = [s for s in app.selectbox if s.label == "Product or organisation"]
    return picker


@pytest.fixture
def page(snapshots: Db, monkeypatch: pytest.MonkeyPatch) -> Db:
    world, sessions, settings = snapshots
    contradict_c3b(sessions, world, "s1")
    monkeypatch.setenv("ASSURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    return snapshots


def _frame(app: AppTest, column: str):  # type: ignore[no-untyped-def]
    return next(f.value for f in app.dataframe if column in f.value.columns)


def _shown(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [h.value for h in app.header] + [s.value for s in app.subheader]
    parts += [i.value for i in app.info] + [w.value for w in app.warning]
    return " ".join(unescape_markdown(part) for part in parts)


def test_a_supplier_sees_its_products_score_band_trend_gaps_and_explanation(page: Db) -> None:
    world = page[0]
    app = _open(world.principal(Role.SUPPLIER_ADMIN))
    assert not app.exception
    subject = _subjects(app)
    assert subject.options == [
        "s1 Evidence Vault (a product of Organisation s1)",
        "Organisation s1 (the organisation as a whole)",
    ]
    metrics = {m.label: m.value for m in app.metric}
    assert set(metrics) == {"Score (out of 100)", "Band", "Confidence", "Open findings"}
    assert metrics["Band"] in {"A", "B", "C", "D", "E"}
    assert float(metrics["Score (out of 100)"]) >= 0
    shown = _shown(app)
    assert "s1 Evidence Vault" in shown
    assert f"band {metrics['Band']} is a score" in shown
    assert "Supplier software as a service (supplier-saas)" in shown
    # The trend's text alternative: the same numbers as the chart, as a table and a sentence.
    trend = _frame(app, "Taken")
    assert trend["Score"].tolist() == [70.0, 55.5]
    assert trend["Band"].tolist() == ["B", "C"]
    assert "2 snapshots: from 70.0 (band B)" in shown
    gaps = _frame(app, "Short by")
    assert "C3.b" in gaps["Outcome"].tolist()
    assert set(gaps["Short by"]) <= {"1 level short", "2 levels short"}
    contradicted = _frame(app, "Checks verify")
    assert contradicted["Outcome"].tolist() == ["C3.b"]
    assert contradicted["Finding"].tolist() == ["PQC-TLS-001: No quantum-safe key exchange"]
    outcomes = _frame(app, "Why (rule)")
    c3b = outcomes[outcomes["Outcome"] == "C3.b"].iloc[0]
    assert "contradicted by finding PQC-TLS-001" in c3b["Why (rule)"]
    assert c3b["Counted as"] == "not achieved"
    assert c3b["Claimed"] == "achieved"
    assert "self-asserted" in c3b["Evidence"]
    assert "found PQC-TLS-001" in c3b["Checks"]
    # Drawn for people: no raw keys and no None anywhere on the page.
    assert not any(f.value.isna().to_numpy().any() for f in app.dataframe)
    every_cell = " ".join(str(v) for f in app.dataframe for v in f.value.to_numpy().ravel())
    for raw in ("None", "gap_levels", "self_asserted", "not_achieved", "corroborated_by"):
        assert raw not in every_cell, raw
        assert raw not in shown, raw


def test_a_force_sees_itself_and_its_trend(page: Db) -> None:
    app = _open(page[0].principal(Role.FORCE_ASSESSOR))
    assert not app.exception
    # Its own force first; the products its dashboards show follow.
    assert _subjects(app).options[0] == "Organisation f1 (the organisation as a whole)"
    assert _subjects(app).value == f"org:{page[0].orgs['f1'].organisation_id}"
    assert _frame(app, "Taken")["Score"].tolist() == [80.0]
    assert "Band" in [m.label for m in app.metric]


def test_an_assessor_searches_the_estate(page: Db) -> None:
    world = page[0]
    app = _open(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    app.text_input(key="my-posture-search").input("s2").run()
    assert not app.exception
    assert _subjects(app).options == [
        "s2 Evidence Vault (a product of Organisation s2)",
        "Organisation s2 (the organisation as a whole)",
    ]
    assert "s2 Evidence Vault" in _shown(app)
    assert _frame(app, "Taken")["Score"].tolist() == [50.0, 50.4]
    app.text_input(key="my-posture-search").input("no such thing").run()
    assert "Nothing matches that search." in [i.value for i in app.info]


def test_a_subject_with_no_submitted_assessment_says_so(page: Db) -> None:
    sessions = page[1]
    with transaction(sessions) as session:
        force = add_force(session, "f2", Role.FORCE_ASSESSOR)
    app = _open(force)
    assert not app.exception
    shown = _shown(app)
    assert "Force f2 has no submitted assessment as of" in shown
    assert "No posture snapshot has been stored for this subject yet." in shown
    assert not app.metric or [m.label for m in app.metric] == ["Open findings"]


def test_a_link_to_another_tenants_subject_shows_only_the_readers_own(page: Db) -> None:
    world = page[0]
    other = f"product:{world.orgs['s2'].product_id}"
    app = _open(world.principal(Role.SUPPLIER_ADMIN, "s1"), subject=other)
    assert not app.exception
    assert "s2" not in " ".join(_subjects(app).options)
    assert "s2 Evidence Vault" not in _shown(app)
    assert [e.value for e in app.error] == [REFUSED]
    # An estate-wide reader following the same link lands on that product.
    app = _open(world.principal(Role.NATIONAL_ASSESSOR), subject=other)
    assert _subjects(app).value == other
    assert "s2 Evidence Vault" in _shown(app)
    assert not app.error


def test_a_role_without_scores_is_refused(page: Db) -> None:
    app = _open(page[0].principal(Role.SIRO))
    assert not app.exception
    (refused,) = app.error
    assert refused.value.startswith("Product posture: your role does not allow")
    assert not app.selectbox


def test_a_product_link_opens_that_product_for_a_reader_allowed_it(page: Db) -> None:
    world = page[0]
    s1, s2 = world.orgs["s1"].product_id, world.orgs["s2"].product_id
    app = _open(world.principal(Role.SUPPLIER_ADMIN, "s1"), product=str(s1))
    assert not app.exception
    assert not app.error
    assert _subjects(app).value == f"product:{s1}"
    assert [t.value for t in app.title] == ["Product posture"]
    assert heading_levels_in_order(app)
    # A force assessor follows a league-table row to a supplier's product: it sees it, with
    # its score, band and explanation (and no findings, which are not its to read).
    for role in (Role.FORCE_ASSESSOR, Role.NATIONAL_ASSESSOR):
        app = _open(world.principal(role), product=str(s2))
        assert not app.exception
        assert not app.error
        assert _subjects(app).value == f"product:{s2}"
        shown = _shown(app)
        assert "s2 Evidence Vault" in shown
        assert {"Score (out of 100)", "Band"} <= {m.label for m in app.metric}
        assert _frame(app, "Why (rule)").shape[0] > 0


def test_a_supplier_asking_for_another_suppliers_product_is_refused_and_shown_nothing_of_it(
    page: Db,
) -> None:
    world = page[0]
    s2 = world.orgs["s2"].product_id
    for asked in (str(s2), "999999"):
        app = _open(world.principal(Role.SUPPLIER_ADMIN, "s1"), product=asked)
        assert not app.exception
        # The same words whether it is another tenant's or does not exist.
        assert [e.value for e in app.error] == [REFUSED]
        assert "s2" not in " ".join(_subjects(app).options)
        everything = _shown(app) + " ".join(
            str(v) for f in app.dataframe for v in f.value.to_numpy().ravel()
        )
        assert "s2 Evidence Vault" not in everything
        assert "Organisation s2" not in everything
        # It falls back to the reader's own product.
        assert _subjects(app).value == f"product:{world.orgs['s1'].product_id}"


def test_a_product_link_that_is_not_a_number_says_so_and_falls_back(page: Db) -> None:
    world = page[0]
    for asked in ("abc", "-1", "1.5", "²", "9" * 40, "1 OR 1=1"):
        app = _open(world.principal(Role.NATIONAL_ASSESSOR), product=asked)
        assert not app.exception, asked
        assert [e.value for e in app.error] == [NOT_A_PRODUCT], asked
        assert _subjects(app).options


def test_the_reader_picks_the_framework_scores_are_shown_against(page: Db) -> None:
    world, sessions, _ = page
    with transaction(sessions) as session:
        register_framework(session, framework_named("ncsc-caf-4.0"))
    s1 = world.orgs["s1"].product_id
    app = _open(world.principal(Role.NATIONAL_ASSESSOR), product=str(s1))
    (picker,) = [s for s in app.selectbox if s.label == "Scores against"]
    assert picker.options == [
        "PoliceTech Secure by Design 1.0",
        "NCSC Cyber Assessment Framework 4.0",
    ]
    assert "Score (out of 100)" in [m.label for m in app.metric]
    picker.set_value(("ncsc-caf", "4.0"))
    app = app.run()
    assert not app.exception
    assert "no submitted assessment" in _shown(app)
    assert "against NCSC Cyber Assessment Framework 4.0" in _shown(app)
    assert "Score (out of 100)" not in [m.label for m in app.metric]
