"""The schedule book: the platform's scheduled work as data (posture/data/schedules.yaml, or the
file ASSURE_SCHEDULES_FILE names), each entry bound to an action the platform knows.

A file is taken whole or refused whole: one wrong field names the file and the field, and no
schedule from it runs, so a typo never silently drops the nightly snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from checks.safe_parse import InputRefused, Limits, load_yaml
from kernel.errors import ConfigError

if TYPE_CHECKING:
    from posture.schedules.runner import ScheduleContext

Action = Callable[["ScheduleContext"], Mapping[str, Any]]

MAX_FILE_BYTES = 64 * 1024
FILE_LIMITS = Limits(max_bytes=MAX_FILE_BYTES, max_depth=6, max_aliases=0)
SHIPPED = "posture/data/schedules.yaml"
# How far ahead the next run is looked for: a schedule due less often than this shows none.
LOOK_AHEAD = timedelta(days=35)
NAME = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"


class Period(StrEnum):
    """The span a schedule runs once in: a second trigger within it does nothing."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


_PERIOD_FORMATS = {
    Period.MINUTE: "%Y-%m-%dT%H:%M",
    Period.HOUR: "%Y-%m-%dT%H",
    Period.DAY: "%Y-%m-%d",
}


def period_key(period: Period, moment: datetime) -> str:
    """The period `moment` (UTC) falls in, as stored with each run."""
    return moment.strftime(_PERIOD_FORMATS[period])


class Cron(BaseModel):
    """When a schedule is due, as cron fields in UTC (huey's crontab reads them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    minute: str = Field(default="*", max_length=100)
    hour: str = Field(default="*", max_length=100)
    day: str = Field(default="*", max_length=100)
    month: str = Field(default="*", max_length=100)
    day_of_week: str = Field(default="*", max_length=100)

    def fields(self) -> dict[str, str]:
        return self.model_dump()

    def due(self) -> Callable[[datetime], bool]:
        from huey.api import crontab

        return crontab(**self.fields())  # type: ignore[no-any-return]

    def text(self) -> str:
        return " ".join(self.fields().values())


class ScheduleDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=3, max_length=64, pattern=NAME)
    action: str = Field(min_length=3, max_length=64, pattern=NAME)
    description: str = Field(min_length=1, max_length=300)
    cron: Cron
    period: Period
    timeout_minutes: int = Field(ge=1, le=24 * 60)

    @field_validator("cron")
    @classmethod
    def _parses(cls, value: Cron) -> Cron:
        try:
            value.due()
        except ValueError as exc:
            raise ValueError(f"not a cron schedule huey can run ({exc})") from None
        return value

    def next_run(self, after: datetime) -> datetime | None:
        """The first minute after `after` this schedule is due, within LOOK_AHEAD."""
        due = self.cron.due()
        moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        end = after + LOOK_AHEAD
        while moment <= end:
            # huey's crontab reads naive datetimes in the zone the consumer runs in: UTC here.
            if due(moment.replace(tzinfo=None)):
                return moment
            moment += timedelta(minutes=1)
        return None


class ScheduleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1, le=1)
    schedules: tuple[ScheduleDefinition, ...] = Field(min_length=1, max_length=100)

    @field_validator("schedules")
    @classmethod
    def _unique_names(cls, value: tuple[ScheduleDefinition, ...]) -> tuple[ScheduleDefinition, ...]:
        seen: set[str] = set()
        for definition in value:
            if definition.name in seen:
                raise ValueError(f"two schedules are named {definition.name!r}")
            seen.add(definition.name)
        return value


@dataclass(frozen=True)
class ScheduleBook:
    """The schedules in force and the action each is bound to."""

    source: str
    definitions: tuple[ScheduleDefinition, ...]
    actions: Mapping[str, Action]

    def named(self, name: str) -> ScheduleDefinition:
        for definition in self.definitions:
            if definition.name == name:
                return definition
        known = ", ".join(d.name for d in self.definitions)
        raise ConfigError(f"no schedule named {name!r}; the schedules are: {known}")

    def action_of(self, definition: ScheduleDefinition) -> Action:
        return self.actions[definition.action]


def _located(source: str, exc: ValidationError, data: Any) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = _place(error["loc"], data)
        problems.append(f"{where or 'document'}: {error['msg']}")
    return f"{source}: refused, no schedule from it runs: " + "; ".join(problems)


def _place(location: tuple[Any, ...], data: Any) -> str:
    """A field's place, naming a schedule by its name where the file gives one."""
    parts: list[str] = []
    node = data
    for part in location:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("name") if isinstance(node, dict) else None
            label = f"[{part}]" if not isinstance(name, str) else f"[{part}] ({name[:64]})"
            parts[-1:] = [f"{parts[-1]}{label}" if parts else label]
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts)


def parse_schedules(text: str | bytes, source: str, actions: Mapping[str, Action]) -> ScheduleBook:
    """The book in `text`, bound to `actions`, or ConfigError naming `source` and the field."""
    try:
        data = load_yaml(text, FILE_LIMITS)
    except InputRefused as exc:
        raise ConfigError(f"{source}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    try:
        parsed = ScheduleFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_located(source, exc, data)) from None
    for index, definition in enumerate(parsed.schedules):
        if definition.action not in actions:
            known = ", ".join(sorted(actions))
            raise ConfigError(
                f"{source}: refused, no schedule from it runs: schedules[{index}] "
                f"({definition.name}).action: {definition.action!r} is not an action the "
                f"platform knows ({known})"
            )
    return ScheduleBook(source, parsed.schedules, actions)


def load_schedules(path: Path | None, actions: Mapping[str, Action]) -> ScheduleBook:
    """The shipped book, or the one in `path` (read no further than the size limit)."""
    if path is None:
        text = (resources.files("posture") / "data" / "schedules.yaml").read_text("utf-8")
        return parse_schedules(text, SHIPPED, actions)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than the {MAX_FILE_BYTES // 1024} KB it may be")
    return parse_schedules(raw, str(path), actions)


def valid_name(name: str) -> bool:
    return re.fullmatch(NAME, name) is not None and len(name) <= 64
