"""Indexes the retention sweep needs: deleting a finished job checks check_runs.job_id (its
foreign key) and releasing an upload checks every table that names its digest; without them
each deleted row read the whole table

Revision ID: 0021_retention_indexes
Revises: 0020_audit_personal_data
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021_retention_indexes"
down_revision: str | None = "0020_audit_personal_data"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_check_runs_job_id", "check_runs", "job_id"),
    ("ix_evidence_sha256", "evidence", "sha256"),
    ("ix_challenge_attachments_sha256", "challenge_attachments", "sha256"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
