"""Reads that stay flat as a tenant grows (issue 9): the contact list's first page is a walk of
the (tenant, last name, first name, id) index that stops after the page, the API's keyset
cursor continues a list by a seek, and the board's cards come from the (tenant, stage,
archived, id) index without sorting a column's deals. Plans are checked with EXPLAIN on both databases (PostgreSQL with sequential scans
priced out, so a small test table's cost estimates cannot decide the plan)."""
import pytest
import sqlalchemy as sa

from host_stub.models import db
from kw_crm.api import keyset
from kw_crm.models import Contact, Deal
from kw_crm.services import contacts as contact_service
from kw_crm.services import pipeline_view
from kw_crm.services import stages as stage_service
from kw_crm.tenancy import require_tenant_id


def captured(action) -> list[tuple[str, object]]:
    """The SELECTs ``action()`` sends, with their parameters."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return statements


def plan_of(connection, statement: str, parameters) -> str:
    if connection.dialect.name == "postgresql":
        return "\n".join(connection.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
    return " | ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                          parameters))


def price_out_scans(connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE crm_contacts")
        connection.exec_driver_sql("ANALYZE crm_deals")
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")


def seed_contacts(session, n: int) -> None:
    session.execute(sa.insert(Contact), [
        {"tenant_id": require_tenant_id(), "first_name": f"F{i % 7}", "last_name": f"Last{i % 40:02d}",
         "type": "customer", "status": "lead", "is_decision_maker": False} for i in range(n)])
    session.commit()


def test_the_first_page_walks_the_name_index_without_sorting(crm_scope, tenant):
    with crm_scope(tenant) as session:
        seed_contacts(session, 2000)
        connection = session.connection()
        price_out_scans(connection)
        pages = 0
        for after in (None, ("Last10", "F3", 1)):  # the first page, a keyset page
            for statement, parameters in captured(lambda after=after: contact_service.list_contacts(
                    contact_service.ContactFilters(), limit=50, offset=0, after=after)):
                if "LIMIT" not in statement:
                    continue  # the count
                plan = plan_of(connection, statement, parameters)
                assert "ix_crm_contacts_tenant_name" in plan, plan
                assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
                pages += 1
        assert pages == 2


def test_board_cards_come_from_the_open_deals_index(crm_scope, tenant):
    with crm_scope(tenant) as session:
        stage = stage_service.list_stages()[0]
        session.execute(sa.insert(Deal), [
            {"tenant_id": require_tenant_id(), "title": f"Deal {i}", "value_cents": 100, "currency": "USD",
             "stage_id": stage.id} for i in range(1500)])
        session.commit()
        connection = session.connection()
        price_out_scans(connection)
        # the cards statement (a UNION ALL of per-stage LIMITed selects; one select when one column has deals)
        cards = [s for s in captured(lambda: pipeline_view.board(pipeline_view.Filters())) if "LIMIT" in s[0]]
        assert len(cards) == 1
        plan = plan_of(connection, *cards[0])
        assert "ix_crm_deals_tenant_stage" in plan, plan
        # No column's deals are sorted: each is read newest first from the index and cut at the
        # limit (SQLite: inside each per-stage co-routine; the <=100 joined cards may be ordered after).
        assert "Sort Key: crm_deals.id DESC" not in plan, plan
        per_stage = [part.split("SCAN anon")[0] for part in plan.split("CO-ROUTINE")[1:]]
        assert all("TEMP B-TREE" not in part for part in per_stage), plan
        board = pipeline_view.board(pipeline_view.Filters())
        column = next(c for c in board["columns"] if c["stage"].id == stage.id)
        assert column["count"] == 1500
        assert [card["title"] for card in column["cards"][:2]] == ["Deal 1499", "Deal 1498"]


def test_keyset_paging_visits_every_contact_once_in_list_order(admin_client, crm_scope, tenant):
    with crm_scope(tenant) as session:
        seed_contacts(session, 23)  # names repeat: ties are broken by id
    by_offset = [c["id"] for c in admin_client.get("/api/crm/contacts?limit=200").get_json()]
    seen, cursor, pages = [], None, 0
    while True:
        response = admin_client.get("/api/crm/contacts?limit=5" + (f"&after={cursor}" if cursor else ""))
        assert response.status_code == 200 and response.headers["X-Total-Count"] == "23"
        seen += [c["id"] for c in response.get_json()]
        pages += 1
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert seen == by_offset and pages == 5
    filtered = admin_client.get("/api/crm/contacts?limit=2&q=f3")  # F3: rows 3, 10 and 17
    follow = admin_client.get(f"/api/crm/contacts?limit=50&q=f3&after={filtered.headers['X-Next-Cursor']}")
    assert [c["first_name"] for c in follow.get_json()] == ["F3"]  # the filter holds on the next page
    assert "X-Next-Cursor" not in follow.headers


@pytest.mark.parametrize("query", ["after=%21%21", "after=" + keyset.encode(("a", "b", 0)),
                                   "after=" + keyset.encode(("a", "b", 1)) + "&offset=5",
                                   "after=W10", "after=" + "A" * 2000])
def test_bad_cursors_are_422_naming_after(admin_client, query):
    response = admin_client.get(f"/api/crm/contacts?{query}")
    assert response.status_code == 422
    assert "after" in response.get_json()["error"]["fields"]


def test_a_cursor_never_reaches_another_tenants_contacts(admin_client, other_admin_client, crm_scope, other_tenant):
    with crm_scope(other_tenant) as session:
        seed_contacts(session, 5)
    cursor = keyset.encode(("", "", 1))
    assert admin_client.get(f"/api/crm/contacts?after={cursor}").get_json() == []
    assert len(other_admin_client.get(f"/api/crm/contacts?after={cursor}").get_json()) == 5
