"""Deals API: fields, defaults, validation, tenancy, filters, edit rules and concurrency."""
import pytest
from sqlalchemy import select

from kw_crm.models import AuditEvent, Deal
from tests.support.deals import new_contact, new_customer, new_deal


def deal_count(crm_scope, tenant) -> int:
    with crm_scope(tenant) as session:
        return len(session.scalars(select(Deal)).all())


def test_create_applies_the_defaults(admin_client, admin):
    deal = new_deal(admin_client)
    assert deal["stage"] == "LEAD"
    assert deal["currency"] == "USD"
    assert deal["owner_id"] == admin.id
    assert deal["value_cents"] == 500_000
    assert deal["version"] == 1
    fetched = admin_client.get(f"/api/crm/deals/{deal['id']}")
    assert fetched.get_json()["title"] == "Website relaunch"
    assert fetched.headers["ETag"] == '"1"'


def test_customer_defaults_to_the_contacts_customer(app, admin_client, tenant, crm_scope):
    customer_id = new_customer(app, tenant)
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id)
    deal = new_deal(admin_client, contact_id=contact_id)
    assert deal["customer_id"] == customer_id
    other = new_customer(app, tenant, name="Other Co")
    explicit = new_deal(admin_client, contact_id=contact_id, customer_id=other)
    assert explicit["customer_id"] == other


@pytest.mark.parametrize("field, value", [
    ("value_cents", -1),
    ("value_cents", 12.5),
    ("value_cents", 10.0),
    ("value_cents", "1000"),
    ("value_cents", True),
    ("value_cents", 10**15 + 1),
    ("currency", "ABC"),
    ("currency", "EURO"),
    ("currency", 978),
    ("stage", "NOPE"),
    ("expected_close_date", "2026-13-01"),
    ("expected_close_date", "next friday"),
    ("title", ""),
    ("title", "x" * 201),
    ("owner_id", "1"),
    ("owner_id", 2**40),
    ("owner_id", None),
    ("mystery", 1),
])
def test_bad_input_is_a_422_naming_the_field_and_creates_nothing(admin_client, tenant, crm_scope, field, value):
    response = admin_client.post("/api/crm/deals", json={"title": "Deal", "value_cents": 100, field: value})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert deal_count(crm_scope, tenant) == 0


def test_the_largest_value_and_lowercase_currency_are_accepted(admin_client):
    deal = new_deal(admin_client, value_cents=10**15, currency="eur")
    assert (deal["value_cents"], deal["currency"]) == (10**15, "EUR")


def test_malformed_json_is_a_400(admin_client):
    response = admin_client.post("/api/crm/deals", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_references_of_another_tenant_are_refused(app, admin_client, tenant, other_tenant, other_admin,
                                                  other_admin_client, crm_scope):
    foreign_contact = new_contact(crm_scope, other_tenant)
    foreign_customer = new_customer(app, other_tenant, name="Foreign")
    # a stage key that exists only for the other tenant
    stages = other_admin_client.get("/api/crm/stages").get_json()
    stages.insert(1, {"key": "DEMO", "label": "Demo", "probability": 40, "outcome": None})
    assert other_admin_client.put("/api/crm/stages", json=stages).status_code == 200
    for field, value in (("contact_id", foreign_contact), ("customer_id", foreign_customer),
                         ("owner_id", other_admin.id), ("stage", "DEMO")):
        response = admin_client.post("/api/crm/deals", json={"title": "x", field: value})
        assert response.status_code == 422, (field, response.get_json())
        assert field in response.get_json()["error"]["fields"]
    assert deal_count(crm_scope, tenant) == 0


def test_inactive_owner_is_refused(admin_client, make_user, tenant):
    gone = make_user(tenant, "ADMIN", active=False)
    response = admin_client.post("/api/crm/deals", json={"title": "x", "owner_id": gone.id})
    assert response.status_code == 422
    assert "owner_id" in response.get_json()["error"]["fields"]


def test_deals_of_another_tenant_are_404(admin_client, other_admin_client):
    deal = new_deal(admin_client)
    for method, path, body in (("GET", f"/api/crm/deals/{deal['id']}", None),
                               ("PATCH", f"/api/crm/deals/{deal['id']}", {"title": "x", "version": 1}),
                               ("DELETE", f"/api/crm/deals/{deal['id']}", None),
                               ("POST", f"/api/crm/deals/{deal['id']}/stage", {"stage": "WON"}),
                               ("POST", f"/api/crm/deals/{deal['id']}/close", {"outcome": "won"}),
                               ("POST", f"/api/crm/deals/{deal['id']}/archive", {"reason": "x"})):
        assert other_admin_client.open(path, method=method, json=body).status_code == 404, (method, path)
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] == "LEAD"
    assert other_admin_client.get("/api/crm/deals").get_json() == []


