"""assure api: serve the partner REST API with uvicorn."""

from __future__ import annotations

import typer

from assure_cli.context import friendly_errors, open_database
from kernel.logs import LogFormat


@friendly_errors
def api(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port for the API."),
    workers: int = typer.Option(1, min=1, max=32, help="Server processes."),
    log_format: LogFormat = typer.Option(
        LogFormat.json, "--log-format", help="Log lines as JSON objects or as plain text."
    ),
) -> None:
    """Serve the partner API (/v1), publishing its OpenAPI document at /openapi.json."""
    import uvicorn

    from kernel.logs import logging_config
    from partner_api.server import server_options
    from posture.audit_reseal import upgrade_database

    with open_database(require_current=False) as db:
        revision = upgrade_database(db.engine, db.settings.data_dir).revision
    typer.echo(f"database at schema {revision}; API on http://{host}:{port}/v1")
    # The options (header-read and keep-alive timeouts, no proxy headers) are shared with the
    # tests that serve the API on loopback. uvicorn applies the logging configuration in each
    # of its worker processes: one access line a request (assure.api.access), JSON by default.
    uvicorn.run(
        "partner_api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_config=logging_config(log_format),
        **server_options(),
    )
