"""The `assure` command line.

Commands are named here and imported when they run (assure_cli/lazy.py): `assure --help` and
`assure check tls` load what they use and not the database, the queue or pandas.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

import typer

from assure_cli.lazy import LazyCommand, TableGroup

# In the order `assure --help` lists them. Each line is the first paragraph of the command's
# own help (tests/test_cli_imports.py keeps them equal).
COMMANDS = {
    "serve": LazyCommand(
        "assure_cli.serve",
        "serve",
        "Upgrade the database if needed, then run the app and its background worker.",
    ),
    "worker": LazyCommand(
        "assure_cli.worker", "worker", "Run a background worker that takes jobs from the queue."
    ),
    "api": LazyCommand(
        "assure_cli.api",
        "api",
        "Serve the partner API (/v1), publishing its OpenAPI document at /openapi.json.",
    ),
    "version": LazyCommand(
        "assure_cli.version", "version", "Print the version of PoliceTech Assure."
    ),
    "db": LazyCommand(
        "assure_cli.db", "app", "The database: schema migrations, backups and restores."
    ),
    "demo": LazyCommand("assure_cli.demo", "app", "Fill an empty database with a demo estate."),
    "framework": LazyCommand(
        "assure_cli.framework", "app", "The common framework: validate, browse, map and exchange."
    ),
    "score": LazyCommand("assure_cli.score", "app", "Posture scores, snapshots and explanations."),
    "risk": LazyCommand("assure_cli.risk", "app", "The risk register: exports."),
    "admin": LazyCommand("assure_cli.admin", "app", "Administrator accounts."),
    "audit": LazyCommand("assure_cli.audit", "app", "The audit trail."),
    "token": LazyCommand("assure_cli.token", "app", "API tokens for partners' service accounts."),
    "check": LazyCommand("assure_cli.check", "app", "Automated checks that produce evidence."),
    "attest": LazyCommand("assure_cli.attest", "app", "Hybrid post-quantum signed attestations."),
    "passport": LazyCommand(
        "assure_cli.passport",
        "app",
        "Assurance passports: verify, publish keys and revocations, issue.",
    ),
    "retention": LazyCommand(
        "assure_cli.retention",
        "app",
        "Retention periods for personal data and evidence, applied by a sweep.",
    ),
    "schedule": LazyCommand(
        "assure_cli.schedule",
        "app",
        "Scheduled work: what runs when, how it last went, and running one now.",
    ),
    "notify": LazyCommand(
        "assure_cli.notify", "app", "Notifications: e-mail and signed webhooks from the outbox."
    ),
    # Run by `assure serve` after one of its workers exits, so that the supervisor itself never
    # loads huey or SQLAlchemy.
    "settle-worker": LazyCommand(
        "assure_cli.worker",
        "settle_worker",
        "Retry or fail the jobs of a worker that has exited (run by assure serve).",
        hidden=True,
    ),
}


class AssureCommands(TableGroup):
    table = COMMANDS


app = typer.Typer(
    cls=AssureCommands,
    help="PoliceTech Assure: secure-by-design posture, checks and procurement for UK policing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _commands_only() -> None:
    # Typer builds a group (rather than one command) from an app with a callback; the commands
    # themselves are in COMMANDS.
    pass


# Commands whose process has nothing left to do once their output is written: they end without
# the interpreter's teardown (freeing some 300 modules one by one, about 20 ms of a 0.3 s
# `assure check tls`), after running what is registered to run at exit.
QUICK_EXIT = frozenset({"check"})


def _exit_at_once(done: SystemExit) -> None:
    """End the process now with `done`'s status, when the command was one of QUICK_EXIT and
    nothing else runs; otherwise return, and the interpreter ends as usual."""
    code = done.code if done.code is not None else 0
    command = sys.argv[1] if len(sys.argv) > 1 else None
    if command not in QUICK_EXIT or not isinstance(code, int):
        return
    if threading.active_count() > 1:  # a thread the interpreter would wait for
        return
    atexit._run_exitfuncs()  # logging's flush, tempfile's and weakref's finalizers
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        return  # a closed pipe: the usual exit reports it as it always has
    os._exit(code)


def run() -> None:
    # Everything the platform writes (database, queue, evidence, keys, exports) is for this
    # account alone; the app, worker and API processes serve starts inherit the mask.
    os.umask(0o077)
    try:
        app()
    except SystemExit as done:
        _exit_at_once(done)
        raise


if __name__ == "__main__":
    run()
