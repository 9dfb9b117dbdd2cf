"""The two ways out: an SMTP conversation and a webhook POST, each through the egress policy and
each ending within the policy's timeout. Failures come back as `SendFailed` with a reason in
the platform's own words: never a URL's path, a header, an address or a password."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from checks.egress import EgressPolicy, EgressRefused, Target, parse_url
from checks.fetch import FetchError, exchange
from kernel.settings import Settings


class SendFailed(Exception):
    """One attempt failed; `permanent` ones go straight to the dead-letter list."""

    def __init__(self, reason: str, status_code: int | None = None, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason[:300]
        self.status_code = status_code
        self.permanent = permanent


@dataclass(frozen=True)
class WebhookAnswer:
    status_code: int


def post_webhook(
    url: str, headers: dict[str, str], body: bytes, egress: EgressPolicy, timeout: float
) -> WebhookAnswer:
    """POST the event; the address is vetted again now (DNS may have changed since the endpoint
    was registered) and the request is sent to that vetted address."""
    try:
        parse_url(url, ("https", "http"))
        status, _, _ = exchange("POST", url, egress, headers, body, timeout=timeout, max_bytes=1024)
    except EgressRefused as exc:
        raise SendFailed(
            f"refused by the egress policy: {_host_only(str(exc), url)}", permanent=True
        ) from None
    except FetchError as exc:
        if "deadline" in str(exc):
            raise SendFailed(f"no answer within {timeout:g}s") from None
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "error"
        raise SendFailed(f"could not connect or send ({cause})") from None
    if not 200 <= status < 300:
        raise SendFailed(f"the receiver answered HTTP {status}", status_code=status)
    return WebhookAnswer(status)


def _host_only(reason: str, url: str) -> str:
    # The policy's refusal names host, port and addresses; never the path, which may carry a
    # receiver's token.
    return reason.replace(url, "the endpoint")


class _VettedSMTP(smtplib.SMTP):
    """smtplib connecting to the address the egress policy vetted, while greeting and checking
    the certificate (STARTTLS) by the configured name."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._target = target
        super().__init__(timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:  # type: ignore[override]
        return socket.create_connection((self._target.address, port), timeout)


def send_email(
    settings: Settings, egress: EgressPolicy, message: EmailMessage, timeout: float
) -> None:
    if not settings.smtp_host:
        raise SendFailed("e-mail is not configured (ASSURE_SMTP_HOST)")
    if settings.smtp_password is not None and not settings.smtp_starttls:
        raise SendFailed(
            "refusing to send the SMTP password without STARTTLS (ASSURE_SMTP_STARTTLS)",
            permanent=True,
        )
    try:
        target = egress.resolve(settings.smtp_host, settings.smtp_port)
    except EgressRefused as exc:
        raise SendFailed(
            f"SMTP server refused by the egress policy: {exc}", permanent=True
        ) from None
    smtp = _VettedSMTP(target, timeout)
    # Each socket operation has `timeout`; the watchdog bounds the whole conversation, so a
    # server that drips its replies cannot hold a worker.
    watchdog = threading.Timer(timeout * 3, _shut, args=(smtp,))
    watchdog.daemon = True
    watchdog.start()
    try:
        smtp.connect(settings.smtp_host, settings.smtp_port)
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username and settings.smtp_password is not None:
            smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
        smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise SendFailed(
            f"the SMTP server answered {exc.smtp_code}", status_code=exc.smtp_code
        ) from None
    except smtplib.SMTPRecipientsRefused:
        raise SendFailed("the SMTP server refused the recipient") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendFailed(f"SMTP conversation failed ({type(exc).__name__})") from None
    finally:
        watchdog.cancel()
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _shut(smtp: smtplib.SMTP) -> None:
    sock = smtp.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
