"""Passkey settings: the origin answers must carry is configured, checked, and the relying party
id follows from it; nothing is taken from a request."""

from __future__ import annotations

import pytest

from kernel.errors import ConfigError
from kernel.settings import load_settings
from posture.identity.passkeys import RelyingParty, relying_party


def test_passkeys_are_off_until_an_origin_is_configured() -> None:
    assert relying_party(load_settings({})) is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"ASSURE_WEBAUTHN_ORIGIN": "https://Assure.Force.police.uk:443/"},
            RelyingParty(
                "assure.force.police.uk", "PoliceTech Assure", "https://assure.force.police.uk"
            ),
        ),
        (
            {
                "ASSURE_WEBAUTHN_ORIGIN": "https://assure.force.police.uk:8443",
                "ASSURE_WEBAUTHN_RP_ID": "force.police.uk",
            },
            RelyingParty(
                "force.police.uk", "PoliceTech Assure", "https://assure.force.police.uk:8443"
            ),
        ),
        (
            {"ASSURE_WEBAUTHN_ORIGIN": "http://localhost:8501"},
            RelyingParty("localhost", "PoliceTech Assure", "http://localhost:8501"),
        ),
    ],
)
def test_the_relying_party_follows_the_configured_origin(
    environ: dict[str, str], expected: RelyingParty
) -> None:
    assert relying_party(load_settings(environ)) == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ASSURE_WEBAUTHN_ORIGIN": "http://assure.force.police.uk"}, "need https"),
        ({"ASSURE_WEBAUTHN_ORIGIN": "http://127.0.0.1:8501"}, "IP address"),
        ({"ASSURE_WEBAUTHN_ORIGIN": "https://assure.force.police.uk/app"}, "no path"),
        ({"ASSURE_WEBAUTHN_ORIGIN": "assure.force.police.uk"}, "is not an origin"),
        ({"ASSURE_WEBAUTHN_RP_ID": "force.police.uk"}, "ASSURE_WEBAUTHN_ORIGIN"),
        (
            {
                "ASSURE_WEBAUTHN_ORIGIN": "https://assure.force.police.uk",
                "ASSURE_WEBAUTHN_RP_ID": "orce.police.uk",
            },
            "parent domain",
        ),
    ],
)
def test_an_origin_passkeys_cannot_work_on_is_refused_at_start(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ)
