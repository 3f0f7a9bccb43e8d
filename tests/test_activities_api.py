"""Activities API (contract 8.1): create with the owner default chain, links and their rules,
the filtered table, edit/delete/complete/reopen with audit, tenancy and bad input."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kw_crm.models import AuditEvent

TODAY = date.today()


def customer(client, name, **fields) -> int:
    response = client.post("/api/crm/customers", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def deal(client, title, **fields) -> dict:
    response = client.post("/api/crm/deals", json={"title": title, "value_cents": 100_000, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def activity(client, **fields) -> dict:
    body = {"title": "Call back", "due_date": TODAY.isoformat(), **fields}
    response = client.post("/api/crm/activities", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_returns_the_contract_fields_with_subject_as_a_copy_of_title(admin_client, admin):
    cid = customer(admin_client, "Copy Co")
    created = activity(admin_client, customer_id=cid, type="meeting", description="Agenda: pricing")
    assert {k: created[k] for k in ("title", "subject", "type", "description", "customer_id", "owner_id")} == {
        "title": "Call back", "subject": "Call back", "type": "meeting", "description": "Agenda: pricing",
        "customer_id": cid, "owner_id": admin.id}
    assert created["due_date"] == TODAY.isoformat() and created["completed_at"] is None
    response = admin_client.post("/api/crm/activities", json={"subject": "Send quote", "customer_id": cid,
                                                              "due_date": TODAY.isoformat()})
    assert response.status_code == 201 and response.get_json()["title"] == "Send quote"
    assert response.get_json()["type"] == "task"  # the default type of queue work


def test_owner_default_chain_deal_owner_then_customer_owner_then_me(app, admin_client, admin, make_user, tenant):
    deal_owner, account_owner = make_user(tenant, "ADMIN", name="Dee Dealowner"), make_user(tenant, "ADMIN")
    cid = customer(admin_client, "Chain Co", owner_id=account_owner.id)
    d = deal(admin_client, "Chain deal", customer_id=cid, owner_id=deal_owner.id)
    assert activity(admin_client, deal_id=d["id"])["owner_id"] == deal_owner.id
    on_deal = activity(admin_client, deal_id=d["id"])
    assert on_deal["customer_id"] == cid  # a deal implies its customer
    assert activity(admin_client, customer_id=cid)["owner_id"] == account_owner.id
    unowned = customer(admin_client, "Nobody's Co")
    with app.app_context():
        from kw_crm.models import CustomerProfile
        from kw_crm.tenancy import tenant_scope
        with tenant_scope(tenant.id):
            from host_stub.models import db
            profile = db.session.scalar(select(CustomerProfile).where(CustomerProfile.customer_id == unowned))
            profile.owner_id = None
            db.session.commit()
    assert activity(admin_client, customer_id=unowned)["owner_id"] == admin.id
    explicit = make_user(tenant, "ADMIN")
    assert activity(admin_client, deal_id=d["id"], owner_id=explicit.id)["owner_id"] == explicit.id


def test_a_deactivated_deal_owner_is_skipped_in_the_chain(app, admin_client, admin, make_user, tenant):
    gone = make_user(tenant, "ADMIN")
    d = deal(admin_client, "Orphan deal", owner_id=gone.id)
    with app.app_context():
        from host_stub.models import User, db
        db.session.get(User, gone.id).active = False
        db.session.commit()
    assert activity(admin_client, deal_id=d["id"])["owner_id"] == admin.id


def test_a_contact_implies_its_customer(admin_client):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "Ann", "last_name": "Link",
                                                           "company": "Contact Implied Co"}).get_json()
    created = activity(admin_client, contact_id=contact["id"])
    assert created["customer_id"] == contact["customer_id"] is not None


@pytest.mark.parametrize("body, field", [
    ({"due_date": TODAY.isoformat()}, "title"),
    ({"title": "  ", "due_date": TODAY.isoformat()}, "title"),
    ({"title": "x" * 256, "due_date": TODAY.isoformat()}, "title"),
    ({"title": "No due"}, "due_date"),
    ({"title": "Bad due", "due_date": "next tuesday"}, "due_date"),
    ({"title": "Bad due", "due_date": "2026-02-30"}, "due_date"),
    ({"title": "Bad type", "due_date": TODAY.isoformat(), "type": "fax"}, "type"),
    ({"title": "Unlinked", "due_date": TODAY.isoformat(), "link": "LINK"}, "customer_id"),
    ({"title": "Ghost owner", "due_date": TODAY.isoformat(), "owner_id": 2_000_000_000}, "owner_id"),
    ({"title": "Ghost deal", "due_date": TODAY.isoformat(), "deal_id": 2_000_000_000}, "deal_id"),
    ({"title": "Ghost customer", "due_date": TODAY.isoformat(), "customer_id": 2_000_000_000}, "customer_id"),
    ({"title": "Extra", "due_date": TODAY.isoformat(), "colour": "red"}, "colour"),
    ({"title": "Both", "subject": "Other", "due_date": TODAY.isoformat()}, "subject"),
    ({"title": "Bool id", "due_date": TODAY.isoformat(), "customer_id": True}, "customer_id"),
])
def test_bad_input_is_a_422_on_the_field_and_writes_nothing(admin_client, body, field):
    cid = customer(admin_client, "Bad Input Co")
    if "link" in body:
        body = {k: v for k, v in body.items() if k != "link"}
    elif field != "customer_id":
        body = {"customer_id": cid, **body}
    response = admin_client.post("/api/crm/activities", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert admin_client.get("/api/crm/activities?status=all").headers["X-Total-Count"] == "0"


def test_links_of_another_tenant_an_inactive_owner_and_mismatched_links(app, admin_client, other_admin_client,
                                                                          make_user, tenant):
    foreign_customer = customer(other_admin_client, "Theirs Co")
    foreign_deal = deal(other_admin_client, "Their deal")
    mine = customer(admin_client, "Mine Co")
    for body, field in (({"customer_id": foreign_customer}, "customer_id"), ({"deal_id": foreign_deal["id"]}, "deal_id")):
        response = admin_client.post("/api/crm/activities", json={"title": "t", "due_date": TODAY.isoformat(), **body})
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
    inactive = make_user(tenant, "ADMIN", active=False)
    response = admin_client.post("/api/crm/activities", json={"title": "t", "due_date": TODAY.isoformat(),
                                                               "customer_id": mine, "owner_id": inactive.id})
    assert response.status_code == 422 and "owner_id" in response.get_json()["error"]["fields"]
    other = customer(admin_client, "Other Mine Co")
    d = deal(admin_client, "Mine deal", customer_id=other)
    response = admin_client.post("/api/crm/activities", json={"title": "t", "due_date": TODAY.isoformat(),
                                                               "customer_id": mine, "deal_id": d["id"]})
    assert response.status_code == 422 and "deal_id" in response.get_json()["error"]["fields"]


def test_archived_deals_and_customers_refuse_new_activities(admin_client):
    cid = customer(admin_client, "Archive Co")
    d = deal(admin_client, "Dead deal", customer_id=cid)
    assert admin_client.post(f"/api/crm/deals/{d['id']}/archive", json={"reason": "lost interest"}).status_code == 200
    response = admin_client.post("/api/crm/activities", json={"title": "t", "due_date": TODAY.isoformat(),
                                                               "deal_id": d["id"]})
    assert response.status_code == 409 and "archived" in response.get_json()["error"]["message"]
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "gone"}).status_code == 200
    response = admin_client.post("/api/crm/activities", json={"title": "t", "due_date": TODAY.isoformat(),
                                                               "customer_id": cid})
    assert response.status_code == 409 and "archived" in response.get_json()["error"]["message"]
    assert admin_client.get("/api/crm/activities?status=all").headers["X-Total-Count"] == "0"


def test_complete_twice_and_reopen_an_open_one_are_409(admin_client):
    a = activity(admin_client, customer_id=customer(admin_client, "Twice Co"))
    assert admin_client.post(f"/api/crm/activities/{a['id']}/reopen").status_code == 409
    done = admin_client.post(f"/api/crm/activities/{a['id']}/complete")
    assert done.status_code == 200 and done.get_json()["completed_at"]
    again = admin_client.post(f"/api/crm/activities/{a['id']}/complete")
    assert again.status_code == 409 and "already completed" in again.get_json()["error"]["message"]
    reopened = admin_client.post(f"/api/crm/activities/{a['id']}/reopen")
    assert reopened.status_code == 200 and reopened.get_json()["completed_at"] is None
    assert admin_client.post(f"/api/crm/activities/{a['id']}/reopen").status_code == 409


def test_an_admin_edits_someone_elses_activity_and_it_is_audited(app, admin_client, make_user, tenant, crm_scope):
    colleague = make_user(tenant, "ADMIN")
    colleague_client = app.test_client().login(colleague)
    cid = customer(admin_client, "Edit Co")
    a = activity(colleague_client, customer_id=cid, owner_id=colleague.id)
    new_due = (TODAY + timedelta(days=3)).isoformat()
    response = admin_client.patch(f"/api/crm/activities/{a['id']}", json={"subject": "Call the CFO", "due_date": new_due})
    assert response.status_code == 200
    assert (response.get_json()["title"], response.get_json()["due_date"]) == ("Call the CFO", new_due)
    with crm_scope(tenant) as session:
        events = session.execute(select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.changes)
                                 .where(AuditEvent.entity_type == "activity", AuditEvent.entity_id == a["id"])
                                 .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["created", "updated"]
    assert events[1].actor_id != colleague.id
    assert events[1].changes == {"title": ["Call back", "Call the CFO"], "due_date": [TODAY.isoformat(), new_due]}
    for body, field in (({"title": ""}, "title"), ({"due_date": None}, "due_date"), ({"owner_id": None}, "owner_id"),
                        ({"due_date": "soon"}, "due_date"), ({"completed_at": "2026-01-01"}, "completed_at")):
        response = admin_client.patch(f"/api/crm/activities/{a['id']}", json=body)
        assert response.status_code == 422 and field in response.get_json()["error"]["fields"], body
    assert admin_client.get(f"/api/crm/activities/{a['id']}").get_json()["title"] == "Call the CFO"


def test_delete_needs_the_delete_permission_and_is_audited(app, admin_client, make_user, tenant, crm_scope):
    a = activity(admin_client, customer_id=customer(admin_client, "Delete Co"))
    plain = app.test_client().login(make_user(tenant, "ADMIN"))
    assert plain.delete(f"/api/crm/activities/{a['id']}").status_code == 403
    assert admin_client.delete(f"/api/crm/activities/{a['id']}").status_code == 204
    assert admin_client.get(f"/api/crm/activities/{a['id']}").status_code == 404
    with crm_scope(tenant) as session:
        assert session.scalar(select(AuditEvent.action).where(
            AuditEvent.entity_type == "activity", AuditEvent.entity_id == a["id"]).order_by(AuditEvent.id.desc())) == "deleted"


def test_another_tenants_activity_is_a_404_everywhere(admin_client, other_admin_client):
    a = activity(admin_client, customer_id=customer(admin_client, "Private Co"))
    url = f"/api/crm/activities/{a['id']}"
    assert other_admin_client.get(url).status_code == 404
    assert other_admin_client.patch(url, json={"title": "mine now"}).status_code == 404
    assert other_admin_client.delete(url).status_code == 404
    assert other_admin_client.post(url + "/complete").status_code == 404
    assert other_admin_client.post(url + "/reopen").status_code == 404
    assert other_admin_client.get("/api/crm/activities?status=all").get_json() == []
    assert admin_client.get(url).get_json()["completed_at"] is None


def test_the_table_filters_by_owner_customer_deal_status_and_due_range(admin_client, admin, make_user, tenant):
    other = make_user(tenant, "ADMIN")
    c1, c2 = customer(admin_client, "Filter One"), customer(admin_client, "Filter Two")
    d = deal(admin_client, "Filter deal", customer_id=c2)
    a1 = activity(admin_client, customer_id=c1, due_date=(TODAY - timedelta(days=5)).isoformat())
    a2 = activity(admin_client, deal_id=d["id"], owner_id=other.id, due_date=(TODAY + timedelta(days=5)).isoformat())
    a3 = activity(admin_client, customer_id=c1, due_date=TODAY.isoformat())
    admin_client.post(f"/api/crm/activities/{a3['id']}/complete")

    def ids(query):
        response = admin_client.get(f"/api/crm/activities?{query}")
        assert response.status_code == 200, response.get_json()
        assert response.headers["X-Total-Count"] == str(len(response.get_json()))
        return [row["id"] for row in response.get_json()]

    assert ids("") == [a1["id"], a2["id"]]  # open by default, earliest due first
    assert ids("status=all") == [a1["id"], a3["id"], a2["id"]]
    assert ids("status=done") == [a3["id"]]
    assert ids(f"owner_id={other.id}") == [a2["id"]]
    assert ids(f"customer_id={c2}") == [a2["id"]] and ids(f"deal_id={d['id']}") == [a2["id"]]
    assert ids(f"status=all&due_after={TODAY.isoformat()}") == [a3["id"], a2["id"]]
    assert ids(f"status=all&due_before={TODAY.isoformat()}&due_after={TODAY.isoformat()}") == [a3["id"]]
    row = admin_client.get(f"/api/crm/activities?deal_id={d['id']}").get_json()[0]
    assert (row["customer_name"], row["deal_title"], row["owner_name"]) == ("Filter Two", "Filter deal", other.name)
    page = admin_client.get("/api/crm/activities?limit=1&offset=1")
    assert [r["id"] for r in page.get_json()] == [a2["id"]] and page.headers["X-Total-Count"] == "2"


@pytest.mark.parametrize("query, field", [
    ("status=closed", "status"), ("owner_id=abc", "owner_id"), ("customer_id=0", "customer_id"),
    ("deal_id=99999999999", "deal_id"), ("due_before=2026-13-01", "due_before"), ("due_after=tomorrow", "due_after"),
    ("due_after=2026-05-02&due_before=2026-05-01", "due_after"), ("limit=500", "limit"),
])
def test_bad_table_filters_are_422(admin_client, query, field):
    response = admin_client.get(f"/api/crm/activities?{query}")
    assert response.status_code == 422 and field in response.get_json()["error"]["fields"]
