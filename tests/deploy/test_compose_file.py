"""deploy/compose.yaml: every service the guide describes, one data folder and one image for all
the Assure containers, commands the `assure` command line accepts, the proxy given the shipped
nginx files and the certificates they name, and no secret written in the file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.cli_args import parse_assure
from tests.deploy.nginx_conf import DEPLOY, read, walk

COMPOSE = DEPLOY / "compose.yaml"
ASSURE_SERVICES = {"migrate", "app", "api", "worker"}
SERVICES = ASSURE_SERVICES | {"postgres", "redis", "proxy"}
DATA_DIR = "/var/lib/assure"
# An environment value that names a credential must point at a file, never hold the secret.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL", re.I)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_every_service_the_guide_describes_is_there(compose) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    assert services["api"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2
    guide = (DEPLOY.parent / "docs" / "deploy.md").read_text()
    assert all(f"`{name}`" in guide for name in SERVICES)


def test_the_assure_containers_share_one_image_and_one_data_folder(compose) -> None:
    services = compose["services"]
    assure = [services[name] for name in sorted(ASSURE_SERVICES)]
    assert len({s["image"] for s in assure}) == 1
    for service in assure:
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert _environment(service)["ASSURE_DATA_DIR"] == DATA_DIR
        assert f"assure-data:{DATA_DIR}" in service["volumes"]
        assert service["env_file"] == ["assure.env"]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
    for name in ("app", "api", "worker"):
        waits_for = services[name]["depends_on"]
        assert waits_for["migrate"]["condition"] == "service_completed_successfully"


def test_every_command_is_one_the_assure_command_line_accepts(compose) -> None:
    for name in ASSURE_SERVICES:
        parse_assure(compose["services"][name]["command"])
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["assure"]' in dockerfile


def test_no_secret_is_written_in_the_compose_file(compose) -> None:
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            if SECRET_NAME.search(key):
                assert key.endswith("_FILE"), (name, key)
                assert value.startswith("/run/secrets/"), (name, key)
            # No URL with a password in it (user:password@host).
            assert not re.search(r"://[^/@\s]*:[^/@\s]*@", value), (name, key)
        assert "ASSURE_DATABASE_URL" not in _environment(service), name
    for secret in compose["secrets"].values():
        assert set(secret) == {"file"}
        assert secret["file"].startswith("./secrets/")
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert {"assure.env", "secrets/"} <= set(ignored)
    example = (DEPLOY / "assure.env.example").read_text()
    assert "CHANGE-ME" in example


def test_the_proxy_serves_the_shipped_files_with_the_certificates_they_name(compose) -> None:
    proxy = compose["services"]["proxy"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in proxy["volumes"]}
    assert mounts["/etc/nginx/conf.d/default.conf"] == "./nginx/assure.conf"
    assert mounts["/etc/nginx/assure/upstreams.conf"] == "./nginx/upstreams-compose.conf"
    assert all((DEPLOY / source).exists() for source in mounts.values())
    named = {
        d.args[0] for d, _ in walk(read()) if d.name in ("ssl_certificate", "ssl_certificate_key")
    }
    assert {s["target"] for s in proxy["secrets"]} == named


def test_only_the_proxy_is_reachable_and_it_is_the_one_trusted_proxy(compose) -> None:
    services = compose["services"]
    assert [name for name, s in services.items() if "ports" in s] == ["proxy"]
    assert compose["networks"]["backend"]["internal"] is True
    address = services["proxy"]["networks"]["backend"]["ipv4_address"]
    for name in ASSURE_SERVICES:
        assert _environment(services[name])["ASSURE_TRUSTED_PROXIES"] == f"{address}/32"
    # Checks reach suppliers' endpoints; the database and the queue reach nothing outside.
    assert "egress" in services["worker"]["networks"]
    assert "egress" not in services["postgres"]["networks"]
    assert "egress" not in services["redis"]["networks"]


def test_workers_stop_gracefully(compose) -> None:
    """huey finishes its running jobs on SIGINT and abandons them on SIGTERM."""
    assert compose["services"]["worker"]["stop_signal"] == "SIGINT"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_reads_the_file(tmp_path: Path) -> None:
    """Compose's own validation, offline: the referenced files exist as placeholders."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    (copy / "assure.env").write_text((DEPLOY / "assure.env.example").read_text())
    (copy / "secrets").mkdir()
    for secret in yaml.safe_load(COMPOSE.read_text())["secrets"].values():
        (copy / secret["file"]).write_text("placeholder\n")
    done = subprocess.run(
        ["docker-compose", "-f", str(copy / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
