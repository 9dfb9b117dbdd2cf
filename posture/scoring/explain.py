"""Explain one subject's score: every outcome's rule, indicators, evidence, and what capped it."""

from __future__ import annotations

from typing import Any

import numpy as np

from frameworks.schema import LEVEL_ORDER
from posture.scoring.encode import encode
from posture.scoring.engine import score_arrays
from posture.scoring.inputs import Estate
from posture.scoring.rules import LEVEL_NAMES, NOT_ACHIEVED, answer_claim
from posture.scoring.tables import FrameworkTables


def explain(estate: Estate, tables: FrameworkTables) -> dict[str, Any]:
    """Breakdown for a one-subject estate, from the same engine that scores the whole estate."""
    if len(estate.subjects) != 1:
        raise ValueError("explain takes exactly one subject")
    loaded = tables.loaded
    subject = estate.subjects[0]
    rows = encode(estate, tables)
    scores = score_arrays(rows, tables)
    profile = loaded.profiles[subject.profile_id]
    outcomes = []
    for row in range(len(rows)):
        outcome = loaded.framework.outcome(tables.outcome_ids[rows.outcome[row]])
        answer = subject.answers.get(outcome.id)
        check = subject.checks.get(outcome.id)
        claim = answer_claim(outcome, answer)
        final = int(scores.row_final[row])
        target = profile.target_for(outcome)
        assert target is not None
        entry: dict[str, Any] = {
            "outcome": outcome.id,
            "title": outcome.title,
            "weight": outcome.weight,
            "critical": outcome.critical,
            "claimed": LEVEL_NAMES[int(scores.row_claimed[row])],
            "status": LEVEL_NAMES[final],
            "rule": claim.rule,
            "indicators_met": list(answer.indicators_met) if answer else [],
            "provenance": answer.provenance if answer else None,
            "answered_at": answer.answered_at.isoformat() if answer else None,
            "confidence": round(float(scores.row_confidence[row]), 4),
            "target": target.value,
            "gap_levels": max(0, LEVEL_ORDER[target] - final) if final >= 0 else 0,
        }
        if bool(scores.row_contradicted[row]):
            assert check is not None
            entry["contradicted_by"] = {
                "finding": check.finding_code,
                "title": check.finding_title,
                "check_run_id": check.check_run_id,
                "checked_at": check.checked_at.isoformat(),
                "verified_status": LEVEL_NAMES[check.level],
            }
            entry["rule"] += f"; contradicted by finding {check.finding_code}: verified level used"
        elif check is not None and check.check_run_id is None:
            entry["corroborated_by_portfolio"] = True
        elif check is not None:
            entry["corroborated_by_check_run"] = check.check_run_id
        outcomes.append(entry)
    critical_failures = [
        o["outcome"] for o in outcomes if o["critical"] and o["status"] == LEVEL_NAMES[NOT_ACHIEVED]
    ]
    objective_scores = {
        objective: (None if np.isnan(value) else round(float(value), 2))
        for objective, value in zip(scores.objective_ids, scores.objective_scores[0], strict=True)
    }
    return {
        "subject": subject.subject.key,
        "label": subject.subject.label,
        "assessment_id": subject.subject.assessment_id,
        "profile": subject.profile_id,
        "framework": {
            "id": loaded.framework.framework_id,
            "version": loaded.framework.version,
            "content_sha256": loaded.content_sha256,
        },
        "scoring_policy_version": loaded.scoring.policy_version,
        "as_of": estate.as_of.isoformat(),
        "score": round(float(scores.score[0]), 2),
        "confidence": round(float(scores.confidence[0]) * 100, 1),
        "band": scores.band[0],
        "band_capped_by_critical": critical_failures if bool(scores.capped[0]) else [],
        "objectives": objective_scores,
        "contradicted": [o for o in outcomes if "contradicted_by" in o],
        "not_applicable": [
            {"outcome": o["outcome"], "justification": o["rule"]}
            for o in outcomes
            if o["status"] == "not applicable"
        ],
        "gaps": [
            {
                "outcome": o["outcome"],
                "target": o["target"],
                "status": o["status"],
                "gap_levels": o["gap_levels"],
            }
            for o in outcomes
            if o["gap_levels"] > 0
        ],
        "outcomes": outcomes,
    }
