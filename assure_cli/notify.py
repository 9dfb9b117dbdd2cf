"""assure notify: send a test e-mail, and run the notification outbox once."""

from __future__ import annotations

import typer

from assure_cli.context import fail, friendly_errors, open_database, print_json

app = typer.Typer(
    help="Notifications: e-mail and signed webhooks from the outbox.", no_args_is_help=True
)


@app.command(name="test-email")
@friendly_errors
def send_test_email(
    address: str = typer.Argument(..., help="Where to send the test message."),
) -> None:
    """Send one plain-text test message through the configured SMTP server (ASSURE_SMTP_*)."""
    from email.message import EmailMessage
    from email.policy import SMTP

    from checks.egress import EgressPolicy
    from kernel.settings import load_settings
    from posture.notify.messages import one_line
    from posture.notify.policy import notification_policy
    from posture.notify.transport import SendFailed, send_email

    settings = load_settings()
    recipient = one_line(address, 254)
    if recipient != address.strip() or "@" not in recipient:
        raise fail(f"{address!r} is not an e-mail address")
    message = EmailMessage(policy=SMTP)
    message["From"], message["To"] = settings.smtp_from, recipient
    message["Subject"] = "PoliceTech Assure: test message"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("This test message shows e-mail notifications can reach you.\n")
    try:
        send_email(
            settings,
            EgressPolicy.from_settings(settings),
            message,
            notification_policy().request_timeout_seconds,
        )
    except SendFailed as failed:
        raise fail(f"test message not sent: {failed.reason}") from None
    typer.echo(f"test message sent through {settings.smtp_host}:{settings.smtp_port}")


@app.command()
@friendly_errors
def deliver(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Enqueue new alerts, send what is due (for up to one scheduled turn), and send finished
    days' digests, once."""
    from kernel.clock import utcnow
    from posture.notify.deliver import send_digests
    from posture.notify.outbox_run import run_outbox

    with open_database() as db:
        now = utcnow()
        summary = {
            **run_outbox(db.sessions, db.settings, now),
            "digests": send_digests(db.sessions, db.settings, now),
        }
    if json_output:
        print_json(summary)
        return
    sent = summary["delivered"]
    typer.echo(
        f"{summary['enqueued']['deliveries_enqueued']} enqueued; {sent['delivered']} delivered, "
        f"{sent['retrying']} to retry, {sent['dead']} dead-lettered; "
        f"{summary['digests']['digests_made']} digests made"
    )
