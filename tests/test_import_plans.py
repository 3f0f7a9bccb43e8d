"""The import's statements stay index-driven whatever the statistics and statement preparation
(issue 9): a first import into a fresh tenant used to take minutes for 100k rows because a
prepared lookup switched to a generic plan that read the tenant's whole index range and
filtered the batch's emails by hand.

On PostgreSQL the import runs on a connection where psycopg prepares every statement at once
(``prepare_threshold=0``), PostgreSQL must use the generic plan of each (``plan_cache_mode =
force_generic_plan``), and ``auto_explain`` sends the plan of every executed statement back as a
notice; each scan of ``crm_contacts`` must be an index probe on both columns of the unique
``(tenant_id, email_key)`` index, or the primary key. On SQLite the lookups are EXPLAINed (QUERY
PLAN) with their real parameters."""
import io
import json

import pytest
import sqlalchemy as sa

from host_stub import create_app
from host_stub.models import db
from kw_crm.services import importer
from kw_crm.tenancy import tenant_scope
from tests.support.importing import contacts_of, csv_bytes

UNIQUE_INDEX = "uq_crm_contacts_tenant_email"


def rows(count: int, start: int = 0) -> list[list[str]]:
    return [[f"P{i}", "Person", f"plan{i}@example.test", "", "Co", "", "active" if i % 2 else ""]
            for i in range(start, start + count)]


@pytest.fixture
def prepared_app(app, database_url):
    """A second app on the test database whose connections prepare every statement."""
    if not database_url.startswith("postgresql"):
        yield None  # SQLite: the test checks its own lookups instead
        return
    strict = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                         "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"prepare_threshold": 0}}})
    yield strict
    with strict.app_context():
        db.engine.dispose()


def import_with_plans(prepared_app, tenant, data: bytes, batch_size: int) -> tuple[importer.ImportResult, list]:
    """Import through ``prepared_app`` and return the result and every plan PostgreSQL ran."""
    plans: list[dict] = []

    def collect(diagnostic):
        message = diagnostic.message_primary or ""
        if "plan:" in message:
            plans.append(json.loads(message.split("plan:", 1)[1]))

    with prepared_app.app_context(), tenant_scope(tenant.id):
        raw = db.session.connection().connection.driver_connection
        raw.add_notice_handler(collect)
        try:
            for setting in ("LOAD 'auto_explain'", "SET auto_explain.log_min_duration = 0",
                            "SET auto_explain.log_level = notice", "SET auto_explain.log_format = json",
                            "SET plan_cache_mode = force_generic_plan"):
                db.session.connection().exec_driver_sql(setting)
            result = importer.import_contacts(io.BytesIO(data), batch_size=batch_size)
        finally:
            raw.remove_notice_handler(collect)
            for setting in ("RESET auto_explain.log_min_duration", "RESET plan_cache_mode"):
                db.session.connection().exec_driver_sql(setting)
            db.session.commit()
    return result, plans


def contact_scans(node: dict, parent: dict | None = None):
    """Every plan node that reads crm_contacts (a bitmap index scan with its heap scan)."""
    if node.get("Relation Name") == "crm_contacts" and node["Node Type"] != "ModifyTable":
        yield node
    for child in node.get("Plans", []):
        yield from contact_scans(child, node)


def assert_index_driven(plans: list[dict]) -> int:
    """Every read of crm_contacts is a probe of the unique index on both of its columns (the
    upserts reach stored contacts only through their conflict check, which always is);
    returns how many upserts ran."""
    upserts = 0
    for plan in plans:
        upserts += "INSERT INTO crm_contacts" in plan["Query Text"]
        for scan in contact_scans(plan["Plan"]):
            where = f"{plan['Query Text'][:120]}: {scan}"
            assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), where
            assert "Filter" not in scan and scan["Index Name"] == UNIQUE_INDEX, where
            assert "tenant_id" in scan["Index Cond"] and "email_key" in scan["Index Cond"], where
    return upserts


def test_postgresql_import_into_a_fresh_tenant_probes_the_unique_index_under_generic_plans(
        app, prepared_app, make_tenant, crm_scope):
    tenant = make_tenant()
    if prepared_app is None:
        sqlite_lookups_use_the_unique_index(app, tenant)
        return
    first, plans = import_with_plans(prepared_app, tenant, csv_bytes(rows(40)), batch_size=5)
    assert (first.created, first.updated) == (40, 0)
    assert assert_index_driven(plans) >= 8  # 8 batches, each at least one upsert
    again, plans = import_with_plans(prepared_app, tenant, csv_bytes(rows(40, start=20)), batch_size=5)
    assert (again.created, again.updated) == (20, 20)
    assert assert_index_driven(plans) >= 8
    stored = contacts_of(app, tenant)
    assert len(stored) == 60 and {c["status"] for c in stored} == {"lead", "active"}


def sqlite_lookups_use_the_unique_index(app, tenant):
    """SQLite counterpart: each batch's lookup of stored emails is a search of the unique index."""
    executed: list[tuple[str, tuple]] = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "email_key IN" in statement:
            executed.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        with app.app_context(), tenant_scope(tenant.id):
            result = importer.import_contacts(io.BytesIO(csv_bytes(rows(40))), batch_size=5)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert result.created == 40 and len(executed) == 8
    with app.app_context():
        for statement, parameters in executed:
            plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
            assert f"USING COVERING INDEX {UNIQUE_INDEX} (tenant_id=? AND email_key=?)" in plan or \
                f"USING INDEX {UNIQUE_INDEX} (tenant_id=? AND email_key=?)" in plan, plan