def test_list_filters(app, admin_client, tenant, crm_scope, make_user):
    colleague = make_user(tenant, "ADMIN")
    customer_id = new_customer(app, tenant)
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id)
    a = new_deal(admin_client, title="Alpha roof repair", contact_id=contact_id)
    b = new_deal(admin_client, title="Beta 100% rollout", stage="PROPOSAL", owner_id=colleague.id)
    c = new_deal(admin_client, title="Gamma", currency="EUR")

    def ids(query):
        response = admin_client.get(f"/api/crm/deals?{query}")
        assert response.status_code == 200, response.get_json()
        return {d["id"] for d in response.get_json()}

    assert ids("") == {a["id"], b["id"], c["id"]}
    assert ids("stage=proposal") == {b["id"]}
    assert ids(f"owner_id={colleague.id}") == {b["id"]}
    assert ids(f"contact_id={contact_id}") == {a["id"]}
    assert ids(f"customer_id={customer_id}") == {a["id"]}
    assert ids("q=ROOF") == {a["id"]}
    assert ids("q=100%25") == {b["id"]}  # % is matched literally
    response = admin_client.get("/api/crm/deals?limit=1")
    assert len(response.get_json()) == 1 and response.headers["X-Total-Count"] == "3"
    for bad in ("stage=NOPE", "owner_id=abc", "customer_id=99999999999", "limit=500"):
        assert admin_client.get(f"/api/crm/deals?{bad}").status_code == 422, bad


def test_patch_needs_the_version_read_and_a_stale_one_is_a_409(app, admin_client, tenant, make_user):
    second_admin = app.test_client().login(make_user(tenant, "ADMIN"))
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    # both admins read version 1; the first saves, the second must not overwrite silently
    first = admin_client.patch(path, json={"title": "First edit", "version": 1})
    assert first.status_code == 200 and first.get_json()["version"] == 2
    second = second_admin.patch(path, json={"title": "Second edit", "version": 1})
    assert second.status_code == 409
    assert "changed by someone else" in second.get_json()["error"]["message"]
    assert admin_client.get(path).get_json()["title"] == "First edit"
    # If-Match carries the version too
    assert second_admin.patch(path, json={"value_cents": 1}, headers={"If-Match": '"1"'}).status_code == 409
    ok = second_admin.patch(path, json={"value_cents": 1}, headers={"If-Match": '"2"'})
    assert ok.status_code == 200 and ok.get_json()["value_cents"] == 1
    missing = admin_client.patch(path, json={"title": "No version"})
    assert missing.status_code == 422 and "version" in missing.get_json()["error"]["fields"]


def test_patch_validates_like_create(admin_client):
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    for body in ({"value_cents": -5}, {"currency": "XYZ"}, {"expected_close_date": "31/12/2026"},
                 {"stage": "UNKNOWN"}):
        response = admin_client.patch(path, json={**body, "version": 1})
        assert response.status_code == 422, body
    assert admin_client.get(path).get_json()["version"] == 1


