"""The My posture page (AppTest): a supplier sees its product's score, band, trend, gaps, the
contradicted claim and every outcome explained in words; a force sees itself; an assessor
searches the estate; a subject with no submitted assessment says so; a link cannot reach
another tenant's subject."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from posture.identity.permissions import Principal
from posture.storage.engine import transaction
from posture.storage.models.enums import Role
from tests.dashboards.conftest import Db, snapshots
from tests.identity.world import add_force
from tests.risk_register.test_scenarios import contradict_c3b
from ui.plain import unescape_markdown

__all__ = ["snapshots"]


def _render() -> None:
    from ui.navigation import PAGES, guarded

    guarded(next(spec for spec in PAGES if spec.url_path == "my-posture"))()


def _open(principal: Principal, subject: str | None = None) -> AppTest:
    app = AppTest.from_function(_render, default_timeout=60)
    app.session_state["assure_principal"] = principal
    if subject is not None:
        app.query_params["subject"] = subject
    return app.run()


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
    (subject,) = app.selectbox
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
    assert app.selectbox[0].options == ["Organisation f1 (the organisation as a whole)"]
    assert _frame(app, "Taken")["Score"].tolist() == [80.0]
    assert "Band" in [m.label for m in app.metric]


def test_an_assessor_searches_the_estate(page: Db) -> None:
    world = page[0]
    app = _open(world.principal(Role.NATIONAL_ASSESSOR))
    assert not app.exception
    app.text_input(key="my-posture-search").input("s2").run()
    assert not app.exception
    assert app.selectbox[0].options == [
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
    assert "s2" not in " ".join(app.selectbox[0].options)
    assert "s2 Evidence Vault" not in _shown(app)
    # An estate-wide reader following the same link lands on that product.
    app = _open(world.principal(Role.NATIONAL_ASSESSOR), subject=other)
    assert app.selectbox[0].value == other
    assert "s2 Evidence Vault" in _shown(app)


def test_a_role_without_scores_is_refused(page: Db) -> None:
    app = _open(page[0].principal(Role.SIRO))
    assert not app.exception
    (refused,) = app.error
    assert refused.value.startswith("My posture: your role does not allow")
    assert not app.selectbox
