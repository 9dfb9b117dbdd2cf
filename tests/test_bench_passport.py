"""The passport benchmark still runs end to end on a tiny estate and reports what its docstring
promises, so it cannot rot unnoticed between the runs that matter; and a kept estate of another
size is refused rather than measured as if it were this one."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.bench_passport import PER_SUBJECT, main


def test_a_tiny_run_reports_every_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = main(["--suppliers", "20", "30", "--repeat", "1", "--keep", str(tmp_path)])
    assert capsys.readouterr().out.strip().startswith("{")
    assert [e["suppliers"] for e in report["estates"]] == [20, 30]
    for estate in report["estates"]:
        for name in PER_SUBJECT:
            section, path = name.split(".")
            figures = estate[section][path]
            assert figures["median_seconds"] > 0, name
            assert figures["statements"] >= 1, name
        listed = estate["revocation_list"]
        # One ended passport per live product, and the subject's own passport is not on it.
        assert listed["entries"] == estate["prepared"]["ended_passports"]
        assert listed["bytes"] > listed["entries"] * 100
    assert set(report["growth"]) == set(PER_SUBJECT)
    assert report["grows"] == sorted(report["grows"])
    # The kept estates are reused as they are, and one of another size is refused.
    again = main(["--suppliers", "20", "--repeat", "1", "--keep", str(tmp_path)])
    assert again["estates"][0]["prepared"] == report["estates"][0]["prepared"]
    (tmp_path / "passport-50").mkdir()
    (tmp_path / "passport-50" / "prepared.json").write_text('{"suppliers": 20}')
    with pytest.raises(SystemExit, match="estate of 20 suppliers"):
        main(["--suppliers", "50", "--repeat", "1", "--keep", str(tmp_path)])
