"""The risk register benchmark still runs end to end on a tiny estate (seed, scenarios raised
through the services, the service, a real API server on loopback and the page script) and
reports what its docstring promises, so it cannot rot unnoticed between the runs that matter;
and a kept estate made another way is refused rather than measured as if it were this one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.bench_risk_register import PREPARED, main, prepare

FORCES = 2
PER_FORCE = 8  # more than one product's worth of threats, so two products are deployed


def _timings(section: dict) -> list[dict]:
    return [figure for figure in section.values() if isinstance(figure, dict)]


def test_a_tiny_run_reports_every_path_with_positive_timings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = main(
        [
            "--suppliers",
            "20",
            "--repeat",
            "1",
            "--forces",
            str(FORCES),
            "--scenarios-per-force",
            str(PER_FORCE),
            "--keep",
            str(tmp_path),
        ]
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["benchmark"] == "risk_register"
    assert printed["estates"][0]["suppliers"] == 20
    assert printed == json.loads(json.dumps(report, default=str))
    (estate,) = printed["estates"]
    assert set(estate["service"]) >= {
        "register_table",
        "heatmap",
        "register_and_heatmap",
        "consistency_report_national_assessor",
        "consistency_report_siro",
        "national_view_one_product",
    }
    assert set(estate["http"]) >= {
        "baseline_framework_304",
        "force_scenarios_first_page",
        "national_scenarios_first_page",
        "one_scenario_with_evidence",
        "heatmap",
    }
    assert set(estate["page_script"]) >= {
        "baseline_title_page",
        "force_assessor",
        "national_assessor_on_the_force",
    }
    for where in ("service", "http", "page_script"):
        for figure in _timings(estate[where]):
            assert figure["median_seconds"] > 0
            assert figure["p95_seconds"] >= figure["median_seconds"]
    # Every service and page path reads the database, bar the heatmap built from its frame.
    assert estate["service"]["register_table"]["statements"] > 0
    assert estate["page_script"]["force_assessor"]["statements"] > 0
    assert estate["page_script"]["baseline_title_page"]["statements"] == 0

    scenarios = estate["scenarios"]
    assert list(scenarios["benchmark_per_force"].values()) == [PER_FORCE] * FORCES
    assert estate["prepare"]["forces_with_scenarios"] == FORCES
    # The demo's own register sits beside the benchmark's, in the measured force.
    force = str(estate["measured_force_id"])
    assert scenarios["per_force"][force] > PER_FORCE
    assert estate["service"]["register_rows"] == scenarios["per_force"][force]
    assert estate["http"]["force_scenarios_total"] == scenarios["per_force"][force]
    assert estate["http"]["heatmap_scenarios"] == scenarios["per_force"][force]
    assert estate["http"]["national_scenarios_total"] == scenarios["total"]
    assert estate["page_script"]["force_assessor_rows_shown"] == scenarios["per_force"][force]
    assert sum(scenarios["links_by_kind"].values()) > 0
    # With one size there is nothing to compare; the lists are still there, and empty.
    assert printed["growth"] == {}
    assert printed["grows"] == []

    # The kept estate is found again, not seeded again.
    kept = prepare(tmp_path / "risk-register-20", 20, FORCES, PER_FORCE)
    assert kept["reused"] is True
    assert kept["benchmark_products"] == estate["prepare"]["benchmark_products"]


def test_a_kept_estate_made_with_other_sizes_is_refused(tmp_path: Path) -> None:
    (tmp_path / PREPARED).write_text(
        json.dumps({"made_with": {"suppliers": 20, "forces": 3, "scenarios_per_force": 10}})
    )
    with pytest.raises(SystemExit, match="made with"):
        prepare(tmp_path, 20, FORCES, PER_FORCE)
    # Refused before anything was written beside the marker.
    assert sorted(p.name for p in tmp_path.iterdir()) == [PREPARED]
