"""Whether the `assure` command line accepts an argument list, decided by the command line's own
parser (option names, types and ranges) without running the command."""

from __future__ import annotations

from collections.abc import Sequence

import typer

# Typer's own copy of click, whose classes its commands are (assure_cli/lazy.py).
from typer._click import core as click
from typer.core import TyperGroup

from assure_cli.main import app


def parse_assure(args: Sequence[str]) -> click.Context:
    """The context `assure ARGS` would run in; raises a click UsageError (BadParameter, ...)
    for arguments the real command refuses."""
    command: click.Command = typer.main.get_command(app)
    context = command.make_context("assure", list(args))
    while isinstance(command, TyperGroup):
        rest = [*context._protected_args, *context.args]
        name, command, rest = command.resolve_command(context, rest)
        context = command.make_context(name, rest, parent=context)
    return context
