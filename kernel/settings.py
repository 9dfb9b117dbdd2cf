"""Settings from ASSURE_* environment variables, an optional TOML config file and defaults.

Precedence: environment, then the config file (ASSURE_CONFIG, else `assure.toml` in the data
directory), then defaults. Nothing here touches the filesystem except reading the config file;
`kernel.data_dir.ensure_data_dir` is the one place that creates the data directory.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kernel.data_dir import CONFIG_FILE, DATABASE_FILE
from kernel.errors import ConfigError

APP_DIR_NAME = "policetech-assure"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME))


ENV_PREFIX = "ASSURE_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = None
    redis_url: str | None = None
    # CIDRs the egress policy allows despite being private, loopback or link-local.
    egress_allow: tuple[str, ...] = ()
    # CIDRs of reverse proxies in front of the app whose X-Forwarded-For is believed, so sign-in
    # throttling sees each client's address rather than the proxy's.
    trusted_proxies: tuple[str, ...] = ()
    # CIDRs of the clients (Prometheus) that may read /metrics, which shows operational detail;
    # the socket's peer address is what is checked, never a forwarded header.
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # DNS servers ("address" or "address:port", comma-separated) that checks resolve supplier
    # names with instead of the system resolver, e.g. a public resolver outside the force's
    # split-horizon DNS so internal names never resolve for a check.
    dns_servers: tuple[str, ...] = ()
    config: Path | None = None
    # YAML file mapping an identity provider's claims to organisations and roles (OIDC sign-in).
    oidc_mapping: Path | None = None
    # Run queued jobs at once in the calling process (huey's immediate mode): for tests and
    # single-process development only.
    queue_immediate: bool = False
    # Partner API: requests allowed per client (token, or address when anonymous), in the
    # `limits` notation ("600/minute", "10/second;1000/hour").
    api_rate_limit: str = Field(default="600/minute", max_length=100)
    # Largest request body the API reads; evidence uploads are the biggest requests.
    api_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # Passkeys (WebAuthn): the exact origin people reach the app on, e.g.
    # "https://assure.force.police.uk". Browsers sign the origin they saw, and only an answer
    # signed for this one is accepted, so it is configured, never taken from a request. Unset:
    # passkeys are not offered. The relying party id defaults to the origin's host; set it to a
    # parent domain only to share passkeys with sibling hosts.
    webauthn_origin: str | None = Field(default=None, max_length=300)
    webauthn_rp_id: str | None = Field(default=None, max_length=253)
    # PEM bundle of the CA certificates the TLS check trusts when it validates a server's chain
    # (checks/tls/chain_store.py); unset: the system bundle. Add a force's internal CA here to
    # assess internal services without every chain reading as untrusted.
    tls_trust_store: Path | None = None
    # The retention policy (YAML shaped as posture/data/retention.yaml) that the nightly sweep
    # and `assure retention` apply instead of the shipped one: the data controller's periods, a
    # legal hold. A file the schema refuses stops the nightly sweep, which never falls back to
    # the shipped periods (they may be shorter). Read when a sweep runs, not here.
    retention_policy: Path | None = None
    # Whether every worker runs the retention sweep nightly; off, the policy is applied only
    # by `assure retention sweep`.
    retention_schedule: bool = True
    # The schedule book (YAML shaped as posture/data/schedules.yaml) workers run instead of the
    # shipped one. A file the schema refuses stops the worker at start, naming the field.
    schedules_file: Path | None = None
    # E-mail notifications (posture/notify): the SMTP server, which the egress policy must
    # allow like any other destination, and the sender address. Unset host: no e-mail is sent.
    smtp_host: str | None = Field(default=None, max_length=253)
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_from: str = Field(default="assure@localhost", max_length=254)
    smtp_username: str | None = Field(default=None, max_length=254)
    # Never logged or shown (SecretStr prints as asterisks); sent only after STARTTLS.
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True

    @field_validator(
        "egress_allow", "dns_servers", "trusted_proxies", "metrics_allow", mode="before"
    )
    @classmethod
    def _split_cidrs(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("egress_allow", "trusted_proxies", "metrics_allow")
    @classmethod
    def _valid_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR such as 127.0.0.0/8") from exc
        return value

    @field_validator("dns_servers")
    @classmethod
    def _valid_servers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for server in value:
            try:
                address, port = server_address(server)
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise ValueError(f"{server!r} is not an address or address:port") from exc
            if not 1 <= port <= 65535:
                raise ValueError(f"{server!r}: the port must be a number from 1 to 65535")
        return value

    @field_validator("api_rate_limit")
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate such as 600/minute") from exc
        return value

    @field_validator("smtp_host", "smtp_from", "smtp_username")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        # These go into the SMTP conversation and mail headers: a line break would add commands.
        if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("must be one line without control characters")
        return value

    @field_validator("retention_policy", "schedules_file")
    @classmethod
    def _absolute_policy(cls, value: Path | None) -> Path | None:
        # Workers start in folders of their own; a relative path would name another file.
        if value is not None and not value.is_absolute():
            raise ValueError(
                f"{str(value)!r} must be an absolute path, e.g. /etc/assure/retention.yaml"
            )
        return value

    @field_validator("webauthn_origin")
    @classmethod
    def _valid_origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        host = (parts.hostname or "").lower()
        example = "an origin such as https://assure.force.police.uk"
        if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
            raise ValueError(f"{value!r} is not {example}")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not {example}: no path, query or fragment")
        if _is_ip_address(host):
            raise ValueError(f"{value!r}: browsers refuse passkeys on an IP address; use a name")
        if parts.scheme == "http" and host != "localhost":
            raise ValueError(f"{value!r}: passkeys need https (plain http only on localhost)")
        default_port = {"https": 443, "http": 80}[parts.scheme]
        port = f":{parts.port}" if parts.port not in (None, default_port) else ""
        return f"{parts.scheme}://{host}{port}"

    @field_validator("webauthn_rp_id")
    @classmethod
    def _rp_id_covers_origin(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        origin = info.data.get("webauthn_origin")
        if origin is None:
            raise ValueError("set webauthn_origin (ASSURE_WEBAUTHN_ORIGIN) too")
        rp_id = value.strip().lower()
        host = urlsplit(origin).hostname or ""
        if not rp_id or not (host == rp_id or host.endswith("." + rp_id)):
            raise ValueError(f"{rp_id!r} must be the origin's host {host!r} or a parent domain")
        return rp_id

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).as_posix()}"

    @property
    def uses_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


def server_address(text: str) -> tuple[str, int]:
    """A DNS server setting as (address, port): '192.0.2.53', '192.0.2.53:5353', '2001:db8::53'
    or '[2001:db8::53]:5353'."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]")
        return host, int(port.removeprefix(":") or 53)
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "53")
    return host, int(port or 53)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    section = raw.get("assure", raw)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [assure] must be a table")
    return section


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings; raise ConfigError with a one-line reason when they are unusable."""
    env = os.environ if environ is None else environ
    env_values: dict[str, Any] = {
        key.removeprefix(ENV_PREFIX).lower(): value
        for key, value in env.items()
        if key.startswith(ENV_PREFIX) and value != ""
    }
    unknown = set(env_values) - set(Settings.model_fields)
    for name in sorted(unknown):
        env_values.pop(name)
    try:
        bootstrap = Settings.model_validate(env_values)
        config_path = bootstrap.config or bootstrap.data_dir / CONFIG_FILE
        file_values: dict[str, Any] = {}
        if config_path.exists():
            file_values = _read_config_file(config_path)
        elif bootstrap.config is not None:
            raise ConfigError(f"config file {config_path} does not exist (ASSURE_CONFIG)")
        return Settings.model_validate({**file_values, **env_values})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"invalid setting {field} (ASSURE_{field.upper()}): {first['msg']}"
        ) from exc
