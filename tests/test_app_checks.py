"""The Product checks page (AppTest): a hostile target is refused at the form and nothing is
queued; a job and its run show one status in words; the downloads are made once per run, do not
rerun the page, and the attestation ZIP holds every file with its signature."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from posture.storage.models import Job, MonitoredEndpoint
from tests.peers.certificates import make_certificate
from tests.test_app_portal import _add_product, _page, portal  # noqa: F401 (portal: a fixture)
from ui.plain import unescape_markdown

NOT_A_CERTIFICATE = b"this is not a certificate"


def _count(sessions, model) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _errors(app: AppTest) -> list[str]:
    return [unescape_markdown(e.value) for e in app.error]


def _run_check(app: AppTest, kind: str, file: tuple[str, bytes] | None = None) -> AppTest:
    app = next(s for s in app.selectbox if s.label == "Check").set_value(kind).run()
    if file is not None:
        app.file_uploader[0].upload(file[0], file[1], "application/x-pem-file")
        app = app.run()
    return next(b for b in app.button if b.label == "Run check").click().run()


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("10.0.0.1:443", "10.0.0.1 is private"),
        ("169.254.169.254:80", "link-local (including cloud metadata)"),
        ("localhost:443", "127.0.0.1 is loopback"),
        ("vault.example:0", "the port must be a number from 1 to 65535"),
        ("vault.example:70000", "the port must be a number from 1 to 65535"),
        ("javascript:alert(1)", "the port must be a number from 1 to 65535"),
        ("javascript://alert(1)", "give host:port, not a URL"),
        ("a" * 5000 + ":443", "at most 300 characters"),
    ],
)
def test_a_hostile_endpoint_is_refused_at_the_form_and_nothing_is_queued(
    portal,  # noqa: F811
    target: str,
    said: str,
) -> None:
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("checks", "checks_page", people["a1"])
    next(t for t in app.text_input if t.label == "Endpoint (host:port)").input(target)
    app = next(b for b in app.button if b.label == "Run check").click().run()
    assert any(said in e for e in _errors(app)), _errors(app)
    assert not app.success
    assert _count(sessions, Job) == 0
    # What was typed stays, to be corrected (a short value is shown back as it was typed).
    typed = next(t for t in app.text_input if t.label == "Endpoint (host:port)").value
    assert typed == target


def test_a_published_file_url_must_be_http_and_allowed(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("checks", "checks_page", people["a1"])
    app = next(s for s in app.selectbox if s.label == "Check").set_value("jwks").run()
    url = next(t for t in app.text_input if t.label.startswith("Or the https:// URL"))
    for hostile, said in (
        ("javascript:alert(document.cookie)", "give the http:// or https:// URL"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ):
        url.input(hostile)
        app = next(b for b in app.button if b.label == "Run check").click().run()
        assert any(said in e for e in _errors(app)), _errors(app)
        url = next(t for t in app.text_input if t.label.startswith("Or the https:// URL"))
    assert _count(sessions, Job) == 0


def test_a_hostile_endpoint_to_monitor_is_refused_too(portal) -> None:  # noqa: F811
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("checks", "checks_page", people["a1"])
    field = next(t for t in app.text_input if t.label.startswith("Endpoint to monitor"))
    field.input("169.254.169.254:443")
    app = next(b for b in app.button if b.label == "Monitor this endpoint").click().run()
    assert any("link-local" in e for e in _errors(app)), _errors(app)
    assert _count(sessions, MonitoredEndpoint) == 0


def test_a_check_that_could_not_assess_its_file_shows_failed_on_job_and_run(
    portal,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The job runs at once in this process, in the real check's sandbox.
    monkeypatch.setenv("ASSURE_QUEUE_IMMEDIATE", "true")
    sessions, people = portal
    _add_product(sessions, people["a1"])
    app = _page("checks", "checks_page", people["a1"])
    app = _run_check(app, "cert", ("leaf.pem", NOT_A_CERTIFICATE))
    assert any("CERT check queued as job" in s.value for s in app.success), _errors(app)
    jobs, runs, _findings = (frame.value for frame in app.dataframe)
    expected = "Failed: could not be assessed (1 finding)"
    assert jobs["status"].tolist() == [expected]
    assert runs["status"].tolist() == [expected]
    # The job's bookkeeping message ("check run 1: score n/a") is no longer a second status.
    assert "message" not in jobs.columns


def test_downloads_are_made_once_per_run_and_do_not_rerun_the_page(
    portal,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ASSURE_QUEUE_IMMEDIATE", "true")
    sessions, people = portal
    _add_product(sessions, people["a1"])
    cert, _ = make_certificate(tmp_path, "mldsa65")
    app = _page("checks", "checks_page", people["a1"])
    app = _run_check(app, "cert", ("leaf.pem", cert.read_bytes()))
    buttons = {b.label: b.proto for b in app.get("download_button")}
    assert list(buttons) == [
        "Download JSON",
        "Download SARIF",
        "Download JUnit XML",
        "Download CBOM",
        "Download signed attestation bundle (ZIP)",
    ]
    # Every file is handed to the browser as bytes (no generator a rerun would replace), and
    # clicking one does not rerun the page.
    assert all(p.url and not p.deferred_file_id and p.ignore_rerun for p in buttons.values())
    app = app.run()
    again = {b.label: b.proto.url for b in app.get("download_button")}
    # The media files are named by their content: the same URLs are the same bytes.
    assert again == {label: proto.url for label, proto in buttons.items()}
    (files,) = app.session_state["assure_run_downloads"].values()
    bundle = next(f for f in files if f.name.endswith("-attested.zip"))
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as archive:
        names = set(archive.namelist())
        for item in files[:-1]:
            assert archive.read(item.name) == item.data
            assert json.loads(archive.read(f"{item.name}.sig.json"))
    assert "VERIFY.txt" in names
    assert {f.name for f in files[:-1]} == {
        n for n in names if not n.endswith((".sig.json", ".txt"))
    }
