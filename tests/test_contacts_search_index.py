"""Contact search is one LIKE on a normalized search text (kw_crm.models.contact.search_text) so
that PostgreSQL can answer it from the pg_trgm index of revision c0006. These tests hold the
rewrite to the old per-field answer and check that the real statement can use the index."""
import uuid

import sqlalchemy as sa
from sqlalchemy import func, or_, select

from host_stub.models import db
from kw_crm.db import contains_pattern
from kw_crm.models import Contact
from kw_crm.services import contacts as service
from kw_crm.tenancy import require_tenant_id

PEOPLE = [
    # first, last, email, company
    ("Ann", "Lee", "lee@alpha.test", "Alpha Ltd"),
    ("Ben", "O'Hara", None, "100% Tools_Co"),
    ("Zoë", "Ångström", "ZOE@Beta.TEST", None),
    ("Cat", "Quinn", "cq@gamma.test", "Gamma \\ Sons"),
    ("Dan", "Park", "dan@delta.test", "Lee Lee Partners"),
    ("Eve", "Lee", "eve@lee.test", "Epsilon"),
]

# 1-2 character searches (below a trigram), wildcards and quotes literal, letter case, the full
# name across first and last, text that would only match if fields were glued together.
SEARCHES = ["a", "LE", "ee", "lee", "ann lee", "n l", "100%", "%", "_", "tools_co", "o'hara", "'", "\\",
            "gamma \\ sons", "beta.test", "alpha ltd", "lee alpha", "lee lee", "ltd ann", "test alpha",
            "zoe", "ë", "nobody", "  quinn  ", "@"]


def per_field_ids(q: str) -> set[int]:
    """The search as it was before the index: name, email and company matched one by one."""
    pattern = contains_pattern(q)
    stmt = select(Contact.id).where(or_(
        func.lower(Contact.first_name + " " + Contact.last_name).like(pattern, escape="\\"),
        func.lower(Contact.email).like(pattern, escape="\\"),
        func.lower(Contact.company).like(pattern, escape="\\"),
    ))
    return set(db.session.scalars(stmt))


def listed_ids(q: str) -> set[int]:
    rows, total = service.list_contacts(service.ContactFilters(q=q), limit=200, offset=0)
    assert total == len(rows)
    return {c.id for c in rows}


def add_people(session):
    ids = {}
    for first, last, email, company in PEOPLE:
        contact = Contact(first_name=first, last_name=last, email=email, company=company)
        session.add(contact)
        session.flush()
        ids[first] = contact.id
    session.commit()
    return ids


def test_single_like_search_returns_exactly_the_per_field_matches(crm_scope, tenant, other_tenant):
    with crm_scope(other_tenant) as session:
        add_people(session)  # same names in another tenant: never listed
    with crm_scope(tenant) as session:
        ids = add_people(session)
        for q in SEARCHES:
            assert listed_ids(q) == per_field_ids(q), q
        assert listed_ids("lee alpha") == set()  # name "Ann Lee" + email "lee@alpha" do not join up
        assert listed_ids("lee lee") == {ids["Dan"]}  # ...but a company really containing it matches
        assert listed_ids("%") == {ids["Ben"]}
        assert listed_ids("le") == {ids["Ann"], ids["Dan"], ids["Eve"]}
        assert listed_ids("ANN LEE") == {ids["Ann"]}


def test_search_through_page_and_api_uses_the_same_rows(admin_client, crm_scope, tenant):
    with crm_scope(tenant) as session:
        ids = add_people(session)
    body = admin_client.get("/api/crm/contacts?q=lee").get_json()
    listed = {item["id"] for item in (body["items"] if isinstance(body, dict) else body)}
    assert listed == {ids["Ann"], ids["Dan"], ids["Eve"]}
    html = admin_client.get("/crm/?q=o%27hara").get_data(as_text=True)
    assert "Hara" in html and "Quinn" not in html


