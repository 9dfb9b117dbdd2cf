"""Notifications: alerts as CloudEvents, sent by e-mail (SMTP) and signed webhooks from an outbox
with retries and a dead-letter list (docs/notifications.md)."""
