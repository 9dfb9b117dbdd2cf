"""The manager's challenge form: wording, times and thresholds, and the rubric (criteria, weights,
scales and bands) and eligibility questions as repeated fields, not JSON.

How many criteria, bands and questions there are is chosen first, outside the form (a form
cannot redraw itself before it is submitted); the fields then sit in one form. Every widget is
keyed by widget_key("challenge-form", scope, ...), so a success empties the lot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import streamlit as st

from posture.scoring.bands import minimum_band_choices
from supplier_portal.challenges.examples import EXAMPLE_QUESTIONS, EXAMPLE_RUBRIC
from ui.context import UK, widget_key

FORM = "challenge-form"
PHASES = ["feasibility", "prototype", "pilot"]
BLANK_CRITERION = {"title": "", "description": "", "weight": 0, "scale_min": 0, "scale_max": 10}


@dataclass(frozen=True)
class Draft:
    """What the form starts from: a draft challenge being edited, or the example."""

    title: str = ""
    problem_statement: str = ""
    phase: str = "feasibility"
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    quality_threshold: float = 50.0
    assessors_per_entry: int = 2
    min_posture_band: str | None = None
    rubric: tuple[dict[str, Any], ...] = tuple(EXAMPLE_RUBRIC)
    eligibility: tuple[dict[str, Any], ...] = tuple(EXAMPLE_QUESTIONS)

    @classmethod
    def of(cls, challenge) -> Draft:  # type: ignore[no-untyped-def]
        return cls(
            challenge.title,
            challenge.problem_statement,
            challenge.phase,
            challenge.opens_at,
            challenge.closes_at,
            challenge.quality_threshold,
            challenge.assessors_per_entry,
            challenge.min_posture_band,
            tuple(challenge.rubric),
            tuple(challenge.eligibility),
        )


def _when(label: str, moment: datetime, key: str) -> datetime:
    left, right = st.columns(2)
    local = moment.astimezone(UK)
    day = left.date_input(f"{label} date (UK)", value=local.date(), key=f"{key}-day")
    clock = right.time_input(
        f"{label} time (UK)", value=local.time().replace(second=0, microsecond=0), key=f"{key}-at"
    )
    return datetime.combine(day, clock, tzinfo=UK).astimezone(UTC)


def _shape(scope: object, draft: Draft) -> tuple[int, list[int], int]:
    """How many criteria, bands per criterion and eligibility questions (outside the form)."""
    st.markdown("**Shape of the rubric** (set these first; the form below follows them)")
    left, right = st.columns(2)
    criteria = int(
        left.number_input(
            "Number of criteria",
            1,
            20,
            len(draft.rubric),
            key=widget_key(FORM, scope, "criteria-count"),
        )
    )
    questions = int(
        right.number_input(
            "Number of eligibility questions",
            0,
            20,
            len(draft.eligibility),
            key=widget_key(FORM, scope, "question-count"),
        )
    )
    columns = st.columns(min(criteria, 4))
    bands = [
        int(
            columns[index % len(columns)].number_input(
                f"Bands in criterion {index + 1}",
                1,
                20,
                len(draft.rubric[index]["bands"]) if index < len(draft.rubric) else 1,
                key=widget_key(FORM, scope, "band-count", index),
            )
        )
        for index in range(criteria)
    ]
    return criteria, bands, questions


def _criterion(scope: object, index: int, band_count: int, start: dict[str, Any]) -> dict:  # type: ignore[type-arg]
    def key(*parts: object) -> str:
        return widget_key(FORM, scope, "criterion", index, *parts)

    number = index + 1
    st.markdown(f"**Criterion {number}**")
    title = st.text_input(f"Criterion {number} title", start["title"], key=key("title"))
    description = st.text_area(
        f"Criterion {number} description (optional)",
        start.get("description", ""),
        key=key("description"),
        height=68,
    )
    weight_column, low_column, high_column = st.columns(3)
    weight = weight_column.number_input(
        f"Criterion {number} weight (%)", 0, 100, int(start["weight"]), key=key("weight")
    )
    low = low_column.number_input(
        f"Criterion {number} lowest score", 0, 100, int(start["scale_min"]), key=key("low")
    )
    high = high_column.number_input(
        f"Criterion {number} highest score", 0, 100, int(start["scale_max"]), key=key("high")
    )
    stored = list(start.get("bands", []))
    bands = []
    for band in range(band_count):
        given = stored[band] if band < len(stored) else {"min": 0, "max": 0, "label": ""}
        name = f"Criterion {number} band {band + 1}"
        label_column, from_column, to_column = st.columns([3, 1, 1])
        bands.append(
            {
                "label": label_column.text_input(
                    f"{name} label", given["label"], key=key("band", band, "label")
                ),
                "min": from_column.number_input(
                    f"{name} from", 0, 100, int(given["min"]), key=key("band", band, "min")
                ),
                "max": to_column.number_input(
                    f"{name} to", 0, 100, int(given["max"]), key=key("band", band, "max")
                ),
            }
        )
    return {
        "key": start.get("key") or None,
        "title": title,
        "description": description,
        "weight": weight,
        "scale_min": low,
        "scale_max": high,
        "bands": bands,
    }


def challenge_fields(scope: object, draft: Draft, submit_label: str) -> dict[str, Any] | None:
    """Draw the shape controls and the form; the form's data when it is submitted, else None.
    A criterion keeps its stored key while its title stands (a draft has no scores yet, so a
    renamed criterion may take a new one)."""
    criteria, band_counts, question_count = _shape(scope, draft)
    now = datetime.now(UK)
    opens = draft.opens_at or datetime.combine(now.date(), time(9, 0), tzinfo=UK)
    closes = draft.closes_at or datetime.combine(
        now.date() + timedelta(days=28), time(17, 0), tzinfo=UK
    )

    def key(*parts: object) -> str:
        return widget_key(FORM, scope, *parts)

    with st.form(f"challenge-{scope}"):
        title = st.text_input("Title", draft.title, key=key("title"))
        statement = st.text_area("Problem statement", draft.problem_statement, key=key("statement"))
        phase = st.selectbox("Phase", PHASES, index=PHASES.index(draft.phase), key=key("phase"))
        opens_at = _when("Opens", opens, key("opens"))
        closes_at = _when("Closes", closes, key("closes"))
        left, middle, right = st.columns(3)
        threshold = left.number_input(
            "Quality threshold (0-100)",
            0.0,
            100.0,
            float(draft.quality_threshold),
            key=key("threshold"),
        )
        judges = middle.number_input(
            "Judges per entry", 1, 10, int(draft.assessors_per_entry), key=key("judges")
        )
        bands = ["none", *minimum_band_choices()]
        band = right.selectbox(
            "Minimum posture band",
            bands,
            index=bands.index(draft.min_posture_band or "none"),
            key=key("band"),
        )
        rubric = []
        for index in range(criteria):
            start = draft.rubric[index] if index < len(draft.rubric) else BLANK_CRITERION
            criterion = _criterion(scope, index, band_counts[index], start)
            if criterion["key"] and criterion["title"] != start["title"]:
                criterion["key"] = None
            rubric.append({k: v for k, v in criterion.items() if v is not None})
        questions = []
        for index in range(question_count):
            start = (
                draft.eligibility[index]
                if index < len(draft.eligibility)
                else {"text": "", "must_be_yes": True}
            )
            text = st.text_input(
                f"Eligibility question {index + 1}", start["text"], key=key("question", index)
            )
            must = st.checkbox(
                f"Question {index + 1} must be answered yes",
                bool(start.get("must_be_yes", True)),
                key=key("question", index, "must"),
            )
            question = {"text": text, "must_be_yes": must}
            if start.get("key") and text == start["text"]:
                question["key"] = start["key"]  # an unchanged question keeps its key
            questions.append(question)
        if not st.form_submit_button(submit_label):
            return None
    return {
        "title": title,
        "problem_statement": statement,
        "phase": phase,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "quality_threshold": threshold,
        "assessors_per_entry": judges,
        "min_posture_band": None if band == "none" else band,
        "rubric": rubric,
        "eligibility": questions,
    }
