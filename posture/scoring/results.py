"""Scores for every subject, plus the per-row outcome levels they came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from posture.scoring.inputs import SubjectRef


@dataclass(frozen=True, eq=False)
class EstateScores:
    subjects: list[SubjectRef]
    objective_ids: list[str]
    score: NDArray[np.float64]
    confidence: NDArray[np.float64]
    band: list[str]
    capped: NDArray[np.bool_]
    contradicted: NDArray[np.int64]
    not_applicable: NDArray[np.int64]
    gaps: NDArray[np.int64]
    gap_levels: NDArray[np.int64]
    objective_scores: NDArray[np.float64]
    # Row level, in encode order: what each answer claimed and what was used.
    row_claimed: NDArray[np.int8]
    row_final: NDArray[np.int8]
    row_contradicted: NDArray[np.bool_]
    row_confidence: NDArray[np.float64]

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "subject": [s.key for s in self.subjects],
                "label": [s.label for s in self.subjects],
                "kind": [s.kind for s in self.subjects],
                "score": np.round(self.score, 2),
                "confidence": np.round(self.confidence * 100, 1),
                "band": self.band,
                "capped": self.capped,
                "contradicted": self.contradicted,
                "not_applicable": self.not_applicable,
                "gaps": self.gaps,
            }
        )
        for index, objective in enumerate(self.objective_ids):
            frame[f"objective_{objective}"] = np.round(self.objective_scores[:, index], 2)
        return frame