def test_closed_deals_accept_only_notes_and_closed_reason(admin_client):
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    closed = admin_client.post(f"{path}/close", json={"outcome": "lost", "reason": "Budget cut"}).get_json()
    assert (closed["stage"], closed["closed_reason"]) == ("LOST", "Budget cut")
    for body in ({"title": "New"}, {"value_cents": 1}, {"stage": "LEAD"}):
        response = admin_client.patch(path, json={**body, "version": closed["version"]})
        assert response.status_code == 409
        assert "Closed deals accept only notes and closed_reason" in response.get_json()["error"]["message"]
    assert admin_client.post(f"{path}/stage", json={"stage": "LEAD"}).status_code == 409
    assert admin_client.post(f"{path}/close", json={"outcome": "won"}).status_code == 409
    ok = admin_client.patch(path, json={"notes": "Try again next year", "closed_reason": "Budget frozen",
                                        "version": closed["version"]})
    assert ok.status_code == 200
    assert (ok.get_json()["notes"], ok.get_json()["closed_reason"]) == ("Try again next year", "Budget frozen")
    assert ok.get_json()["stage"] == "LOST"


def test_archive_rules(app, admin_client, make_user, tenant):
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    no_delete = app.test_client().login(make_user(tenant, "ADMIN"))
    assert no_delete.post(f"{path}/archive", json={"reason": "dup"}).status_code == 403
    assert no_delete.delete(path).status_code == 403
    missing_reason = admin_client.post(f"{path}/archive", json={"reason": "  "})
    assert missing_reason.status_code == 422 and "reason" in missing_reason.get_json()["error"]["fields"]
    not_archived = admin_client.delete(path)
    assert not_archived.status_code == 409 and "archive it first" in not_archived.get_json()["error"]["message"]
    archived = admin_client.post(f"{path}/archive", json={"reason": "Duplicate"})
    assert archived.status_code == 200 and archived.get_json()["archived_at"]
    refused = admin_client.patch(path, json={"notes": "x", "version": archived.get_json()["version"]})
    assert refused.status_code == 409 and "Archived deals cannot be edited" in refused.get_json()["error"]["message"]
    assert admin_client.post(f"{path}/stage", json={"stage": "QUALIFIED"}).status_code == 409
    assert admin_client.get("/api/crm/deals").get_json() == []
    assert len(admin_client.get("/api/crm/deals?include_archived=1").get_json()) == 1
    assert admin_client.delete(path).status_code == 204
    assert admin_client.get(path).status_code == 404


def test_won_deals_cannot_be_archived_or_deleted(admin_client):
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    assert admin_client.post(f"{path}/close", json={"outcome": "won"}).status_code == 200
    archive = admin_client.post(f"{path}/archive", json={"reason": "cleanup"})
    assert archive.status_code == 409 and "Won deals cannot be archived" in archive.get_json()["error"]["message"]
    delete = admin_client.delete(path)
    assert delete.status_code == 409 and "Won deals cannot be deleted" in delete.get_json()["error"]["message"]
    assert admin_client.get(path).status_code == 200


def test_stage_changes_closes_and_archives_are_audited(admin_client, tenant, crm_scope):
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    admin_client.post(f"{path}/stage", json={"stage": "PROPOSAL"})
    admin_client.post(f"{path}/close", json={"outcome": "lost", "reason": "Went elsewhere"})
    admin_client.post(f"{path}/archive", json={"reason": "Old"})
    with crm_scope(tenant) as session:
        events = [(e.action, e.changes.get("stage"), e.reason) for e in session.query(AuditEvent).filter_by(
            entity_type="deal", entity_id=deal["id"]).order_by(AuditEvent.id)
            if not e.action.startswith("automation_")]  # the runs' own entries: tests/test_automation.py
    assert events == [("created", None, None), ("stage_changed", ["LEAD", "PROPOSAL"], None),
                      ("closed_lost", ["PROPOSAL", "LOST"], "Went elsewhere"), ("archived", None, "Old")]


