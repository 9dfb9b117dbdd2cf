"""Command groups that import a command's module only when that command runs.

Every `assure` command used to be imported to print `assure --help`, and with them pandas,
SQLAlchemy, Alembic and huey: 2.3 s of CPU to list thirteen names. A lazy group knows its
commands' names and one-line help without importing them; `get_command` imports the one the
command line names, converts it with Typer as `add_typer`/`command` would, and keeps it.
"""

from __future__ import annotations

import importlib
from abc import ABCMeta, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer

# Typer carries its own copy of click (typer._click) and its groups are built on it; importing
# the separate `click` package would load a second copy whose classes are not Typer's.
from typer._click import core as click
from typer._click.exceptions import UsageError
from typer.core import TyperCommand, TyperGroup


def as_click(
    target: typer.Typer | Callable[..., Any], name: str, hidden: bool = False
) -> click.Command:
    """A Typer app (a group) or a function (one command) as the click command it would be under
    a parent Typer. A sub-app is built without the completion options its own `typer.Typer()`
    would add when run alone; the parent (`assure`) has none either."""
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    command.hidden = command.hidden or hidden
    return command


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (`module`, and `attribute`: a Typer app or a command function) and
    the line `--help` lists for it, which must be the first paragraph of its own help (a test
    compares them)."""

    module: str
    attribute: str
    help: str
    hidden: bool = False

    def load(self, name: str) -> click.Command:
        target = getattr(importlib.import_module(self.module), self.attribute)
        return as_click(target, name, self.hidden)


class LazyGroup(TyperGroup, metaclass=ABCMeta):
    """A Typer group whose commands are imported on first use. Subclasses say which names it
    has (`names`), what its help lists for one (`summary`) and how to build one (`load`)."""

    # True while this group's own help is written: listing its commands must not import them.
    _listing: bool = False

    @abstractmethod
    def names(self) -> list[str]:
        """The command names, in the order help lists them."""

    @abstractmethod
    def summary(self, name: str) -> tuple[str, bool]:
        """(the listed help line, hidden)."""

    @abstractmethod
    def load(self, name: str) -> click.Command | None:
        """The command, imported now; None for a name this group does not have."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # In the table's order, whichever have been loaded already; then any added eagerly.
        names = self.names()
        return names + [name for name in self.commands if name not in names]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if self._listing:
            if cmd_name not in self.names():
                return None
            line, hidden = self.summary(cmd_name)
            return TyperCommand(cmd_name, help=line, hidden=hidden)
        command = self.load(cmd_name)
        if command is not None:
            self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # Typer suggests from the commands built so far; here that is none of them.
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as error:
            matches = get_close_matches(args[0], self.names()) if args else []
            if self.suggest_commands and matches:
                suggestions = ", ".join(f"{m!r}" for m in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


class TableGroup(LazyGroup):
    """A lazy group whose commands are a fixed table (`table`, in the order help lists them)."""

    table: ClassVar[Mapping[str, LazyCommand]] = {}

    def names(self) -> list[str]:
        return list(self.table)

    def summary(self, name: str) -> tuple[str, bool]:
        entry = self.table[name]
        return entry.help, entry.hidden

    def load(self, name: str) -> click.Command | None:
        entry = self.table.get(name)
        return None if entry is None else entry.load(name)
