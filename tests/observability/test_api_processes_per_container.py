"""The shipped compose file runs one API process per container: each process keeps its own
request counters, so a container with several would answer successive scrapes from different
processes and its request series would jump about (docs/observability.md)."""

from __future__ import annotations

import yaml

from tests.deploy.cli_args import parse_assure
from tests.deploy.nginx_conf import DEPLOY


def test_each_api_container_runs_one_process_and_scales_by_replicas() -> None:
    api = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["api"]
    assert parse_assure(api["command"]).params["workers"] == 1
    assert api["deploy"]["replicas"] >= 2
