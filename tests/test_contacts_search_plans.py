"""Search is tenant-aware and index-driven on both databases (issue 9, revision c0017).

PostgreSQL: every search statement of the list (page, total, chips) reads the GIN index
``(tenant_id, search text gin_trgm_ops)`` with both the tenant and the LIKE as its index
condition, so other tenants' hits are never collected. SQLite: a search of 3+ characters reads
its candidates from the FTS5 trigram table and the contacts by primary key, never scanning the
contacts table. On both the answers are those of the per-field LIKEs, in this tenant only, and
stay right as contacts are renamed and deleted (the triggers keep the FTS table in step)."""
import json

import sqlalchemy as sa
from sqlalchemy import delete

from kw_crm.models import Contact
from kw_crm.services import contacts as service
from kw_crm.tenancy import require_tenant_id
from tests.test_contacts_search_index import captured_search_statements, per_field_ids

WORD = "Xqvw"  # a word no other test uses: GIN costs a search by its trigrams' frequency


def name(i: int) -> str:
    """A distinct made-up surname per number, with letter trigrams spread as in real names (a
    test table where every row shares its trigrams would make any trigram index look costly)."""
    number = i * 2654435761 % 26 ** 6
    return "".join(chr(97 + number // 26 ** k % 26) for k in range(6)).capitalize()


def seed(session, n: int) -> None:
    session.execute(sa.insert(Contact), [
        {"tenant_id": require_tenant_id(), "first_name": f"First{i}", "last_name": name(i),
         "email": f"p{i}@mail{i % 50}.test", "company": f"{WORD}{i % 300:03d}" if i % 10 == 0 else "Firm", "type": "customer",
         "status": "lead", "is_decision_maker": False} for i in range(n)])
    session.commit()


def listed(q: str) -> set[int]:
    """Every contact the list shows for ``q``, page by page (in list order, no repeats)."""
    found, after = [], None
    while True:
        rows, total = service.list_contacts(service.ContactFilters(q=q), limit=200, offset=0, after=after)
        found += [c.id for c in rows]
        if len(rows) < 200:
            assert total == len(found) == len(set(found))
            return set(found)
        after = service.sort_key(rows[-1])


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def assert_index_driven(connection, statement: str, parameters) -> None:
    if connection.dialect.name == "postgresql":
        plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()[0]["Plan"]
        scans = [node for node in nodes(plan) if node.get("Index Name") == "ix_crm_contacts_search_trgm"]
        # the tenant is part of the index scan's condition, not a filter applied after it
        assert any("tenant_id =" in node["Index Cond"] and "~~" in node["Index Cond"] for node in scans), \
            json.dumps(plan, indent=1)
    else:
        plan = " | ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                               parameters))
        assert "VIRTUAL TABLE INDEX" in plan and "SCAN crm_contacts " not in plan + " ", plan
        # each candidate fetched by its id (through the primary key or the tenant index's rowid)
        assert "INTEGER PRIMARY KEY (rowid=?)" in plan or "(tenant_id=? AND rowid=?)" in plan, plan


def test_search_reads_this_tenants_index_entries_and_answers_as_the_per_field_likes(crm_scope, tenant, other_tenant):
    with crm_scope(other_tenant) as session:
        seed(session, 20_000)  # the same texts in another tenant: never read, never listed
    try:
        with crm_scope(tenant) as session:
            seed(session, 20_000)  # below a few thousand rows a scan of the tenant_id index is cheaper
            connection = session.connection()
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("ANALYZE crm_contacts")
                connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            for q in (name(1234), "xqvw01", "p77@mail27"):  # one row, 67 rows (010-019), one row by email
                for statement, parameters in captured_search_statements(q):  # page, total, chips
                    assert_index_driven(connection, statement, parameters)
            session.rollback()
            for q in (name(1234), name(77).upper()[1:], "xqvw01", "XQVW017", "p77@", "@mail2", "st0", "first12 last", "zz", "x"):
                assert listed(q) == per_field_ids(q), q
            assert len(listed("xqvw01")) == 67
    finally:
        for scope in (tenant, other_tenant):
            with crm_scope(scope) as session:
                session.execute(delete(Contact))
                session.commit()


def test_renamed_and_deleted_contacts_are_found_by_their_new_text_only(crm_scope, tenant):
    with crm_scope(tenant) as session:
        ann = Contact(first_name="Ann", last_name="Zyxwab", email="ann@old-mail.test", company="Oldco")
        bob = Contact(first_name="Bob", last_name="Zyxwcd", company="Oldco")
        session.add_all([ann, bob])
        session.commit()
        assert listed("zyxw") == {ann.id, bob.id} and listed("oldco") == {ann.id, bob.id}
        ann.last_name, ann.email, ann.company = "Qpmlkj", "ann@new-mail.test", None
        session.commit()
        assert listed("zyxw") == {bob.id} and listed("qpmlkj") == {ann.id}
        assert listed("old-mail") == set() and listed("new-mail") == {ann.id} and listed("oldco") == {bob.id}
        ann.type = "vendor"  # a change outside the search text keeps it findable
        session.commit()
        assert listed("qpmlkj") == {ann.id}
        session.delete(bob)
        session.commit()
        assert listed("zyxw") == set() and listed("oldco") == set()
        again = Contact(first_name="Cy", last_name="Zyxwef")  # SQLite may hand out bob's id again
        session.add(again)
        session.commit()
        assert listed("zyxw") == {again.id} and listed("zyxwcd") == set()
