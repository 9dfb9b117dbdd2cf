"""The demo shows assessing against another framework: the force assessor's login opens a CAF
4.0 draft whose answers are inferred from the force's PTSbD assessment, waiting to be confirmed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from assure_cli.demo import app
from kernel.settings import load_settings
from posture.storage import migrate
from posture.storage.engine import build_engine, session_factory
from posture.storage.models import Answer, Assessment


def test_the_demo_force_has_a_caf_draft_with_inferred_answers(tmp_path: Path) -> None:
    env = {"ASSURE_DATA_DIR": str(tmp_path / "data"), "ASSURE_DATABASE_URL": ""}
    settings = load_settings({"ASSURE_DATA_DIR": env["ASSURE_DATA_DIR"]})
    engine = build_engine(settings)
    migrate.upgrade(engine)
    args = ["--suppliers", "2", "--as-of", "2026-11-01", "--with-logins", "--json"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    draft_id = json.loads(result.output)["caf_draft_assessment_id"]
    with session_factory(engine)() as session:
        draft = session.get(Assessment, draft_id)
        assert draft is not None
        assert (draft.framework, draft.status, draft.profile_id) == (
            "ncsc-caf-4.0",
            "draft",
            "caf-baseline",
        )
        answers = session.scalars(select(Answer).where(Answer.assessment_id == draft_id)).all()
    engine.dispose()
    assert answers
    assert all(a.inferred_from is not None for a in answers)
    assert all(
        a.outcome_urn.startswith("urn:policetech-assure:outcome:ncsc-caf-4.0:") for a in answers
    )
