"""The app's pages render real data from the database (Streamlit AppTest, no browser)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from posture.config import load_settings
from posture.demo.seed import seed_demo
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def seeded_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("ASSURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as session:
        seed_demo(session, suppliers=20, seed=1, as_of=date(2026, 11, 1))
    engine.dispose()
    return data_dir


def test_overview_shows_the_estate(seeded_data_dir: Path) -> None:
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Police forces"] == "43"
    assert metrics["Suppliers"] == "20"
    assert metrics["National bodies"] == "8"


def test_overview_on_an_empty_estate_says_how_to_fill_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "empty"))
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    engine.dispose()
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert any("assure demo seed" in info.value for info in app.info)


def test_an_unmigrated_database_shows_the_fix_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "fresh"))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert any("assure db upgrade" in error.value for error in app.error)


def test_framework_page_lists_every_outcome() -> None:
    from frameworks.loader import default_framework

    app = AppTest.from_function(_framework_page, default_timeout=30).run()
    assert not app.exception
    labels = [expander.label for expander in app.expander]
    assert len(labels) == len(default_framework().framework.outcomes())
    assert any(label.startswith("C3.b Post-quantum key exchange") for label in labels)


def _framework_page() -> None:
    from ui.pages import framework

    framework.render()
