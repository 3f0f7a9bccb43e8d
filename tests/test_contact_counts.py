"""The contact list's total and type chips come from per-tenant counts the database keeps
(``crm_contact_counts``, revision c0017), not from counting the tenant's rows per request
(issue 9). They must stay exact through every write path: the API, the CSV import, type
changes, deletes, bulk deletes, raw SQL and rolled-back transactions; and on PostgreSQL a
long open write (an import) must never make another writer of the tenant wait."""
import re

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from host_stub.models import db
from kw_crm.models import CONTACT_TYPES, Contact, ContactCount
from kw_crm.tenancy import ALL_TENANTS
from tests.support.importing import api_import, csv_bytes


def real_counts(app, tenant) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(select(Contact.type, func.count()).where(Contact.tenant_id == tenant.id)
                                  .group_by(Contact.type), execution_options=ALL_TENANTS)
        return {kind: n for kind, n in rows}


def page_counts(client) -> tuple[dict[str, int], int]:
    """What the unfiltered list shows: each chip's count ("All" included) and the pager's total."""
    html = BeautifulSoup(client.get("/crm/").get_data(as_text=True), "html.parser")
    chips = {}
    for chip in html.select(".crm-chips .chip"):
        chips[chip.get("data-type", "all")] = int(chip.select_one(".chip-count").get_text())
    total = int(re.search(r"(\d+) contacts? ·", html.get_text()).group(1))
    return chips, total


def assert_page_is_exact(app, client, tenant) -> None:
    real = real_counts(app, tenant)
    chips, total = page_counts(client)
    assert chips == {"all": sum(real.values()), **{t: real.get(t, 0) for t in CONTACT_TYPES}}
    assert total == sum(real.values())
    api = client.get("/api/crm/contacts?type=vendor&limit=1")
    assert api.headers["X-Total-Count"] == str(real.get("vendor", 0))


def test_every_write_path_keeps_the_shown_counts_exact(app, admin_client, crm_scope, tenant, other_tenant):
    with crm_scope(other_tenant) as session:  # another tenant's contacts never show up in these counts
        session.add_all([Contact(first_name="O", last_name=str(i), type="vendor") for i in range(4)])
        session.commit()
    assert_page_is_exact(app, admin_client, tenant)
    ids = [admin_client.post("/api/crm/contacts", json={"first_name": f"A{i}", "last_name": "X",
                                                        "type": kind}).get_json()["id"]
           for i, kind in enumerate(["customer", "vendor", "vendor", "partner", "other"])]
    assert_page_is_exact(app, admin_client, tenant)
    assert admin_client.patch(f"/api/crm/contacts/{ids[0]}", json={"type": "contractor"}).status_code == 200
    assert admin_client.patch(f"/api/crm/contacts/{ids[1]}", json={"first_name": "Renamed"}).status_code == 200
    assert_page_is_exact(app, admin_client, tenant)
    rows = [[f"I{i}", "Imported", f"imp{i}@example.test", "", "Co", "", ""] for i in range(30)]
    assert api_import(admin_client, csv_bytes(rows)).get_json()["created"] == 30
    assert api_import(admin_client, csv_bytes(rows[:10] + [["N", "New", "new@example.test", "", "", "", ""]])
                      ).get_json()["created"] == 1  # updates change no count
    assert_page_is_exact(app, admin_client, tenant)
    assert admin_client.delete(f"/api/crm/contacts/{ids[2]}").status_code == 204
    assert admin_client.post("/api/crm/contacts/bulk", json={"action": "delete", "ids": ids[3:]}).status_code == 200
    assert_page_is_exact(app, admin_client, tenant)
    with crm_scope(tenant) as session:  # raw SQL, and a transaction that rolls back
        session.execute(sa.insert(Contact), [{"tenant_id": tenant.id, "first_name": "R", "last_name": str(i),
                                              "type": "partner", "status": "lead", "is_decision_maker": False}
                                             for i in range(7)])
        session.execute(sa.update(Contact).where(Contact.last_name == "0").values(type="vendor"))
        session.commit()
        session.execute(sa.delete(Contact).where(Contact.type == "partner"))
        session.rollback()
    assert_page_is_exact(app, admin_client, tenant)
    assert page_counts(admin_client)[0]["partner"] == 6


def test_the_unfiltered_list_counts_no_contact_rows(admin_client, crm_scope, tenant, count_queries):
    with crm_scope(tenant) as session:
        session.add_all([Contact(first_name="C", last_name=str(i), type="vendor") for i in range(3)])
        session.commit()
    for url in ("/crm/", "/crm/?type=vendor", "/api/crm/contacts", "/api/crm/contacts?type=vendor"):
        with count_queries() as statements:
            assert admin_client.get(url).status_code == 200
        counting = [s for s in statements if "count(" in s.lower() and "crm_contacts " in s + " "]
        assert counting == [], url
        assert any("crm_contact_counts" in s for s in statements), url
    with count_queries() as statements:  # a filter the counts do not keep: counted from the rows
        admin_client.get("/crm/?status=lead")
    assert any("count(" in s.lower() and "FROM crm_contacts" in s for s in statements)


@pytest.fixture
def second_connection(app):
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        yield None
        return
    connection = engine.connect()
    yield connection
    connection.rollback()
    connection.close()


def test_an_open_import_never_blocks_another_writer_and_both_are_counted(app, admin_client, tenant,
                                                                         second_connection):
    """PostgreSQL: transaction A adds contacts and stays open (an import in progress); B adds and
    deletes contacts of the same tenant meanwhile with a 2 s lock timeout, and must not wait.
    SQLite has one writer at a time by design: there the same writes simply run in turn."""
    insert = sa.insert(Contact)
    row = {"tenant_id": tenant.id, "status": "lead", "is_decision_maker": False, "last_name": "W"}
    if second_connection is None:
        with app.app_context():
            db.session.execute(insert, [{**row, "first_name": f"A{i}", "type": "vendor"} for i in range(5)])
            db.session.commit()
    else:
        second_connection.execute(insert, [{**row, "first_name": f"A{i}", "type": "vendor"} for i in range(5)])
    with app.app_context():  # B, while A is open
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
        db.session.execute(insert, [{**row, "first_name": f"B{i}", "type": "vendor"} for i in range(3)])
        db.session.commit()
        db.session.execute(sa.delete(Contact).where(Contact.tenant_id == tenant.id, Contact.first_name == "B0"),
                           execution_options=ALL_TENANTS)
        db.session.commit()
    if second_connection is not None:
        assert page_counts(admin_client)[0]["vendor"] == 2  # A is not committed yet: not counted
        second_connection.commit()
    assert page_counts(admin_client)[0]["vendor"] == 7
    with app.app_context():
        parts = db.session.scalar(select(func.count()).select_from(ContactCount)
                                  .where(ContactCount.tenant_id == tenant.id), execution_options=ALL_TENANTS)
    assert parts <= 2  # the writers fold each other's committed parts: a tenant keeps a handful of rows
