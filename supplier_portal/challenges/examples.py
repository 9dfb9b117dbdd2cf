"""The rubric and eligibility question a new challenge starts from in the manager's form, and
that the demo's challenges use: one example, kept in one place."""

from __future__ import annotations

from typing import Any

EXAMPLE_RUBRIC: list[dict[str, Any]] = [
    {
        "title": "Impact on policing",
        "description": "How much the idea would help officers and the public.",
        "weight": 60,
        "scale_min": 0,
        "scale_max": 10,
        "bands": [
            {"min": 0, "max": 3, "label": "Little"},
            {"min": 4, "max": 7, "label": "Useful"},
            {"min": 8, "max": 10, "label": "Transformative"},
        ],
    },
    {
        "title": "Feasibility",
        "description": "Whether the team can deliver it in this phase.",
        "weight": 40,
        "scale_min": 0,
        "scale_max": 10,
        "bands": [
            {"min": 0, "max": 4, "label": "Doubtful"},
            {"min": 5, "max": 10, "label": "Credible"},
        ],
    },
]
EXAMPLE_QUESTIONS = [{"text": "Is your organisation registered in the UK?", "must_be_yes": True}]
