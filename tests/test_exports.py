"""Contacts and deals CSV exports: the list filters, formula-safe cells, streamed in batches,
422 for bad filters, tenant-scoped, a constant number of queries."""
import csv
import io

import pytest

from kw_crm.services import exports


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture
def book(admin_client, admin):
    def contact(first, last, **extra):
        response = admin_client.post("/api/crm/contacts", json={"first_name": first, "last_name": last, **extra})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    ada = contact("Ada", "Lovelace", email="ada@example.test", company="Engines Ltd", type="partner")
    evil = contact("=HYPERLINK(\"http://x\")", "+Evil", company="@Corp", status="active", notes="-1+1")
    bob = contact("Bob", "Builder", type="vendor", owner_id=admin.id)
    big = admin_client.post("/api/crm/deals", json={"title": "Big engine", "value_cents": 123456, "currency": "EUR",
                                                    "contact_id": ada["id"], "owner_id": admin.id}).get_json()
    small = admin_client.post("/api/crm/deals", json={"title": "=cmd|' /C calc'!A0", "value_cents": 5,
                                                      "owner_id": admin.id}).get_json()
    return {"ada": ada, "evil": evil, "bob": bob, "big": big, "small": small}


def test_contacts_export_has_every_matching_contact_with_names_and_counts(admin_client, book, admin):
    rows = rows_of(admin_client.get("/api/crm/contacts/export.csv"))
    assert list(rows[0]) == list(exports.CONTACT_COLUMNS)
    by_id = {int(r["id"]): r for r in rows}
    assert set(by_id) == {book["ada"]["id"], book["evil"]["id"], book["bob"]["id"]}
    ada = by_id[book["ada"]["id"]]
    assert (ada["email"], ada["company"], ada["type"], ada["deal_count"]) == (
        "ada@example.test", "Engines Ltd", "partner", "1")
    assert by_id[book["bob"]["id"]]["owner_name"] == admin.name
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), key=int)
    # the same moment, written as the JSON API writes it (UTC with Z)
    assert ada["created_at"] == book["ada"]["created_at"] and ada["created_at"].endswith("Z")


def test_exports_are_formula_safe(admin_client, book):
    evil = {int(r["id"]): r for r in rows_of(admin_client.get("/api/crm/contacts/export.csv"))}[book["evil"]["id"]]
    assert evil["first_name"] == "'=HYPERLINK(\"http://x\")"
    assert evil["last_name"] == "'+Evil" and evil["company"] == "'@Corp" and evil["notes"] == "'-1+1"
    deal = {int(r["id"]): r for r in rows_of(admin_client.get("/api/crm/deals/export.csv"))}[book["small"]["id"]]
    assert deal["title"] == "''=cmd|' /C calc'!A0".replace("''", "'", 1)


def test_contacts_export_takes_the_list_filters(admin_client, book):
    def ids(query):
        return {int(r["id"]) for r in rows_of(admin_client.get(f"/api/crm/contacts/export.csv?{query}"))}

    assert ids("type=vendor") == {book["bob"]["id"]}
    assert ids("q=engines") == {book["ada"]["id"]}
    assert ids("status=active") == {book["evil"]["id"]}
    assert ids(f"customer_id={book['ada']['customer_id']}") == {book["ada"]["id"]}
    assert ids("q=nobody-has-this") == set()


def test_deals_export_takes_the_list_filters_and_keeps_currency(admin_client, book):
    rows = rows_of(admin_client.get("/api/crm/deals/export.csv"))
    assert list(rows[0]) == list(exports.DEAL_COLUMNS)
    big = {int(r["id"]): r for r in rows}[book["big"]["id"]]
    assert (big["value_cents"], big["currency"], big["stage"], big["contact_name"]) == (
        "123456", "EUR", "LEAD", "Ada Lovelace")
    assert big["customer_name"] == "Engines Ltd"
    only = rows_of(admin_client.get(f"/api/crm/deals/export.csv?contact_id={book['ada']['id']}"))
    assert [int(r["id"]) for r in only] == [book["big"]["id"]]
    assert rows_of(admin_client.get("/api/crm/deals/export.csv?q=engine"))[0]["title"] == "Big engine"
    admin_client.post(f"/api/crm/deals/{book['small']['id']}/archive", json={"reason": "dup"})
    assert book["small"]["id"] not in {int(r["id"]) for r in rows_of(admin_client.get("/api/crm/deals/export.csv"))}
    archived = rows_of(admin_client.get("/api/crm/deals/export.csv?include_archived=true"))
    assert book["small"]["id"] in {int(r["id"]) for r in archived}


@pytest.mark.parametrize("url", [
    "/api/crm/contacts/export.csv?type=alien", "/api/crm/contacts/export.csv?owner_id=abc",
    "/api/crm/contacts/export.csv?q=" + "x" * 201, "/api/crm/deals/export.csv?stage=NOPE",
    "/api/crm/deals/export.csv?customer_id=99999999999", "/api/crm/deals/export.csv?include_archived=maybe"])
def test_bad_filters_are_422_before_any_csv(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]


def test_exports_are_tenant_scoped(admin_client, other_admin_client, book):
    assert rows_of(other_admin_client.get("/api/crm/contacts/export.csv")) == []
    assert rows_of(other_admin_client.get("/api/crm/deals/export.csv")) == []


def test_exports_stream_in_batches_with_a_constant_number_of_queries(admin_client, monkeypatch, count_queries):
    monkeypatch.setattr(exports, "EXPORT_BATCH", 7)
    with count_queries() as few:
        assert rows_of(admin_client.get("/api/crm/contacts/export.csv")) == []
    for i in range(30):
        admin_client.post("/api/crm/contacts", json={"first_name": f"N{i}", "last_name": "Many"})
    response = admin_client.get("/api/crm/contacts/export.csv", buffered=False)
    assert response.is_streamed
    assert b"".join(response.response).count(b"\n") == 31
    response.close()
    with count_queries() as many:
        assert len(rows_of(admin_client.get("/api/crm/contacts/export.csv"))) == 30
    assert len(many) == len(few)
