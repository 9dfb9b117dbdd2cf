"""answer_encodings: each assessment's answers as scoring reads them; assessments.answers_revision,
raised by triggers on every change to an assessment's answers

Revision ID: 0018_answer_encodings
Revises: 0017_check_run_milestones
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_answer_encodings"
down_revision: str | None = "0017_check_run_milestones"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Triggers, not application code, raise the revision: every writer (the ORM, bulk inserts, the
# demo seed, a hand-run UPDATE) is covered. A later migration that rebuilds `answers` with
# batch_alter_table on SQLite drops these triggers and must create them again.
SQLITE_TRIGGERS = {
    "answers_revision_insert": "AFTER INSERT ON answers FOR EACH ROW BEGIN "
    "UPDATE assessments SET answers_revision = answers_revision + 1 "
    "WHERE id = NEW.assessment_id; END",
    "answers_revision_update": "AFTER UPDATE ON answers FOR EACH ROW BEGIN "
    "UPDATE assessments SET answers_revision = answers_revision + 1 "
    "WHERE id IN (NEW.assessment_id, OLD.assessment_id); END",
    "answers_revision_delete": "AFTER DELETE ON answers FOR EACH ROW BEGIN "
    "UPDATE assessments SET answers_revision = answers_revision + 1 "
    "WHERE id = OLD.assessment_id; END",
}

# On PostgreSQL, once per statement over its transition tables: a bulk insert of an estate's
# answers raises each assessment's revision once rather than once per answer.
POSTGRES_FUNCTION = """
CREATE FUNCTION answers_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE assessments SET answers_revision = answers_revision + 1
        WHERE id IN (SELECT assessment_id FROM new_answers);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE assessments SET answers_revision = answers_revision + 1
        WHERE id IN (SELECT assessment_id FROM old_answers);
    ELSE
        UPDATE assessments SET answers_revision = answers_revision + 1
        WHERE id IN (SELECT assessment_id FROM new_answers
                     UNION SELECT assessment_id FROM old_answers);
    END IF;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGERS = {
    "answers_revision_insert": "AFTER INSERT ON answers REFERENCING NEW TABLE AS new_answers",
    "answers_revision_update": "AFTER UPDATE ON answers "
    "REFERENCING OLD TABLE AS old_answers NEW TABLE AS new_answers",
    "answers_revision_delete": "AFTER DELETE ON answers REFERENCING OLD TABLE AS old_answers",
}


def upgrade() -> None:
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("answers_revision", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "answer_encodings",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("layout", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_answer_encodings_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_answer_encodings")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        for name, when in POSTGRES_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT "
                "EXECUTE FUNCTION answers_revision_bump()"
            )
    else:
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON answers" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS answers_revision_bump()")
    op.drop_table("answer_encodings")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_column("answers_revision")
