"""Duplicate candidates (customers and contacts) and contact merge."""
import io

from kw_crm.models import Activity, Attachment, AuditEvent, Communication, Contact, Deal, Note
from kw_crm.services.duplicates import mailbox, normalise_company
from tests.support.comms import address, contact, customer, message


def test_normalisation_rules():
    assert normalise_company("ACME, Inc.") == normalise_company("Acme") == normalise_company("The Acme Corp") == "acme"
    assert normalise_company("Müller & Söhne GmbH") == "muller and sohne"
    assert normalise_company("Co") == "co"  # a name is never normalised away
    assert mailbox("Ann.Lee+crm@GoogleMail.com") == mailbox("annlee@gmail.com") == "annlee@gmail.com"
    assert mailbox("ann+x@acme.test") == "ann@acme.test" and mailbox("a.b@acme.test") == "a.b@acme.test"


def test_customer_duplicates_by_name_and_billing_domain(admin_client):
    tag = address("k").split("@")[0][2:]
    a = admin_client.post("/api/crm/customers", json={"name": f"Zeta{tag} Inc."}).get_json()["id"]
    b = admin_client.post("/api/crm/customers", json={"name": f"zeta{tag}, LLC"}).get_json()["id"]
    c = customer(admin_client, "One", billing_email=f"ap@{tag}.test")
    d = customer(admin_client, "Two", billing_email=f"finance@{tag}.test")
    customer(admin_client, "Free1", billing_email="x@gmail.com")
    customer(admin_client, "Free2", billing_email="y@gmail.com")
    groups = admin_client.get("/api/crm/customers/duplicates").get_json()
    found = {(g["reason"], frozenset(m["id"] for m in g["customers"])) for g in groups}
    assert ("similar_name", frozenset({a, b})) in found
    assert ("billing_domain", frozenset({c, d})) in found
    assert not any(g["key"] == "gmail.com" for g in groups)


def test_contact_duplicates_by_mailbox_and_name_at_company(admin_client):
    cid = customer(admin_client)
    domain = address("d").split("@")[1]
    a = contact(admin_client, f"ann@{domain}", cid)
    b = contact(admin_client, f"ann+news@{domain}", cid)
    c = contact(admin_client, None, cid, first="Sam", last="Same")
    d = contact(admin_client, address("s2"), cid, first="sam", last="SAME")
    contact(admin_client, None, None, first="Sam", last="Same")  # no company: name alone is not enough
    groups = admin_client.get("/api/crm/contacts/duplicates").get_json()
    found = {(g["reason"], frozenset(m["id"] for m in g["contacts"])) for g in groups}
    assert ("same_email", frozenset({a, b})) in found
    assert ("same_name_company", frozenset({c, d})) in found


def test_merge_moves_everything_and_leaves_nothing_dangling(admin_client, admin, crm_scope, tenant):
    cid = customer(admin_client)
    email = address("src")
    source = contact(admin_client, email, cid, phone="+1 555 0100", job_title="CFO")
    target = contact(admin_client, None, cid)
    admin_client.post(f"/api/crm/contacts/{source}/notes", json={"body": "note"})
    admin_client.post(f"/api/crm/contacts/{source}/activities", json={"type": "call", "subject": "call"})
    deal = admin_client.post("/api/crm/deals", json={"title": "D", "contact_id": source}).get_json()
    admin_client.post(f"/api/crm/contacts/{source}/attachments", data={"file": (io.BytesIO(b"hi"), "a.txt")},
                      content_type="multipart/form-data")
    captured = admin_client.post("/api/crm/communications/capture", json=message(email)).get_json()
    assert captured["communication"]["contact_id"] == source

    response = admin_client.post(f"/api/crm/contacts/{source}/merge", json={"into_id": target})
    assert response.status_code == 200, response.get_json()
    merged = response.get_json()
    assert merged["id"] == target and merged["email"] == email and merged["phone"] == "+1 555 0100"
    assert merged["deal_count"] == 1
    assert admin_client.get(f"/api/crm/contacts/{source}").status_code == 404
    kinds = sorted(e["kind"] for e in admin_client.get(f"/api/crm/contacts/{target}/timeline").get_json())
    assert kinds == ["activity", "communication", "note"]
    assert len(admin_client.get(f"/api/crm/contacts/{target}/attachments").get_json()) == 1
    with crm_scope(tenant) as session:
        for model in (Note, Activity, Deal, Attachment, Communication):
            assert session.query(model).filter(model.contact_id == source).count() == 0, model
        assert session.get(Deal, deal["id"]).version == deal["version"] + 1
        assert session.query(Contact).filter(Contact.id == source).count() == 0
        merged_event = session.query(AuditEvent).filter_by(entity_type="contact", entity_id=target,
                                                          action="merged").one()
        assert merged_event.actor_id == admin.id and merged_event.changes["merged_contact_id"] == [source, None]
        assert merged_event.changes["moved_communications"] == [0, 1]
    # the next capture from the merged address finds the survivor
    again = admin_client.post("/api/crm/communications/capture", json=message(email)).get_json()
    assert again["communication"]["contact_id"] == target


