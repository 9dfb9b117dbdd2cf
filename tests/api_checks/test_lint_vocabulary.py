"""The lint's vocabulary is data checked as it loads, and hostile descriptions cannot turn the
new name and URL readings into a crash or a slow lint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from checks.api.rules_common import LintVocabulary, vocabulary, words
from checks.api.rules_input import pattern_bounds_length
from tests.api_checks.lint_documents import body, document, lint_document, operation, pointers

VOCABULARY = Path(__file__).resolve().parents[2] / "checks/data/api_lint_vocabulary.yaml"


def _raw() -> dict:
    return yaml.safe_load(VOCABULARY.read_text("utf-8"))


def test_the_shipped_vocabulary_loads() -> None:
    assert "password" in vocabulary().credentials.last_words
    assert "return to" in vocabulary().url_inputs.phrases


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("paging", "description", "(unclosed"),
        ("credentials", "last_words", ["Password"]),
        ("credentials", "last_words", []),
        ("servers", "internal_suffixes", ["two  spaces"]),
    ],
)
def test_a_broken_vocabulary_is_refused(section: str, key: str, value: object) -> None:
    raw = _raw()
    raw[section][key] = value
    with pytest.raises(ValidationError):
        LintVocabulary.model_validate(raw)


def test_an_unknown_vocabulary_key_is_refused() -> None:
    raw = _raw()
    raw["servers"]["internal_sufixes"] = ["corp"]
    with pytest.raises(ValidationError):
        LintVocabulary.model_validate(raw)


def test_names_read_the_same_in_every_case_style() -> None:
    assert words("authToken") == words("auth_token") == words("Auth-Token") == ("auth", "token")
    assert words("VoiceURL") == ("voice", "url")
    assert words("") == ()


@pytest.mark.parametrize("regex", ["(", "^[", "^\\", "^(?P<x", "$^", "^" + "(a)" * 5000 + "$"])
def test_malformed_or_huge_patterns_are_judged_without_error(regex: str) -> None:
    assert pattern_bounds_length(regex) in (True, False)


def test_hostile_servers_and_descriptions_do_not_break_the_lint(tmp_path: Path) -> None:
    description = "The URL " + "a" * 200_000 + " https://" + "b" * 100_000
    payload = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            f"p{i}": {"type": "string", "maxLength": 5, "description": description[: 1000 + i]}
            for i in range(150)
        },
    }
    doc = document(
        {"/v1/x": {"post": operation(requestBody=body(payload))}},
        servers=[
            {"url": "https://[not-an-ip/v1"},
            {"url": "https://{host}/v1", "variables": {"host": {"default": "{host}"}}},
            {"url": "   "},
        ],
    )
    started = time.perf_counter()
    findings = lint_document(doc, tmp_path)
    assert time.perf_counter() - started < 10
    assert len(pointers(findings, "API-024")) == 150
    assert pointers(findings, "API-025") == []
