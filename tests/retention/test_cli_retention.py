"""`assure retention` as an operator runs it: a real process, real exit codes, JSON out."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from kernel.clock import utcnow
from kernel.settings import load_settings
from posture.blobs import BlobStore
from posture.storage.engine import build_engine, session_factory, transaction
from posture.storage.models import AuditEvent, Evidence, UserSession
from tests.cli import assure
from tests.retention.estate import EstateBuilder


def _aged_estate(env: dict[str, str]) -> dict[str, int]:
    """Two expired sessions and a year-old withdrawal's evidence, as of the real clock."""
    upgraded = assure("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    settings = load_settings(env)
    engine = build_engine(settings)
    try:
        with transaction(session_factory(engine)) as session:
            build = EstateBuilder(session, BlobStore.for_settings(settings))
            now = utcnow()
            for n in range(2):
                session.add(
                    UserSession(
                        token_sha256=f"{n:064d}",
                        user_id=build.user.id,
                        method="password",
                        expires_at=now - timedelta(days=91),
                    )
                )
            old = build.product("Old", now - timedelta(days=366))
            build.evidence("old", old, build.file("old", b"%PDF- old"))
    finally:
        engine.dispose()
    return _counts(env)


def _counts(env: dict[str, str]) -> dict[str, int]:
    engine = build_engine(load_settings(env))
    try:
        with session_factory(engine)() as session:
            return {
                "sessions": session.scalar(select(func.count()).select_from(UserSession)) or 0,
                "evidence": session.scalar(select(func.count()).select_from(Evidence)) or 0,
                "events": session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            }
    finally:
        engine.dispose()


def test_dry_run_then_sweep_then_nothing_left_in_json(sqlite_env: dict[str, str]) -> None:
    before = _aged_estate(sqlite_env)

    dry = assure("retention", "sweep", "--dry-run", "--json", env=sqlite_env)
    assert dry.returncode == 0, dry.stderr
    due = {rule["kind"]: rule["due"] for rule in json.loads(dry.stdout)["rules"]}
    assert (due["user_session"], due["withdrawn_product_evidence"]) == (2, 1)
    assert _counts(sqlite_env) == before

    swept = assure("retention", "sweep", "--json", env=sqlite_env)
    assert swept.returncode == 0, swept.stderr
    report = json.loads(swept.stdout)
    assert report["ok"] is True
    outcomes = {rule["kind"]: rule for rule in report["rules"]}
    assert outcomes["user_session"]["swept"] == 2
    assert outcomes["withdrawn_product_evidence"]["files_removed"] == 1
    assert _counts(sqlite_env) == {"sessions": 0, "evidence": 0, "events": before["events"] + 2}

    shown = assure("retention", "show", "--json", env=sqlite_env)
    assert shown.returncode == 0, shown.stderr
    policy = json.loads(shown.stdout)
    assert policy["version"] == 1
    assert all(rule["due"] == 0 for rule in policy["rules"])
    assert {"kind", "from", "days", "action", "why"} <= set(policy["rules"][0])


def test_a_hostile_policy_file_is_refused_in_one_line_and_nothing_changes(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    before = _aged_estate(sqlite_env)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "utf-8")

    refused = assure("retention", "sweep", "--policy", str(bomb), env=sqlite_env)

    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: ")
    assert "alias" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _counts(sqlite_env) == before
