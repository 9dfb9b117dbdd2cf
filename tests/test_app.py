"""The app: first-run setup, sign-in, sign-out and pages that render real data (AppTest)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pyotp
import pytest
from streamlit.testing.v1 import AppTest

from kernel.settings import load_settings
from posture.audit import Actor
from posture.demo.seed import seed_demo
from posture.identity.accounts import create_admin
from posture.identity.policy import identity_policy
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory, transaction

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
EMAIL, PASSWORD = "ada@assure.police.uk", "a long and unusual passphrase"


def _prepare(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, suppliers: int | None, admin: bool
) -> None:
    monkeypatch.setenv("ASSURE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("ASSURE_DATABASE_URL", raising=False)
    engine = build_engine(load_settings())
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as session:
        if suppliers is not None:
            seed_demo(session, suppliers=suppliers, seed=1, as_of=date(2026, 11, 1))
        if admin:
            create_admin(session, Actor("test"), EMAIL, "Ada", PASSWORD)
    engine.dispose()


def _sign_in(app: AppTest, password: str = PASSWORD) -> AppTest:
    app.text_input[0].input(EMAIL)
    app.text_input[1].input(password)
    return app.button[0].click().run()


def _enrol_second_factor(app: AppTest) -> AppTest:
    """An administrator's first sign-in: scan (here: read) the key, confirm a code, then put
    the recovery codes away."""
    assert app.title[0].value == "Set up two-step verification"
    secret = app.code[0].value
    app.text_input[0].input(pyotp.TOTP(secret).now())
    app = app.button[0].click().run()
    assert not app.exception
    assert any("recovery codes" in header.value for header in app.subheader)
    codes = app.code[0].value.split("\n")
    assert len(codes) == identity_policy().mfa.recovery_codes
    return next(b for b in app.button if "saved" in b.label).click().run()


def _setup_code(captured: str) -> str:
    found = re.findall(r"First-run setup code: ([A-Z0-9-]+)", captured)
    assert found, "the app printed no setup code on its console"
    return found[-1]


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _prepare(tmp_path / "data", monkeypatch, suppliers=20, admin=True)


def test_first_run_needs_the_console_code_then_a_second_factor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _prepare(tmp_path / "fresh", monkeypatch, suppliers=None, admin=False)
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert app.title[0].value == "Set up PoliceTech Assure"
    code = _setup_code(capsys.readouterr().err)
    fields = [EMAIL, "Ada", PASSWORD, PASSWORD]
    for field, value in zip(app.text_input, ["WRONG-CODE", *fields], strict=True):
        field.input(value)
    app = app.button[0].click().run()
    assert any("setup code is not right" in error.value for error in app.error)
    app.text_input[0].input(code)
    app = app.button[0].click().run()
    assert not app.exception
    app = _enrol_second_factor(app)
    assert app.title[0].value == "PoliceTech Assure"
    assert any("Signed in as ada@assure.police.uk" in t.value for t in app.sidebar.text)


def test_a_weak_first_password_is_refused_and_nothing_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _prepare(tmp_path / "fresh", monkeypatch, suppliers=None, admin=False)
    app = AppTest.from_file(APP, default_timeout=30).run()
    code = _setup_code(capsys.readouterr().err)
    for field, value in zip(
        app.text_input, [code, EMAIL, "Ada", "password1234", "password1234"], strict=True
    ):
        field.input(value)
    app = app.button[0].click().run()
    assert any("breached or common" in error.value for error in app.error)
    assert AppTest.from_file(APP, default_timeout=30).run().title[0].value.startswith("Set up")


def test_sign_in_shows_the_estate_and_sign_out_ends_it(seeded: None) -> None:
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert app.title[0].value == "Sign in to PoliceTech Assure"
    app = _enrol_second_factor(_sign_in(app))
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Police forces"] == "43"
    assert metrics["Suppliers"] == "20"
    app = app.sidebar.button[0].click().run()
    assert app.title[0].value == "Sign in to PoliceTech Assure"


def test_wrong_passwords_are_refused_then_lock_the_account(seeded: None) -> None:
    app = AppTest.from_file(APP, default_timeout=30).run()
    for _ in range(identity_policy().max_failed_logins):
        app = _sign_in(app, "not the right passphrase")
        assert "sign-in failed" in app.error[0].value
    app = _sign_in(app, PASSWORD)
    assert "sign-in failed" in app.error[0].value
    assert app.title[0].value == "Sign in to PoliceTech Assure"


def test_an_unmigrated_database_shows_the_fix_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSURE_DATA_DIR", str(tmp_path / "unmigrated"))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert any("assure db upgrade" in error.value for error in app.error)


def test_framework_page_lists_every_outcome() -> None:
    from frameworks.loader import default_framework
    from posture.identity.permissions import Membership, Principal
    from posture.storage.models.enums import Role

    app = AppTest.from_function(_framework_page, default_timeout=30)
    app.session_state["assure_principal"] = Principal(
        1, "a1@example.police.uk", (Membership(1, Role.SUPPLIER_ADMIN),)
    )
    app = app.run()
    assert not app.exception
    labels = [expander.label for expander in app.expander]
    assert len(labels) == len(default_framework().framework.outcomes())
    assert any(label.startswith("C3.b Post-quantum key exchange") for label in labels)


def _framework_page() -> None:
    from ui.pages import framework

    framework.render()