def test_bulk_stage_moves_all_or_nothing(admin_client, other_admin_client):
    a, b = new_deal(admin_client), new_deal(admin_client)
    foreign = new_deal(other_admin_client)
    refused = admin_client.post("/api/crm/deals/bulk-stage", json={"ids": [a["id"], foreign["id"]], "stage": "PROPOSAL"})
    assert refused.status_code == 422
    assert str(foreign["id"]) in refused.get_json()["error"]["fields"]["ids"][0]
    assert admin_client.get(f"/api/crm/deals/{a['id']}").get_json()["stage"] == "LEAD"
    assert other_admin_client.get(f"/api/crm/deals/{foreign['id']}").get_json()["stage"] == "LEAD"

    lost = new_deal(admin_client)
    admin_client.post(f"/api/crm/deals/{lost['id']}/close", json={"outcome": "lost"})
    blocked = admin_client.post("/api/crm/deals/bulk-stage", json={"ids": [a["id"], lost["id"]], "stage": "PROPOSAL"})
    assert blocked.status_code == 409 and "Nothing was moved" in blocked.get_json()["error"]["message"]
    assert admin_client.get(f"/api/crm/deals/{a['id']}").get_json()["stage"] == "LEAD"

    moved = admin_client.post("/api/crm/deals/bulk-stage", json={"ids": [a["id"], b["id"]], "stage": "proposal"})
    assert moved.status_code == 200
    assert sorted(moved.get_json()["moved"]) == sorted([a["id"], b["id"]])
    assert {admin_client.get(f"/api/crm/deals/{i}").get_json()["stage"] for i in (a["id"], b["id"])} == {"PROPOSAL"}
    for body in ({"ids": [], "stage": "LEAD"}, {"ids": ["1"], "stage": "LEAD"}, {"ids": [a["id"]], "stage": "NOPE"},
                 {"ids": [a["id"]]}):
        assert admin_client.post("/api/crm/deals/bulk-stage", json=body).status_code == 422, body


def test_pipeline_totals_per_stage_and_currency(admin_client):
    new_deal(admin_client, value_cents=100_00, stage="PROPOSAL")
    new_deal(admin_client, value_cents=50_00, stage="PROPOSAL")
    new_deal(admin_client, value_cents=999_99, stage="PROPOSAL", currency="EUR")
    new_deal(admin_client, value_cents=10_00, stage="NEGOTIATION")
    archived = new_deal(admin_client, value_cents=7_00, stage="NEGOTIATION")
    admin_client.post(f"/api/crm/deals/{archived['id']}/archive", json={"reason": "dup"})
    rows = admin_client.get("/api/crm/pipeline").get_json()
    by_key = {(r["stage"], r["currency"]): r for r in rows}
    assert by_key[("PROPOSAL", "USD")] == {"stage": "PROPOSAL", "label": "Proposal", "probability": 60,
                                          "outcome": None, "currency": "USD", "count": 2, "value_cents": 150_00,
                                          "weighted_value_cents": 90_00}
    assert by_key[("PROPOSAL", "EUR")]["value_cents"] == 999_99
    assert by_key[("PROPOSAL", "EUR")]["weighted_value_cents"] == 599_99
    assert by_key[("NEGOTIATION", "USD")]["count"] == 1  # archived deals are out of the pipeline
    assert by_key[("LEAD", "USD")]["count"] == 0
    assert [r["stage"] for r in rows][:2] == ["LEAD", "QUALIFIED"]


def test_text_is_stored_verbatim_and_escaped_on_pages(admin_client):
    deal = new_deal(admin_client, title="<script>alert(1)</script>", notes="=HYPERLINK(\"http://x\")")
    assert deal["title"] == "<script>alert(1)</script>"
    page = admin_client.get(f"/crm/deals/{deal['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
