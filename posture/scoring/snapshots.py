"""Store a scoring run as dated snapshots, for trends, movers and regressions."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from frameworks.loader import LoadedFramework
from posture.audit import Actor, record
from posture.framework_registry import register_framework
from posture.monitoring.alerts import record_band_changes
from posture.scoring.results import EstateScores
from posture.storage.models import PostureSnapshot


def store_snapshots(
    session: Session,
    actor: Actor,
    loaded: LoadedFramework,
    scores: EstateScores,
    taken_at: datetime,
) -> int:
    framework_row = register_framework(session, loaded)
    rows = []
    for index, subject in enumerate(scores.subjects):
        rows.append(
            {
                "subject_kind": subject.kind,
                "organisation_id": subject.organisation_id,
                "product_id": subject.product_id,
                "framework_version_id": framework_row.id,
                "taken_at": taken_at,
                "score": float(scores.score[index]),
                "confidence": float(scores.confidence[index]),
                "band": scores.band[index],
                "detail": {
                    "assessment_id": subject.assessment_id,
                    "policy_version": loaded.scoring.policy_version,
                    "capped": bool(scores.capped[index]),
                    "contradicted": int(scores.contradicted[index]),
                    "not_applicable": int(scores.not_applicable[index]),
                    "gaps": int(scores.gaps[index]),
                    "objectives": {
                        objective: None if np.isnan(value) else round(float(value), 2)
                        for objective, value in zip(
                            scores.objective_ids, scores.objective_scores[index], strict=True
                        )
                    },
                },
            }
        )
    for start in range(0, len(rows), 10_000):
        session.execute(insert(PostureSnapshot), rows[start : start + 10_000])
    record_band_changes(session, taken_at)
    record(
        session,
        actor,
        "posture.snapshot",
        "posture_snapshots",
        taken_at.isoformat(),
        {
            "subjects": len(rows),
            "framework": f"{loaded.framework.framework_id} {loaded.framework.version}",
            "policy_version": loaded.scoring.policy_version,
        },
    )
    return len(rows)
