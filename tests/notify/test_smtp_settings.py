"""SMTP settings read like every ASSURE_* setting; the password never shows, and a line break in
a value that reaches the SMTP conversation is refused with the setting named."""

from __future__ import annotations

import pytest

from kernel.errors import ConfigError
from kernel.settings import load_settings


def test_smtp_settings_come_from_the_environment_and_the_password_never_shows() -> None:
    settings = load_settings(
        {
            "ASSURE_SMTP_HOST": "smtp.force.police.uk",
            "ASSURE_SMTP_PORT": "2525",
            "ASSURE_SMTP_PASSWORD": "correct horse battery",
            "ASSURE_SMTP_STARTTLS": "false",
        }
    )
    assert settings.smtp_host == "smtp.force.police.uk"
    assert settings.smtp_port == 2525
    assert settings.smtp_starttls is False
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "correct horse battery"
    assert "correct horse" not in repr(settings) + str(settings.model_dump())


@pytest.mark.parametrize(
    ("name", "value"),
    [("ASSURE_SMTP_FROM", "a@b.example\r\nBcc: x@evil.example"), ("ASSURE_SMTP_PORT", "0")],
)
def test_a_bad_smtp_setting_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})
