"""assure version."""

from __future__ import annotations

import typer

from kernel.version import __version__


def version() -> None:
    """Print the version of PoliceTech Assure."""
    typer.echo(f"policetech-assure {__version__}")
