"""docs/retention.md shows the policy's table as the YAML holds it: one fact, one place."""

from __future__ import annotations

from pathlib import Path

from posture.retention.policy import load_policy, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "retention.md"
START = "<!-- retention-table: start -->\n"
END = "\n<!-- retention-table: end -->"


def test_the_table_in_the_doc_is_the_policy() -> None:
    text = DOC.read_text("utf-8")
    shown = text[text.index(START) + len(START) : text.index(END)]
    assert shown == markdown_table(load_policy()), (
        "docs/retention.md is out of date: paste the output of "
        "`python -c 'from posture.retention.policy import load_policy, markdown_table; "
        "print(markdown_table(load_policy()))'` between the retention-table markers"
    )


def test_every_kind_and_period_appears_in_the_table() -> None:
    table = markdown_table(load_policy())
    for rule in load_policy().rules:
        assert f"| `{rule.kind}` | {rule.from_event} | {rule.days} |" in table
