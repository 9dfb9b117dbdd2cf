"""Errors a person can act on: each message says what went wrong and what to do next."""


class AssureError(Exception):
    """Base class for errors shown to users as one line, never as a traceback."""


class ConfigError(AssureError):
    """The settings (environment, config file, data directory) cannot be used."""


class DatabaseError(AssureError):
    """The database cannot be reached or is in a state this version cannot use."""


class SchemaTooNewError(DatabaseError):
    """The database was migrated by a newer release of Assure."""


class ValidationFailed(AssureError):
    """Input was refused; nothing was changed."""


class LocatedProblems(ValidationFailed):
    """Input refused for problems each found at a place in it (a row of a file, say); nothing
    was changed. `located` pairs each place with what is wrong there."""

    def __init__(self, message: str, located: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.located = located
