"""The review queue: candidates, resolving (audited, once), dismissing, and what resolving does to
the customer's log, the contact's timeline and the conversations."""
from kw_crm.models import AuditEvent
from tests.support.comms import address, contact, customer, message


def _two_candidates(client):
    """A message from an address billed to two customers: the rule must not pick one."""
    shared = address("billing")
    first, second = customer(client, "First", billing_email=shared), customer(client, "Second", billing_email=shared)
    result = client.post("/api/crm/communications/capture",
                         json=message(shared, thread_id="<t-review@mail.test>", subject="Invoice question")).get_json()
    assert result["status"] == "review"
    return first, second, result["review_id"]


def test_queue_shows_metadata_preview_and_candidates(admin_client):
    first, second, review_id = _two_candidates(admin_client)
    response = admin_client.get("/api/crm/captures/review")
    assert response.headers["X-Total-Count"] == "1"
    item = response.get_json()[0]
    assert item["id"] == review_id and item["reason"] == "ambiguous" and item["candidate_count"] == 2
    assert {c["customer_id"] for c in item["candidates"]} == {first, second}
    assert all(c["basis"] == "billing_email" and c["name"] for c in item["candidates"])
    assert item["subject"] == "Invoice question" and item["preview"] == "Hi there"
    assert item["recipients"] == ["me@us.test"] and item["direction"] == "inbound"


def test_resolve_links_with_operator_review_and_audit(admin_client, admin, crm_scope, tenant):
    first, second, review_id = _two_candidates(admin_client)
    pid = contact(admin_client, address("who"), second)
    response = admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={"customer_id": second, "contact_id": pid})
    assert response.status_code == 200
    entry = response.get_json()
    assert (entry["customer_id"], entry["contact_id"]) == (second, pid)
    assert entry["provenance"]["linkage_basis"] == "operator_review"
    assert entry["provenance"]["reviewed_by"] == admin.id and entry["provenance"]["reviewed_by_name"] == admin.name
    assert admin_client.get("/api/crm/captures/review").get_json() == []
    assert [e["id"] for e in admin_client.get(f"/api/crm/customers/{second}/communications").get_json()] == [entry["id"]]
    assert admin_client.get(f"/api/crm/customers/{first}/communications").get_json() == []
    timeline = admin_client.get(f"/api/crm/contacts/{pid}/timeline").get_json()
    assert timeline[0]["provenance"]["linkage_basis"] == "operator_review"
    conversations = admin_client.get(f"/api/crm/customers/{second}/conversations").get_json()
    assert [(c["thread_id"], c["message_count"], c["status"]) for c in conversations] == [("<t-review@mail.test>", 1, "open")]
    with crm_scope(tenant) as session:
        event = session.query(AuditEvent).filter_by(entity_type="communication", entity_id=entry["id"]).one()
    assert event.action == "capture_resolved" and event.actor_id == admin.id
    assert event.changes["customer_id"] == [None, second]


def test_resolving_twice_is_409(admin_client):
    _, second, review_id = _two_candidates(admin_client)
    assert admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={"customer_id": second}).status_code == 200
    again = admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={"customer_id": second})
    assert again.status_code == 409 and "resolved once" in again.get_json()["error"]["message"]
    assert admin_client.post(f"/api/crm/captures/{review_id}/dismiss").status_code == 409


def test_resolve_refuses_other_tenants_records_and_mismatched_links(admin_client, other_admin_client):
    first, second, review_id = _two_candidates(admin_client)
    foreign_customer = customer(other_admin_client, "Foreign")
    foreign_contact = contact(other_admin_client, address("f"), foreign_customer)
    other_customers_contact = contact(admin_client, address("o"), first)
    deal_of_first = admin_client.post("/api/crm/deals", json={"title": "D", "customer_id": first}).get_json()["id"]
    cases = [
        ({"customer_id": foreign_customer}, "customer_id"),
        ({"customer_id": second, "contact_id": foreign_contact}, "contact_id"),
        ({"customer_id": second, "contact_id": other_customers_contact}, "contact_id"),
        ({"customer_id": second, "deal_id": deal_of_first}, "deal_id"),
        ({"customer_id": second, "activity_id": 2_000_000_000}, "activity_id"),
        ({"customer_id": "two"}, "customer_id"),
        ({}, "customer_id"),
        ({"customer_id": second, "note": "x"}, "note"),
    ]
    for body, field in cases:
        response = admin_client.post(f"/api/crm/captures/{review_id}/resolve", json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert field in response.get_json()["error"]["fields"], body
    assert len(admin_client.get("/api/crm/captures/review").get_json()) == 1  # nothing changed
    assert admin_client.post("/api/crm/captures/2000000000/resolve", json={"customer_id": first}).status_code == 404


def test_resolve_with_deal_and_activity_of_the_customer(admin_client):
    first, _, review_id = _two_candidates(admin_client)
    pid = contact(admin_client, address("act"), first)
    deal = admin_client.post("/api/crm/deals", json={"title": "D", "customer_id": first}).get_json()["id"]
    activity = admin_client.post(f"/api/crm/contacts/{pid}/activities", json={"type": "call", "subject": "c"}).get_json()
    entry = admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={
        "customer_id": first, "deal_id": deal, "activity_id": activity["id"]}).get_json()
    assert (entry["deal_id"], entry["activity_id"], entry["contact_id"]) == (deal, activity["id"], None)


def test_dismiss_takes_it_out_of_the_queue_and_a_repeat_stays_out(admin_client, admin):
    body = message(address("spam"))
    review_id = admin_client.post("/api/crm/communications/capture", json=body).get_json()["review_id"]
    dismissed = admin_client.post(f"/api/crm/captures/{review_id}/dismiss")
    assert dismissed.status_code == 200 and dismissed.get_json()["resolution"] == "dismissed"
    assert admin_client.get("/api/crm/captures/review").get_json() == []
    again = admin_client.post("/api/crm/communications/capture", json=body)
    assert again.status_code == 200 and again.get_json()["review_id"] == review_id
    assert admin_client.get("/api/crm/captures/review").get_json() == []


def test_queue_is_constant_queries(admin_client, count_queries):
    for _ in range(3):
        _two_candidates(admin_client)
    with count_queries() as few:
        assert len(admin_client.get("/api/crm/captures/review").get_json()) == 3
    for _ in range(5):
        _two_candidates(admin_client)
    with count_queries() as more:
        assert len(admin_client.get("/api/crm/captures/review").get_json()) == 8
    assert len(more) == len(few)
