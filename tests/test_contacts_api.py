"""Contacts API: create/read/update/delete, filters, bad input, tenancy, bulk, timeline, activities."""
import pytest
from sqlalchemy import func, select

from host_stub.models import PortalCustomer, db
from kw_crm.db import utcnow
from kw_crm.models import Contact, CustomerProfile


def new_contact(client, **fields):
    body = {"first_name": "Jane", "last_name": "Smith", **fields}
    response = client.post("/api/crm/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def customers_named(app, tenant, name):
    with app.app_context():
        return db.session.scalars(select(PortalCustomer).where(
            PortalCustomer.tenant_id == tenant.id, func.lower(PortalCustomer.name) == name.lower())).all()


def test_create_and_read_a_contact_with_defaults(admin_client, admin):
    created = new_contact(admin_client, email="Jane@Acme.test", phone="+1 555", job_title="CTO")
    assert created["type"] == "customer"
    assert created["status"] == "lead"
    assert created["owner_id"] == admin.id
    assert created["deal_count"] == 0
    fetched = admin_client.get(f"/api/crm/contacts/{created['id']}").get_json()
    assert fetched["email"] == "Jane@Acme.test"
    assert fetched["job_title"] == "CTO"


def test_typing_a_new_company_creates_and_links_the_customer(app, admin_client, tenant):
    created = new_contact(admin_client, company="Acme Ltd")
    [customer] = customers_named(app, tenant, "Acme Ltd")
    assert created["customer_id"] == customer.id
    second = new_contact(admin_client, first_name="Bob", company="  ACME ltd ")
    assert second["customer_id"] == customer.id
    assert second["company"] == "Acme Ltd"
    assert len(customers_named(app, tenant, "acme ltd")) == 1


def test_picking_an_existing_customer_links_it(app, admin_client, tenant):
    with app.app_context():
        customer = PortalCustomer(tenant_id=tenant.id, name="Globex")
        db.session.add(customer)
        db.session.commit()
        customer_id = customer.id
    created = new_contact(admin_client, customer_id=customer_id)
    assert created["customer_id"] == customer_id
    assert created["company"] == "Globex"
    listed = admin_client.get(f"/api/crm/contacts?customer_id={customer_id}")
    assert [c["id"] for c in listed.get_json()] == [created["id"]]


@pytest.mark.parametrize("body, field", [
    ({"last_name": "Smith"}, "first_name"),
    ({"first_name": "Jane"}, "last_name"),
    ({"first_name": "  ", "last_name": "Smith"}, "first_name"),
    ({"first_name": "Jane", "last_name": "Smith", "email": "not-an-email"}, "email"),
    ({"first_name": "Jane", "last_name": "Smith", "type": "supplier"}, "type"),
    ({"first_name": "Jane", "last_name": "Smith", "status": "hot"}, "status"),
    ({"first_name": "x" * 101, "last_name": "Smith"}, "first_name"),
    ({"first_name": "Jane", "last_name": "Smith", "notes": "n" * 20_001}, "notes"),
    ({"first_name": "Ja\x00ne", "last_name": "Smith"}, "first_name"),
    ({"first_name": "Jane", "last_name": "Smith", "owner_id": "7"}, "owner_id"),
    ({"first_name": "Jane", "last_name": "Smith", "colour": "red"}, "colour"),
    ({"first_name": "Jane", "last_name": "Smith", "company": "c" * 201}, "company"),
])
def test_bad_contact_input_is_a_422_naming_the_field(admin_client, tenant, crm_scope, body, field):
    response = admin_client.post("/api/crm/contacts", json=body)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["fields"]
    with crm_scope(tenant) as session:
        assert session.scalar(select(func.count(Contact.id))) == 0


def test_malformed_json_is_a_400(admin_client):
    response = admin_client.post("/api/crm/contacts", data=b"\xff\xfe{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_owner_must_be_an_active_user_of_the_tenant(admin_client, make_user, tenant, other_admin):
    inactive = make_user(tenant, "ADMIN", active=False)
    for owner in (other_admin.id, inactive.id, 2_000_000_000):
        response = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B", "owner_id": owner})
        assert response.status_code == 422
        assert "owner_id" in response.get_json()["error"]["fields"]
    staff = make_user(tenant, "STAFF")
    assert new_contact(admin_client, owner_id=staff.id)["owner_id"] == staff.id


def test_customer_of_another_tenant_is_refused(app, admin_client, other_tenant, tenant):
    with app.app_context():
        foreign = PortalCustomer(tenant_id=other_tenant.id, name="Foreign Co")
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    response = admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B", "customer_id": foreign_id})
    assert response.status_code == 422
    assert "customer_id" in response.get_json()["error"]["fields"]


def test_vendor_link_only_to_vendor_users_and_vendor_types(admin_client, make_user, tenant, other_tenant):
    vendor = make_user(tenant, "VENDOR")
    staff = make_user(tenant, "STAFF")
    foreign_vendor = make_user(other_tenant, "VENDOR")
    base = {"first_name": "Val", "last_name": "Vendor"}
    for body in ({**base, "type": "vendor", "vendor_user_id": staff.id},
                 {**base, "type": "contractor", "vendor_user_id": foreign_vendor.id},
                 {**base, "type": "customer", "vendor_user_id": vendor.id}):
        response = admin_client.post("/api/crm/contacts", json=body)
        assert response.status_code == 422, body
        assert "vendor_user_id" in response.get_json()["error"]["fields"]
    linked = new_contact(admin_client, type="contractor", vendor_user_id=vendor.id)
    assert linked["vendor_user_id"] == vendor.id
    # Changing the type away from contractor while still linked is refused, not silently unlinked.
    response = admin_client.patch(f"/api/crm/contacts/{linked['id']}", json={"type": "partner"})
    assert response.status_code == 422
    assert admin_client.get(f"/api/crm/contacts/{linked['id']}").get_json()["type"] == "contractor"


def test_email_is_unique_per_tenant_case_insensitively(admin_client, other_admin_client):
    new_contact(admin_client, email="dup@example.test")
    response = admin_client.post("/api/crm/contacts", json={"first_name": "B", "last_name": "C", "email": " DUP@example.TEST "})
    assert response.status_code == 422
    assert "email" in response.get_json()["error"]["fields"]
    # Another tenant may use the same address.
    new_contact(other_admin_client, email="dup@example.test")
    other = new_contact(admin_client, email="other@example.test")
    response = admin_client.patch(f"/api/crm/contacts/{other['id']}", json={"email": "Dup@Example.test"})
    assert response.status_code == 422
    assert "email" in response.get_json()["error"]["fields"]


def test_html_is_stored_verbatim_and_returned_as_data(admin_client):
    evil = "<script>alert(1)</script>"
    created = new_contact(admin_client, first_name=evil, job_title='"><img src=x onerror=alert(2)>',
                          notes="=HYPERLINK(\"http://x\")")
    assert created["first_name"] == evil
    assert created["notes"].startswith("=HYPERLINK")


def test_patch_updates_only_given_fields_and_can_unlink_company(app, admin_client, tenant):
    created = new_contact(admin_client, company="Initech", phone="123")
    updated = admin_client.patch(f"/api/crm/contacts/{created['id']}", json={"status": "active", "is_decision_maker": True})
    assert updated.status_code == 200
    body = updated.get_json()
    assert (body["status"], body["is_decision_maker"], body["phone"], body["company"]) == ("active", True, "123", "Initech")
    cleared = admin_client.patch(f"/api/crm/contacts/{created['id']}", json={"company": ""}).get_json()
    assert cleared["company"] is None and cleared["customer_id"] is None
    assert len(customers_named(app, tenant, "Initech")) == 1  # the customer itself stays


def test_list_filters_search_and_paging(admin_client, make_user, tenant):
    other_owner = make_user(tenant, "ADMIN")
    new_contact(admin_client, first_name="Ann", last_name="Alpha", email="ann@alpha.test", type="vendor")
    new_contact(admin_client, first_name="Ben", last_name="Beta", company="Zeta Widgets", status="active")
    new_contact(admin_client, first_name="Cat", last_name="Gamma", owner_id=other_owner.id, type="partner")
    new_contact(admin_client, first_name="Dan", last_name="100%_off")

    def names(query):
        response = admin_client.get(f"/api/crm/contacts?{query}")
        assert response.status_code == 200, response.get_json()
        return [c["first_name"] for c in response.get_json()], int(response.headers["X-Total-Count"])

    assert names("") == (["Dan", "Ann", "Ben", "Cat"], 4)
    assert names("type=vendor") == (["Ann"], 1)
    assert names("status=active") == (["Ben"], 1)
    assert names(f"owner_id={other_owner.id}") == (["Cat"], 1)
    assert names("q=zeta") == (["Ben"], 1)
    assert names("q=ALPHA.TEST") == (["Ann"], 1)
    assert names("q=cat gamma") == (["Cat"], 1)
    assert names("q=%25_") == (["Dan"], 1)  # wildcards are searched literally
    assert names("limit=2&offset=1") == (["Ann", "Ben"], 4)


@pytest.mark.parametrize("query, field", [("limit=201", "limit"), ("limit=0", "limit"), ("offset=-1", "offset"),
                                          ("type=robot", "type"), ("status=x", "status"), ("owner_id=abc", "owner_id")])
def test_bad_list_parameters_are_422(admin_client, query, field):
    response = admin_client.get(f"/api/crm/contacts?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_contacts_of_another_tenant_are_404(admin_client, other_admin_client):
    created = new_contact(admin_client)
    cid = created["id"]
    assert other_admin_client.get(f"/api/crm/contacts/{cid}").status_code == 404
    assert other_admin_client.patch(f"/api/crm/contacts/{cid}", json={"status": "active"}).status_code == 404
    assert other_admin_client.delete(f"/api/crm/contacts/{cid}").status_code == 404
    assert other_admin_client.get(f"/api/crm/contacts/{cid}/timeline").status_code == 404
    assert other_admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": "x"}).status_code == 404
    assert other_admin_client.post(f"/api/crm/contacts/{cid}/activities",
                                   json={"type": "call", "subject": "x"}).status_code == 404
    assert other_admin_client.get(f"/api/crm/contacts/{cid}/attachments").status_code == 404
    assert other_admin_client.get("/api/crm/contacts").get_json() == []
    assert admin_client.get(f"/api/crm/contacts/{cid}").get_json()["status"] == "lead"


def test_delete_needs_the_delete_permission(app, make_user, tenant, admin_client):
    created = new_contact(admin_client)
    plain = app.test_client().login(make_user(tenant, "ADMIN"))
    assert plain.delete(f"/api/crm/contacts/{created['id']}").status_code == 403
    assert admin_client.delete(f"/api/crm/contacts/{created['id']}").status_code == 204
    assert admin_client.get(f"/api/crm/contacts/{created['id']}").status_code == 404


def test_bulk_reassign_and_delete(admin_client, make_user, tenant):
    owner = make_user(tenant, "ADMIN")
    ids = [new_contact(admin_client, first_name=f"P{i}")["id"] for i in range(3)]
    response = admin_client.post("/api/crm/contacts/bulk", json={"action": "reassign", "ids": ids[:2], "owner_id": owner.id})
    assert response.status_code == 200 and response.get_json()["count"] == 2
    owners = {c["id"]: c["owner_id"] for c in admin_client.get("/api/crm/contacts").get_json()}
    assert owners[ids[0]] == owners[ids[1]] == owner.id != owners[ids[2]]
    response = admin_client.post("/api/crm/contacts/bulk", json={"action": "delete", "ids": ids[1:]})
    assert response.status_code == 200 and response.get_json()["count"] == 2
    assert [c["id"] for c in admin_client.get("/api/crm/contacts").get_json()] == [ids[0]]


def test_bulk_naming_ids_of_another_tenant_touches_nothing(admin_client, other_admin_client, make_user, tenant):
    mine = new_contact(admin_client)["id"]
    theirs = new_contact(other_admin_client, first_name="Foreign")["id"]
    owner = make_user(tenant, "ADMIN")
    for body in ({"action": "reassign", "ids": [mine, theirs], "owner_id": owner.id},
                 {"action": "delete", "ids": [mine, theirs]}):
        response = admin_client.post("/api/crm/contacts/bulk", json=body)
        assert response.status_code == 422
        message = response.get_json()["error"]["fields"]["ids"][0]
        assert str(theirs) in message and str(mine) not in message.split(":")[1]
    assert admin_client.get(f"/api/crm/contacts/{mine}").get_json()["owner_id"] != owner.id
    assert other_admin_client.get(f"/api/crm/contacts/{theirs}").status_code == 200


@pytest.mark.parametrize("body, field", [
    ({"action": "merge", "ids": [1]}, "action"),
    ({"action": "delete", "ids": []}, "ids"),
    ({"action": "delete", "ids": ["1"]}, "ids"),
    ({"action": "reassign", "ids": [1]}, "owner_id"),
])
def test_bad_bulk_requests_are_422(admin_client, body, field):
    response = admin_client.post("/api/crm/contacts/bulk", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_bulk_reassign_to_a_foreign_owner_is_refused(admin_client, other_admin):
    cid = new_contact(admin_client)["id"]
    response = admin_client.post("/api/crm/contacts/bulk", json={"action": "reassign", "ids": [cid], "owner_id": other_admin.id})
    assert response.status_code == 422
    assert "owner_id" in response.get_json()["error"]["fields"]


def test_notes_and_activities_make_the_timeline_newest_first(admin_client, admin):
    cid = new_contact(admin_client)["id"]
    long_note = "ten chars!" * 1000
    assert admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": long_note}).status_code == 201
    response = admin_client.post(f"/api/crm/contacts/{cid}/activities",
                                 json={"type": "meeting", "subject": "Kick-off", "due_date": "2030-01-15"})
    assert response.status_code == 201
    activity = response.get_json()
    assert (activity["owner_id"], activity["due_date"], activity["completed_at"]) == (admin.id, "2030-01-15", None)
    timeline = admin_client.get(f"/api/crm/contacts/{cid}/timeline")
    assert timeline.headers["X-Total-Count"] == "2"
    entries = timeline.get_json()
    assert [e["kind"] for e in entries] == ["activity", "note"]
    assert entries[1]["body"] == long_note
    done = admin_client.post(f"/api/crm/activities/{activity['id']}/complete")
    assert done.status_code == 200 and done.get_json()["completed_at"] is not None
    again = admin_client.post(f"/api/crm/activities/{activity['id']}/complete")  # issue 13: completing twice is a 409
    assert again.status_code == 409 and "already completed" in again.get_json()["error"]["message"]
    assert admin_client.get(f"/api/crm/activities/{activity['id']}").get_json()["completed_at"] == done.get_json()["completed_at"]


@pytest.mark.parametrize("body, field", [
    ({"type": "fax", "subject": "x"}, "type"),
    ({"type": "call"}, "title"),  # contract 8.1: the field is title; subject is its other name
    ({"type": "call", "subject": "s" * 256}, "title"),
    ({"type": "call", "subject": "x", "due_date": "31/12/2030"}, "due_date"),
    ({"type": "call", "subject": "x", "owner_id": 2_000_000_000}, "owner_id"),
])
def test_bad_activity_input_is_422(admin_client, body, field):
    cid = new_contact(admin_client)["id"]
    response = admin_client.post(f"/api/crm/contacts/{cid}/activities", json=body)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert admin_client.get(f"/api/crm/contacts/{cid}/timeline").get_json() == []


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "x" * 20_001}, {"body": 5}])
def test_bad_notes_are_422(admin_client, body):
    cid = new_contact(admin_client)["id"]
    response = admin_client.post(f"/api/crm/contacts/{cid}/notes", json=body)
    assert response.status_code == 422
    assert "body" in response.get_json()["error"]["fields"]


def test_activity_of_another_tenant_cannot_be_completed(admin_client, other_admin_client):
    cid = new_contact(admin_client)["id"]
    aid = admin_client.post(f"/api/crm/contacts/{cid}/activities", json={"type": "task", "subject": "t"}).get_json()["id"]
    assert other_admin_client.post(f"/api/crm/activities/{aid}/complete").status_code == 404
    assert admin_client.get(f"/api/crm/contacts/{cid}/timeline").get_json()[0]["completed_at"] is None


def test_archived_customers_refuse_new_contacts_and_activities(app, admin_client, tenant, crm_scope):
    linked = new_contact(admin_client, company="Old Corp")
    with crm_scope(tenant) as session:
        session.add(CustomerProfile(customer_id=linked["customer_id"], archived_at=utcnow()))
        session.commit()
    response = admin_client.post("/api/crm/contacts", json={"first_name": "N", "last_name": "C", "company": "old corp"})
    assert response.status_code == 409
    response = admin_client.post(f"/api/crm/contacts/{linked['id']}/activities", json={"type": "call", "subject": "x"})
    assert response.status_code == 409
    assert len(admin_client.get("/api/crm/contacts").get_json()) == 1


def test_deleting_a_contact_removes_its_timeline_and_unlinks_its_deals(admin_client, crm_scope, tenant):
    from kw_crm.models import Activity, Attachment, Deal, Note, Stage

    cid = new_contact(admin_client)["id"]
    admin_client.post(f"/api/crm/contacts/{cid}/notes", json={"body": "n"})
    admin_client.post(f"/api/crm/contacts/{cid}/activities", json={"type": "call", "subject": "c"})
    import io
    admin_client.post(f"/api/crm/contacts/{cid}/attachments", data={"file": (io.BytesIO(b"f"), "f.txt")},
                      content_type="multipart/form-data")
    with crm_scope(tenant) as session:
        stage = Stage(key="LEAD", label="Lead", probability=10, position=0)
        session.add(stage)
        session.flush()
        deal = Deal(title="Keep me", value_cents=5, currency="USD", stage_id=stage.id, contact_id=cid)
        session.add(deal)
        session.commit()
        deal_id = deal.id
    assert admin_client.delete(f"/api/crm/contacts/{cid}").status_code == 204
    with crm_scope(tenant) as session:
        for model in (Note, Activity, Attachment):
            assert session.scalar(select(func.count(model.id)).where(model.contact_id == cid)) == 0, model
        deal = session.get(Deal, deal_id)
        assert deal is not None and deal.contact_id is None
    # a contact created afterwards (SQLite may reuse the id) starts with an empty timeline
    fresh = new_contact(admin_client, first_name="Fresh")["id"]
    assert admin_client.get(f"/api/crm/contacts/{fresh}/timeline").get_json() == []
    assert admin_client.get(f"/api/crm/contacts/{fresh}/attachments").get_json() == []


def test_ids_beyond_the_integer_range_are_404_or_422_not_500(admin_client):
    huge = 99_999_999_999_999_999_999
    cid = new_contact(admin_client)["id"]
    for url in (f"/api/crm/contacts/{huge}", f"/crm/contacts/{huge}", f"/api/crm/contacts/{cid}/attachments/{huge}",
                f"/crm/contacts/{huge}/edit"):
        assert admin_client.get(url).status_code == 404, url
    assert admin_client.post(f"/api/crm/activities/{huge}/complete").status_code == 404
    for body in ({"first_name": "A", "last_name": "B", "owner_id": huge},
                 {"first_name": "A", "last_name": "B", "customer_id": 2**31},
                 {"first_name": "A", "last_name": "B", "type": "vendor", "vendor_user_id": -1}):
        response = admin_client.post("/api/crm/contacts", json=body)
        assert response.status_code == 422, body
    response = admin_client.post("/api/crm/contacts/bulk", json={"action": "delete", "ids": [cid, huge]})
    assert response.status_code == 422 and "ids" in response.get_json()["error"]["fields"]
    assert admin_client.get(f"/api/crm/contacts?owner_id={huge}").status_code == 422
    response = admin_client.post(f"/api/crm/contacts/{cid}/activities", json={"type": "call", "subject": "s", "owner_id": huge})
    assert response.status_code == 422
    response = admin_client.post("/crm/contacts/bulk", data={"action": "reassign", "ids": [str(huge)], "owner_id": str(huge)},
                                 follow_redirects=True)
    assert response.status_code == 200
    assert admin_client.get(f"/api/crm/contacts/{cid}").status_code == 200
    assert admin_client.get(f"/crm/contacts/new?customer_id={huge}").status_code == 200