def test_merge_refusals(app, admin_client, other_admin_client, make_user, tenant):
    cid, other = customer(admin_client), customer(admin_client, "Other")
    a, b = contact(admin_client, None, cid), contact(admin_client, None, cid)
    c = contact(admin_client, None, other)
    foreign = contact(other_admin_client, None, None)
    assert admin_client.post(f"/api/crm/contacts/{a}/merge", json={"into_id": a}).status_code == 422
    into_foreign = admin_client.post(f"/api/crm/contacts/{a}/merge", json={"into_id": foreign})
    assert into_foreign.status_code == 422 and "into_id" in into_foreign.get_json()["error"]["fields"]
    assert other_admin_client.post(f"/api/crm/contacts/{a}/merge", json={"into_id": foreign}).status_code == 404
    crossed = admin_client.post(f"/api/crm/contacts/{a}/merge", json={"into_id": c})
    assert crossed.status_code == 409 and "different customers" in crossed.get_json()["error"]["message"]
    assert admin_client.post(f"/api/crm/contacts/{a}/merge", json={"into_id": b, "keep": "x"}).status_code == 422
    no_delete = app.test_client().login(make_user(tenant, "ADMIN"))
    assert no_delete.post(f"/api/crm/contacts/{a}/merge", json={"into_id": b}).status_code == 403
    assert admin_client.get(f"/api/crm/contacts/{a}").status_code == 200


def test_deleting_a_contact_deal_or_activity_leaves_the_communication_unlinked(admin_client):
    cid = customer(admin_client)
    email = address("gone")
    pid = contact(admin_client, email, cid)
    other = contact(admin_client, address("stay"), cid)
    activity = admin_client.post(f"/api/crm/contacts/{pid}/activities", json={"type": "call", "subject": "c"}).get_json()
    deal = admin_client.post("/api/crm/deals", json={"title": "D", "customer_id": cid}).get_json()
    logged = admin_client.post(f"/api/crm/customers/{cid}/communications", json={
        "subject": "s", "contact_id": other, "activity_id": activity["id"], "deal_id": deal["id"]}).get_json()
    captured = admin_client.post("/api/crm/communications/capture", json=message(email)).get_json()["communication"]
    assert admin_client.delete(f"/api/crm/contacts/{pid}").status_code == 204
    admin_client.post(f"/api/crm/deals/{deal['id']}/archive", json={"reason": "r"})
    assert admin_client.delete(f"/api/crm/deals/{deal['id']}").status_code == 204
    after = {e["id"]: e for e in admin_client.get(f"/api/crm/customers/{cid}/communications").get_json()}
    assert (after[captured["id"]]["contact_id"], after[captured["id"]]["customer_id"]) == (None, cid)
    assert (after[logged["id"]]["contact_id"], after[logged["id"]]["activity_id"], after[logged["id"]]["deal_id"]) == \
        (other, None, None)
