"""Alembic environment: runs against the connection handed over by posture.storage.migrate."""

from __future__ import annotations

from alembic import context

from posture.storage import models  # noqa: F401  (registers every table on the metadata)
from posture.storage.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
