"""Revision c0011 on a database of its own (same kind as the suite's): existing deals get their
stage age from the audit trail (the latest stage change, win or loss), else their creation date;
the downgrade removes what the upgrade added."""
from datetime import datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from host_stub import create_app
from host_stub.models import db
from kw_crm.platform import downgrade_plugin, plugin_migration_specs, upgrade_plugin
from tests.support.scratch import scratch_database

CREATED, MOVED, WON = datetime(2026, 1, 5, 9), datetime(2026, 2, 1, 12), datetime(2026, 3, 3, 15)


def test_c0011_backfills_stage_age_and_downgrades(database_url, tmp_path):
    with scratch_database(database_url, tmp_path, "kw_c0011") as url:
        ages, thresholds, columns, stage_columns, again = migrate_with_data(url)

    def as_datetime(value):
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    # the latest stage change or close; an edit is not a stage change; another tenant's audit row is ignored
    assert {k: as_datetime(v) for k, v in ages.items()} == {1: WON, 2: CREATED, 3: CREATED}
    assert thresholds == [None]
    assert "stage_changed_at" not in columns and "stale_after_days" not in stage_columns
    assert again == 3


def migrate_with_data(url):
    created, moved, won = CREATED, MOVED, WON
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="h0001")  # the host's tables; plugins follow only an upgrade to head
        spec = plugin_migration_specs(app.extensions["host_stub"].plugin_manager)[0]
        with db.engine.connect() as conn:
            upgrade_plugin(conn, spec, "c0010")
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
            upgrade_plugin(conn, spec, "c0011")
            ages = dict(conn.execute(sa.text("SELECT id, stage_changed_at FROM crm_deals ORDER BY id")).all())
            thresholds = conn.execute(sa.text("SELECT stale_after_days FROM crm_stages")).scalars().all()
            downgrade_plugin(conn, spec, "c0010")
            columns = {c["name"] for c in sa.inspect(conn).get_columns("crm_deals")}
            stage_columns = {c["name"] for c in sa.inspect(conn).get_columns("crm_stages")}
            upgrade_plugin(conn, spec, "c0011")
            again = conn.execute(sa.text("SELECT count(*) FROM crm_deals WHERE stage_changed_at IS NOT NULL")).scalar()
        db.engine.dispose()

    return ages, thresholds, columns, stage_columns, again
