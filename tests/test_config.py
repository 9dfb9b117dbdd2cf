"""Settings come from ASSURE_* variables over an optional TOML file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.errors import ConfigError
from kernel.settings import load_settings


def test_default_database_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"ASSURE_DATA_DIR": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path.as_posix()}/assure.db"
    assert settings.uses_sqlite


def test_environment_overrides_config_file(tmp_path: Path) -> None:
    (tmp_path / "assure.toml").write_text(
        '[assure]\nredis_url = "redis://from-file"\negress_allow = ["10.0.0.0/8"]\n'
    )
    settings = load_settings(
        {"ASSURE_DATA_DIR": str(tmp_path), "ASSURE_REDIS_URL": "redis://from-env"}
    )
    assert settings.redis_url == "redis://from-env"
    assert settings.egress_allow == ("10.0.0.0/8",)


def test_egress_allow_is_a_comma_separated_cidr_list(tmp_path: Path) -> None:
    settings = load_settings(
        {"ASSURE_DATA_DIR": str(tmp_path), "ASSURE_EGRESS_ALLOW": "127.0.0.0/8, ::1/128"}
    )
    assert settings.egress_allow == ("127.0.0.0/8", "::1/128")


def test_a_bad_cidr_is_refused_with_the_variable_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASSURE_EGRESS_ALLOW"):
        load_settings({"ASSURE_DATA_DIR": str(tmp_path), "ASSURE_EGRESS_ALLOW": "localhost"})


def test_a_config_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"ASSURE_DATA_DIR": str(tmp_path), "ASSURE_CONFIG": str(bad)})


def test_an_unknown_key_in_the_config_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "assure.toml").write_text('[assure]\ndatabase_uri = "sqlite://"\n')
    with pytest.raises(ConfigError, match="database_uri"):
        load_settings({"ASSURE_DATA_DIR": str(tmp_path)})


def test_a_missing_named_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(
            {"ASSURE_DATA_DIR": str(tmp_path), "ASSURE_CONFIG": str(tmp_path / "nope.toml")}
        )
