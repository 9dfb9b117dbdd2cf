"""The OIDC mapping file: the identity providers this platform trusts, each bound to the
organisations it may sign people into, with its claim names, role map and MFA mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from kernel.errors import ConfigError
from posture.identity.accounts import PLATFORM_SLUG
from posture.storage.models.enums import Role

MAX_MAPPING_BYTES = 1024 * 1024

# An [auth.NAME] section of Streamlit's secrets.toml: a bare TOML key.
ProviderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=80)]
ClaimName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
# RFC 8176 methods that are one knowledge factor on their own: never "multi-factor".
SINGLE_FACTOR_AMR = frozenset({"pwd", "pin", "kba"})

NEW_SHAPE = """\
providers:
  - name: force                       # the [auth.force] section in .streamlit/secrets.toml
    issuer: https://login.example-force.police.uk
    organisations: [example-force]    # the organisations this provider may sign people into
    organisation_claim: assure_org    # may be left out when there is only one organisation
    roles_claim: groups
    role_map: {assure-force-assessors: force_assessor}
    mfa: {amr_any: [mfa, hwk, otp]}   # optional: what counts as multi-factor
"""


class MfaMapping(BaseModel):
    """Which `amr` values (RFC 8176) or `acr` values from this provider count as multi-factor.
    Empty by default: the provider's MFA is not trusted unless the mapping says so."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    amr_any: frozenset[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = frozenset()
    acr_any: frozenset[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = (
        frozenset()
    )

    @model_validator(mode="after")
    def _no_single_factor(self) -> MfaMapping:
        weak = sorted(self.amr_any & SINGLE_FACTOR_AMR)
        if weak:
            raise ValueError(f"amr_any lists {weak}, which are single-factor methods")
        return self

    def asserted(self, amr: tuple[str, ...], acr: str | None) -> bool:
        return bool(self.amr_any.intersection(amr)) or (acr is not None and acr in self.acr_any)


class IdentityProvider(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: ProviderName
    issuer: str = Field(min_length=1, max_length=200)  # the iss claim must equal it exactly
    organisations: tuple[Slug, ...] = Field(min_length=1)
    # Which claim names the organisation; may be left out for a provider with one organisation.
    organisation_claim: ClaimName | None = None
    email_claim: ClaimName = "email"
    name_claim: ClaimName = "name"
    require_verified_email: bool = True
    roles_claim: ClaimName
    role_map: dict[str, Role] = Field(min_length=1)
    # Platform administration is never granted by an external claim unless this says so.
    allow_platform_admin: bool = False
    mfa: MfaMapping = Field(default_factory=MfaMapping)

    @model_validator(mode="after")
    def _consistent(self) -> IdentityProvider:
        if len(set(self.organisations)) != len(self.organisations):
            raise ValueError("organisations lists an organisation twice")
        if self.organisation_claim is None and len(self.organisations) > 1:
            raise ValueError(
                "organisation_claim is needed when a provider is bound to more than one "
                "organisation"
            )
        if self.allow_platform_admin and PLATFORM_SLUG not in self.organisations:
            raise ValueError(
                f"allow_platform_admin is only allowed for a provider bound to the "
                f"{PLATFORM_SLUG!r} organisation"
            )
        if Role.PLATFORM_ADMIN in self.role_map.values() and not self.allow_platform_admin:
            raise ValueError("role_map grants platform_admin but allow_platform_admin is false")
        return self


class FederationMapping(BaseModel):
    """Every identity provider the platform trusts; issuers and names are unique."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    providers: tuple[IdentityProvider, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FederationMapping:
        for field in ("issuer", "name"):
            values = [getattr(p, field) for p in self.providers]
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                raise ValueError(f"more than one provider has the {field} {repeated[0]!r}")
        return self

    def by_issuer(self, issuer: str) -> IdentityProvider | None:
        return next((p for p in self.providers if p.issuer == issuer), None)


def _old_format(document: Any) -> bool:
    return isinstance(document, dict) and "providers" not in document and "issuer" in document


def load_mapping(path: Path) -> FederationMapping:
    """Read and validate the mapping file; any problem is a ConfigError saying what to fix."""
    try:
        if path.stat().st_size > MAX_MAPPING_BYTES:
            raise ConfigError(f"OIDC mapping {path} is larger than {MAX_MAPPING_BYTES} bytes")
        document = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read OIDC mapping {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"OIDC mapping {path} is not valid YAML: {exc}") from exc
    if _old_format(document):
        raise ConfigError(
            f"OIDC mapping {path} is in the old single-provider format, which cannot say which "
            "organisations the provider may sign people into. Rewrite it as a list of "
            "providers, each bound to its organisations (see docs/oidc.md), for example:\n"
            + NEW_SHAPE
        )
    try:
        return FederationMapping.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(f"OIDC mapping {path} is invalid: {exc}") from exc
