"""Revision c0011 on a database of its own (same kind as the suite's): existing deals get their
stage age from the audit trail (the latest stage change, win or loss), else their creation date;
the downgrade removes what the upgrade added."""
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from host_stub import create_app
from host_stub.models import db
from host_stub.plugin_migrations import plugin_migration_specs, upgrade_plugins


@pytest.fixture
def scratch_url(database_url, tmp_path):
    url = sa.make_url(database_url)
    if not url.get_backend_name().startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'c0011.db'}"
        return
    name = f"kw_crm_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def downgrade_crm(connection, target: str) -> None:
    spec = plugin_migration_specs()[0]
    script = ScriptDirectory(spec["directory"])
    context = MigrationContext.configure(connection, opts={
        "version_table": spec["version_table"], "script": script,
        "fn": lambda rev, _context: script._downgrade_revs(target, rev),
        "render_as_batch": connection.dialect.name == "sqlite"})
    with Operations.context(context), context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


def test_c0011_backfills_stage_age_and_downgrades(scratch_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": scratch_url, "TESTING": True, "SECRET_KEY": "x"})
    created, moved, won = datetime(2026, 1, 5, 9), datetime(2026, 2, 1, 12), datetime(2026, 3, 3, 15)
    with app.app_context():
        upgrade(revision="h0001")  # the host's tables; plugins follow only an upgrade to head
        with db.engine.connect() as conn:
            upgrade_plugins(conn, "c0010")
            conn.execute(sa.text("INSERT INTO crm_stages (id, tenant_id, key, label, probability, position) "
                                 "VALUES (1, 1, 'LEAD', 'Lead', 10, 0)"))
            for deal_id in (1, 2, 3):
                conn.execute(sa.text(
                    "INSERT INTO crm_deals (id, tenant_id, title, value_cents, currency, stage_id, created_at, "
                    "updated_at, version) VALUES (:id, 1, 'd', 0, 'USD', 1, :c, :c, 1)"), {"id": deal_id, "c": created})
            events = [(1, "stage_changed", moved), (1, "closed_won", won), (1, "updated", datetime(2026, 4, 1)),
                      (2, "created", created), (3, "stage_changed", moved)]
            for deal_id, action, when in events:
                conn.execute(sa.text(
                    "INSERT INTO crm_audit_events (tenant_id, entity_type, entity_id, action, changes, created_at) "
                    "VALUES (:t, 'deal', :id, :a, '{}', :w)"), {"t": 1 if deal_id != 3 else 2, "id": deal_id,
                                                              "a": action, "w": when})
            conn.commit()
            upgrade_plugins(conn, "c0011")
            ages = dict(conn.execute(sa.text("SELECT id, stage_changed_at FROM crm_deals ORDER BY id")).all())
            thresholds = conn.execute(sa.text("SELECT stale_after_days FROM crm_stages")).scalars().all()
            downgrade_crm(conn, "c0010")
            columns = {c["name"] for c in sa.inspect(conn).get_columns("crm_deals")}
            stage_columns = {c["name"] for c in sa.inspect(conn).get_columns("crm_stages")}
            upgrade_plugins(conn, "c0011")
            again = conn.execute(sa.text("SELECT count(*) FROM crm_deals WHERE stage_changed_at IS NOT NULL")).scalar()
        db.engine.dispose()

    def as_datetime(value):
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    # the latest stage change or close; an edit is not a stage change; another tenant's audit row is ignored
    assert {k: as_datetime(v) for k, v in ages.items()} == {1: won, 2: created, 3: created}
    assert thresholds == [None]
    assert "stage_changed_at" not in columns and "stale_after_days" not in stage_columns
    assert again == 3
