"""assure api: serve the partner REST API with uvicorn."""

from __future__ import annotations

import typer

from assure_cli.context import friendly_errors, open_database


@friendly_errors
def api(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port for the API."),
    workers: int = typer.Option(1, min=1, max=32, help="Server processes."),
) -> None:
    """Serve the partner API (/v1), publishing its OpenAPI document at /openapi.json."""
    import uvicorn

    from partner_api.server import server_options
    from posture.storage import migrate

    with open_database(require_current=False) as db:
        revision = migrate.upgrade(db.engine)
    typer.echo(f"database at schema {revision}; API on http://{host}:{port}/v1")
    # The options (header-read and keep-alive timeouts, no proxy headers) are shared with the
    # tests that serve the API on loopback.
    uvicorn.run(
        "partner_api.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        **server_options(),
    )
