"""Other plugins and integrators learn of communications: ``communication_logged`` for a manual
entry, ``communication_captured`` for every stored capture (linked or waiting) and again when an
operator links a waiting one — sent after commit, never for a repeat or a refusal — and the same
names as webhook events, delivered signed with the communication's API shape."""
import json

import pytest

from kw_crm import capture, signals
from kw_crm.errors import Invalid
from tests.support.comms import address, contact, customer, message
from tests.test_webhooks import Receiver, add_endpoint


@pytest.fixture
def heard():
    """Record both communication signals, reading the stored row in each receiver (disconnected after)."""
    log = []

    def make(name):
        def receiver(sender, **kwargs):
            from kw_crm.db import session
            from kw_crm.models import Communication

            stored = session.get(Communication, sender.id)  # committed: visible to a fresh read
            log.append((name, sender.id, kwargs, stored.customer_id if stored else "missing", sender.linkage_basis))
        return receiver

    receivers = {name: make(name) for name in ("communication_logged", "communication_captured")}
    for name, receiver in receivers.items():
        getattr(signals, name).connect(receiver)
    yield log
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_a_manual_entry_sends_communication_logged(admin_client, heard):
    cid = customer(admin_client)
    entry = admin_client.post(f"/api/crm/customers/{cid}/communications", json={"subject": "Call"}).get_json()
    assert heard == [("communication_logged", entry["id"], {}, cid, "manual")]
    heard.clear()
    assert admin_client.post(f"/api/crm/customers/{cid}/communications", json={"subject": ""}).status_code == 422
    assert admin_client.post(f"/api/crm/customers/{cid}/communications",
                             json={"subject": "x", "contact_id": 2_000_000_000}).status_code == 422
    assert heard == []


def test_captures_send_communication_captured_once_with_their_status(app, admin_client, tenant, heard):
    cid = customer(admin_client)
    email = address("s")
    contact(admin_client, email, cid)
    linked_body, waiting_body = message(email), message(address("nobody"))
    with app.app_context():
        linked, waiting, rejected = capture.ingest_many(tenant.id, [linked_body, waiting_body, {"direction": "inbound"}])
    assert rejected["status"] == "rejected"
    assert heard == [
        ("communication_captured", linked["communication"]["id"], {"status": "linked", "review_id": None}, cid,
         "email_match"),
        ("communication_captured", heard[1][1], {"status": "review", "review_id": waiting["review_id"]}, None,
         "pending_review"),
    ]
    heard.clear()
    with app.app_context():
        again = capture.ingest_many(tenant.id, [linked_body, waiting_body])
        with pytest.raises(Invalid):
            capture.ingest(tenant.id, {"message_id": "<no-sender@x>", "direction": "inbound"})
    assert [r["duplicate"] for r in again] == [True, True] and heard == []  # a repeat stores and sends nothing


def test_resolving_a_waiting_capture_sends_it_again_as_linked(admin_client, heard, admin):
    shared = address("b")
    first = customer(admin_client, "First", billing_email=shared)
    customer(admin_client, "Second", billing_email=shared)
    review_id = admin_client.post("/api/crm/communications/capture", json=message(shared)).get_json()["review_id"]
    heard.clear()
    entry = admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={"customer_id": first}).get_json()
    assert heard == [("communication_captured", entry["id"], {"status": "linked", "review_id": review_id}, first,
                      "operator_review")]
    heard.clear()
    assert admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={"customer_id": first}).status_code == 409
    assert heard == []


def test_webhook_endpoints_receive_communication_events(admin_client, receiver, admin):
    endpoint = add_endpoint(admin_client, receiver.url, ["communication_logged", "communication_captured"])
    assert {"communication_logged", "communication_captured"} <= set(admin_client.get("/api/crm/webhooks/events").get_json())
    cid = customer(admin_client)
    email = address("w")
    pid = contact(admin_client, email, cid)
    admin_client.post(f"/api/crm/customers/{cid}/communications", json={"subject": "Lunch", "channel": "meeting"})
    captured = admin_client.post("/api/crm/communications/capture",
                                 json=message(email, subject="Quote", thread_id="<q@x>")).get_json()["communication"]
    shared = address("s")
    customer(admin_client, "A", billing_email=shared)
    other = customer(admin_client, "B", billing_email=shared)
    review_id = admin_client.post("/api/crm/communications/capture", json=message(shared)).get_json()["review_id"]
    admin_client.post(f"/api/crm/captures/{review_id}/resolve", json={"customer_id": other})

    assert receiver.events() == ["communication_logged", "communication_captured", "communication_captured",
                                 "communication_captured"]
    logged, linked, waiting, resolved = (json.loads(r["body"])["data"] for r in receiver.requests)
    assert logged["object"] == "communication" and logged["record"]["subject"] == "Lunch"
    assert logged["record"]["source"] == "manual" and logged["record"]["logged_by_name"] == admin.name
    assert linked["status"] == "linked" and linked["record"]["id"] == captured["id"]
    assert linked["record"]["contact_id"] == pid and linked["record"]["conversation_id"] == captured["conversation_id"]
    assert linked["record"]["provenance"]["linkage_basis"] == "email_match"
    assert linked["record"]["provenance"]["thread_id"] == "<q@x>"
    assert waiting["status"] == "review" and waiting["review_id"] == review_id
    assert waiting["record"]["customer_id"] is None
    assert resolved["status"] == "linked" and resolved["review_id"] == review_id
    assert resolved["record"]["customer_id"] == other and resolved["record"]["conversation_id"] is not None
    assert resolved["record"]["provenance"]["linkage_basis"] == "operator_review"
    assert resolved["record"]["provenance"]["reviewed_by_name"] == admin.name
    log = admin_client.get(f"/api/crm/webhooks/{endpoint['id']}/deliveries").get_json()
    assert len(log) == 4 and all(d["status"] == "delivered" for d in log)