def captured_search_statements(q: str) -> list[tuple[str, object]]:
    """The SQL the contact list really sends for a search (page, total, chips)."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "LIKE" in statement:
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        service.list_contacts(service.ContactFilters(q=q), limit=50, offset=0)
        service.type_counts(service.ContactFilters(q=q))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert len(statements) == 3
    return statements


def seed_many(session, n: int) -> None:
    tenant_id = require_tenant_id()
    session.execute(sa.insert(Contact), [
        {"tenant_id": tenant_id, "first_name": f"First{i}", "last_name": f"Last{i:05d}",
         "email": f"p{i}@example{i % 50}.test", "company": f"Kwzq {i % 500}", "type": "customer",
         "status": "lead", "is_decision_maker": False} for i in range(n)])
    session.commit()


def test_search_statements_use_the_trigram_index_on_postgresql_and_scan_on_sqlite(crm_scope, tenant):
    """PostgreSQL: for a selective search the plan of every real search statement (page, total,
    chips) reads ix_crm_contacts_search_trgm (sequential scans priced out, so the test does not
    hinge on cost estimates of a small table). A common search may rightly page through the
    name index instead and stop after 50 matches. SQLite has no such index (see revision c0006): there the
    same statements scan this tenant's rows and still give the per-field answer."""
    with crm_scope(tenant) as session:
        # A word no other test uses: GIN costs a search by how common its trigrams are in the
        # whole table, and other tests' contacts share it.
        seed_many(session, 20_000)  # below a few thousand rows the tenant_id index is cheaper
        connection = session.connection()
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.exec_driver_sql("ANALYZE crm_contacts")
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        statements = captured_search_statements("KWZQ 421")  # 40 of 20,000: the page cannot stop early
        for statement, parameters in statements:
            if dialect == "postgresql":
                plan = "\n".join(connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
                assert "ix_crm_contacts_search_trgm" in plan, plan
            else:
                assert dialect == "sqlite"
                plan = " ".join(str(r[-1]) for r in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                                parameters))
                assert "trgm" not in plan and "crm_contacts" in plan, plan
        expected = per_field_ids("kwzq 42")
        assert len(expected) == 11 * 40  # Kwzq 42 and 420..429, 40 contacts each
        assert listed_ids_all("kwzq 42") == expected
        assert listed_ids_all("kwzq 421") == per_field_ids("kwzq 421") and len(per_field_ids("kwzq 421")) == 40


def listed_ids_all(q: str) -> set[int]:
    found, offset = set(), 0
    while True:
        rows, total = service.list_contacts(service.ContactFilters(q=q), limit=200, offset=offset)
        found |= {c.id for c in rows}
        offset += 200
        if offset >= total:
            return found


def migrate_fresh_database_and_search(url: str, tmp_path) -> tuple[str, set[str], list[str]]:
    """Run every migration on an empty database at ``url`` and search two contacts there:
    (CRM head revision, index names on crm_contacts, names found for "lee")."""
    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.models import Tenant
    from kw_crm.tenancy import tenant_scope

    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x",
                        "CRM_STORAGE_DIR": str(tmp_path)})
    with fresh.app_context():
        upgrade()
        tenant = Tenant(name="fallback")
        db.session.add(tenant)
        db.session.commit()
        with tenant_scope(tenant.id):
            db.session.add_all([Contact(first_name="Ann", last_name="Lee"),
                                Contact(first_name="Bob", last_name="Stone", company="Leeway Ltd"),
                                Contact(first_name="Cy", last_name="Park")])
            db.session.commit()
            rows, _ = service.list_contacts(service.ContactFilters(q="lee"), limit=50, offset=0)
            found = sorted(c.full_name for c in rows)
        head = db.session.execute(sa.text("SELECT version_num FROM alembic_version_kw_crm")).scalar()
        indexes = {ix["name"] for ix in sa.inspect(db.engine).get_indexes("crm_contacts")}
        db.session.remove()
        db.engine.dispose()
    return head, indexes, found


def test_migrations_succeed_without_the_trigram_index_and_search_still_answers(app, tmp_path):
    """PostgreSQL: a role that may not create the pg_trgm extension still gets every revision;
    c0006 then skips the index and the search scans, with the same answer. SQLite never gets
    the index (revision c0006 is PostgreSQL-only) and answers the same way."""
    with app.app_context():
        url = db.engine.url
    if url.get_backend_name() == "sqlite":
        head, indexes, found = migrate_fresh_database_and_search(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    else:
        assert url.get_backend_name() == "postgresql"
        name = f"kw_crm_norights_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE ROLE "{name}" LOGIN'))  # no CREATE on the database
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
            with sa.create_engine(url.set(database=name), isolation_level="AUTOCOMMIT").connect() as conn:
                conn.execute(sa.text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{name}"'))
                conn.engine.dispose()
            head, indexes, found = migrate_fresh_database_and_search(
                url.set(database=name, username=name, password=None).render_as_string(hide_password=False), tmp_path)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{name}"'))
            admin.dispose()
    with app.app_context():  # every revision applied, however long the chain has grown since c0006
        assert head == db.session.execute(sa.text("SELECT version_num FROM alembic_version_kw_crm")).scalar()
    assert "ix_crm_contacts_search_trgm" not in indexes and "uq_crm_contacts_tenant_email" in indexes
    assert found == ["Ann Lee", "Bob Stone"]
