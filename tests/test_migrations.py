"""The same migrations run up and down on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from kernel.errors import DatabaseError, SchemaTooNewError
from posture.storage import (
    migrate,
    models,  # noqa: F401  (registers every table on the metadata)
)
from posture.storage.base import Base

EXPECTED_TABLES = set(Base.metadata.tables)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_creates_every_table_and_downgrade_removes_them(empty_engine: Engine) -> None:
    assert migrate.upgrade(empty_engine) == migrate.head_revision()
    assert _tables(empty_engine) == EXPECTED_TABLES
    assert migrate.downgrade(empty_engine, "base") == "base"
    assert _tables(empty_engine) == set()
    assert migrate.upgrade(empty_engine) == migrate.head_revision()
    assert _tables(empty_engine) == EXPECTED_TABLES


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_a_database_from_a_newer_release_is_refused_untouched(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaTooNewError, match="newer release"):
        migrate.upgrade(engine)
    with pytest.raises(SchemaTooNewError):
        migrate.require_current(engine)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "9999_future"


def test_an_unmigrated_database_is_refused_with_the_fix(empty_engine: Engine) -> None:
    with pytest.raises(DatabaseError, match="run: assure db upgrade"):
        migrate.require_current(empty_engine)


def _old_supplier(connection: Connection) -> None:
    """A supplier organisation as an earlier release wrote it, with raw SQL."""
    connection.execute(
        text(
            "INSERT INTO organisations (id, slug, name, kind, created_at) "
            "VALUES (1, 'old', 'Old Ltd', 'supplier', CURRENT_TIMESTAMP)"
        )
    )


def test_existing_products_gain_empty_listing_fields_on_upgrade(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0005_challenges")
    with empty_engine.begin() as connection:
        _old_supplier(connection)
        connection.execute(
            text(
                "INSERT INTO products (id, organisation_id, name, category, deployment_model, "
                "description, created_at, updated_at) VALUES "
                "(1, 1, 'Legacy', 'mobile', 'saas', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        row = connection.execute(
            text("SELECT api_available, data_locations FROM products WHERE id = 1")
        ).one()
    assert not row[0]
    assert row[1] in ([], "[]")


def test_existing_jobs_gain_their_product_from_the_payload(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0009_monitoring")
    with empty_engine.begin() as connection:
        _old_supplier(connection)
        connection.execute(
            text(
                "INSERT INTO products (id, organisation_id, name, category, deployment_model, "
                "description, data_locations, certifications, api_available, "
                "connected_networks, created_at, updated_at) VALUES (7, 1, 'Legacy', 'mobile', "
                "'saas', '', '[]', '[]', false, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        for job_id, payload in ((1, '{"product_id": 7}'), (2, '{"kind": "audit"}')):
            connection.execute(
                text(
                    "INSERT INTO jobs (id, kind, status, payload, attempts, max_attempts, "
                    "progress, message, organisation_id, created_at) VALUES "
                    "(:id, 'check', 'succeeded', :payload, 1, 3, 1.0, '', 1, CURRENT_TIMESTAMP)"
                ),
                {"id": job_id, "payload": payload},
            )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows = connection.execute(text("SELECT id, product_id FROM jobs ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, 7), (2, None)]
    assert migrate.downgrade(empty_engine, "0009_monitoring") == "0009_monitoring"


def test_a_new_kind_of_check_needs_no_migration(empty_engine: Engine) -> None:
    """Runs recorded before 0014 keep their kind; after it the database takes any kind the
    check catalogue knows (the application validates it), while other CHECKs still hold."""
    migrate.upgrade(empty_engine, "0013_passkeys")
    insert = text(
        "INSERT INTO check_runs (id, organisation_id, kind, target, status, created_at) "
        "VALUES (:id, 1, :kind, 'x', :status, CURRENT_TIMESTAMP)"
    )
    with empty_engine.begin() as connection:
        _old_supplier(connection)
        connection.execute(insert, {"id": 1, "kind": "jwks", "status": "succeeded"})
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(insert, {"id": 2, "kind": "toy", "status": "succeeded"})
        rows = connection.execute(text("SELECT id, kind FROM check_runs ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [(1, "jwks"), (2, "toy")]
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(insert, {"id": 3, "kind": "toy", "status": "bogus"})
    with empty_engine.begin() as connection:
        connection.execute(text("DELETE FROM check_runs WHERE id = 2"))
    assert migrate.downgrade(empty_engine, "0013_passkeys") == "0013_passkeys"
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(insert, {"id": 4, "kind": "toy", "status": "succeeded"})


def test_existing_answers_are_carried_over_to_outcome_urns(empty_engine: Engine) -> None:
    """Answers written before 0023 name outcomes by label only; the upgrade gives each the URN of
    its assessment's framework version, and the answers_revision triggers still fire after it."""
    migrate.upgrade(empty_engine, "0022_imported_profiles")
    with empty_engine.begin() as connection:
        _old_supplier(connection)
        connection.execute(
            text(
                "INSERT INTO framework_versions (id, framework_id, version, title, content_sha256, "
                "loaded_at) VALUES (1, 'ptsbd', '1.0', 'PTSbD', :digest, CURRENT_TIMESTAMP), "
                "(2, 'ncsc-caf', '4.0', 'CAF', :digest, CURRENT_TIMESTAMP)"
            ),
            {"digest": "0" * 64},
        )
        for assessment_id, version_id in ((1, 1), (2, 2)):
            connection.execute(
                text(
                    "INSERT INTO assessments (id, organisation_id, framework_version_id, "
                    "profile_id, status, version, created_at) VALUES "
                    "(:id, 1, :fv, 'p', 'submitted', 1, CURRENT_TIMESTAMP)"
                ),
                {"id": assessment_id, "fv": version_id},
            )
        # The same label in two frameworks: the URN is what tells them apart.
        for answer_id, assessment_id in ((1, 1), (2, 2)):
            connection.execute(
                text(
                    "INSERT INTO answers (id, assessment_id, outcome_id, indicators_met, "
                    "not_applicable, justification, comment, provenance, answered_at, "
                    "review_message) VALUES (:id, :a, 'A1.a', '[]', false, '', '', "
                    "'self_asserted', CURRENT_TIMESTAMP, '')"
                ),
                {"id": answer_id, "a": assessment_id},
            )
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as connection:
        rows = connection.execute(
            text("SELECT id, outcome_urn, inferred_from FROM answers ORDER BY id")
        ).all()
        before = connection.execute(text("SELECT answers_revision FROM assessments WHERE id = 1"))
        revision = before.scalar_one()
        connection.execute(text("UPDATE answers SET comment = 'x' WHERE id = 1"))
        after = connection.execute(text("SELECT answers_revision FROM assessments WHERE id = 1"))
        assert after.scalar_one() == revision + 1
    assert [tuple(row) for row in rows] == [
        (1, "urn:policetech-assure:outcome:ptsbd-1.0:a1.a", None),
        (2, "urn:policetech-assure:outcome:ncsc-caf-4.0:a1.a", None),
    ]
    assert migrate.downgrade(empty_engine, "0022_imported_profiles") == "0022_imported_profiles"


def test_alerts_the_cursor_had_passed_are_marked_notified_and_the_rest_wait(
    empty_engine: Engine,
) -> None:
    migrate.upgrade(empty_engine, "0032_evidence_expiry")
    with empty_engine.begin() as connection:
        _old_supplier(connection)
        for alert_id in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO alerts (id, organisation_id, code, severity, title, advice, "
                    "detail, raised_at) VALUES (:id, 1, 'MON-PQ-LOST', 'high', 'Lost', '', '{}', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"id": alert_id},
            )
        connection.execute(
            text(
                "INSERT INTO notification_cursors (name, last_alert_id, updated_at) "
                "VALUES ('alerts', 2, CURRENT_TIMESTAMP)"
            )
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, notified_at IS NOT NULL FROM alerts ORDER BY id")
        ).all()
    assert [(row[0], bool(row[1])) for row in rows] == [(1, True), (2, True), (3, False)]
    assert "notification_cursors" not in _tables(empty_engine)
    migrate.downgrade(empty_engine, "0032_evidence_expiry")
    with empty_engine.connect() as connection:
        cursor = connection.execute(text("SELECT last_alert_id FROM notification_cursors")).one()
    assert cursor[0] == 2
