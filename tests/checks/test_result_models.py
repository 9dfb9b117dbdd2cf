"""Every shipped check's details are a typed result: details as the checks wrote them before (and
as stored runs hold them) read back unchanged, a fresh report writes the same shape, a run cut
short or stored before a field existed still reads, and every part is frozen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from pydantic import BaseModel, ValidationError

from checks.catalogue import CheckKind, CheckResult, spec_for
from checks.catalogue.api import ApiResult
from checks.catalogue.tls import TlsResult
from checks.cbom_export import build_cbom
from checks.report import CheckReport
from tests.checks import sample_reports
from tests.checks.written_details import API, API_LINTED, API_LIVE, WRITTEN, shape

KINDS = tuple(kind.value for kind in CheckKind)
# What a run that could not be assessed, or was stored before a field existed, holds.
PARTIAL: dict[str, dict[str, Any]] = {
    "tls": {"address": "192.0.2.10"},  # nothing answered in TLS
    "ssh": {"address": "192.0.2.22"},  # no KEXINIT read
    "cert": {},  # an unreadable file
    "jwks": {},  # not a key set
    "cbom": {},  # failed its schema
    "api": {"gate_failed": [], "provisional": True},  # an unassessable description
}
SANDBOX_COST = {"sandbox": {"limit": "memory", "seconds": 0.4}}


def _model(kind: str) -> type[CheckResult]:
    model = spec_for(kind).result
    assert model is not None, f"the {kind} check has no typed result"
    return model


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CheckReport]:
    return sample_reports.every_kind(tmp_path_factory.mktemp("reports"))


def test_every_shipped_check_has_a_typed_result_whose_schema_describes_its_details() -> None:
    assert set(WRITTEN) == set(KINDS), "every shipped kind needs its written details here"
    for kind in KINDS:
        schema = _model(kind).model_json_schema()
        jsonschema.validate(WRITTEN[kind], schema)


@pytest.mark.parametrize("kind", KINDS)
def test_details_as_the_check_wrote_them_read_back_unchanged(kind: str) -> None:
    assert _model(kind).model_validate(WRITTEN[kind]).as_details() == WRITTEN[kind]


def test_a_lint_only_api_run_reads_back_unchanged() -> None:
    assert ApiResult.model_validate(API_LINTED).as_details() == API_LINTED


@pytest.mark.parametrize("kind", KINDS)
def test_a_fresh_report_writes_the_shape_stored_runs_have(
    kind: str, fresh: dict[str, CheckReport]
) -> None:
    report = fresh[kind]
    result = report.result()
    assert type(result) is _model(kind)
    assert result.as_details() == report.details
    expected = API_LINTED if kind == "api" else WRITTEN[kind]
    # A CBOM's counts are keyed by the classes its assets have, which differ per file.
    assert shape({**report.details, "counts": None}) == shape({**expected, "counts": None})


def test_a_fresh_cbom_counts_its_assets_by_class(fresh: dict[str, CheckReport]) -> None:
    details = fresh["cbom"].details
    classes = [asset["class"] for asset in details["assets"]]
    assert details["counts"] == {name: classes.count(name) for name in set(classes)}


@pytest.mark.parametrize("kind", KINDS)
def test_a_partial_run_reads_with_defaults_and_ignores_the_sandbox_cost(kind: str) -> None:
    model = _model(kind)
    written = model.model_validate({**PARTIAL[kind], **SANDBOX_COST}).as_details()
    defaults = model().as_details()
    assert "sandbox" not in written
    assert set(written) == set(defaults)
    assert {key: written[key] for key in PARTIAL[kind]} == PARTIAL[kind]
    rest = {key for key in written if key not in PARTIAL[kind]}
    assert {key: written[key] for key in rest} == {key: defaults[key] for key in rest}


def test_an_unassessable_api_run_has_no_verdict() -> None:
    result = ApiResult.model_validate(PARTIAL["api"])
    assert (result.verdict, result.verdict_text, result.live) == (None, "not assessable", None)


def test_a_live_api_run_stored_before_unconfirmed_failures_were_kept_still_reads() -> None:
    later = ("not_followed", "unconfirmed")
    older = {key: value for key, value in API_LIVE.items() if key not in later}
    result = ApiResult.model_validate({**API, "live": older})
    assert result.live is not None
    assert (result.live.operations_tested, result.live.not_followed) == (9, ())
    assert result.live.unconfirmed == ()


def test_a_tls_run_that_got_no_tls_answer_exports_an_empty_cbom() -> None:
    details = {**PARTIAL["tls"], **SANDBOX_COST}
    report = sample_reports.unassessable("tls", "portal.example:443", details=details)
    result = report.result()
    assert isinstance(result, TlsResult)
    assert (result.handshake, result.groups) == (None, ())
    assert build_cbom([report], "portal")["components"] == []


def test_a_row_that_contradicts_the_model_is_refused() -> None:
    with pytest.raises(ValidationError):
        TlsResult.model_validate({**WRITTEN["tls"], "groups": [{"name": "X25519"}]})


def _parts(value: Any) -> Iterator[BaseModel]:
    if isinstance(value, BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from _parts(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _parts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _parts(item)


@pytest.mark.parametrize("kind", KINDS)
def test_every_part_of_a_result_is_frozen(kind: str) -> None:
    parts = list(_parts(_model(kind).model_validate(WRITTEN[kind])))
    assert len(parts) > 1, "the written details should reach the nested parts"
    for part in parts:
        name = next(iter(type(part).model_fields))
        with pytest.raises(ValidationError, match="frozen"):
            setattr(part, name, getattr(part, name))
