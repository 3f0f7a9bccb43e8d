"""Link or review: the matching rule on a table of cases, first as the pure function, then the
same cases end to end through ``kw_crm.capture.ingest`` on the real database."""
import uuid

import pytest

from kw_crm import capture
from kw_crm.capture import BillingHit, ContactHit, decide, party_addresses

ANN = ContactHit(1, 10, "Ann Lee", "ann@acme.test")
BOB = ContactHit(2, 20, "Bob Roe", "bob@beta.test")
ANN_COLLEAGUE = ContactHit(3, 10, "Cy Lee", "cy@acme.test")
LONER = ContactHit(4, None, "No Company", "solo@x.test")
ACME_BILLING = BillingHit(10, "ann@acme.test")
BETA_BILLING = BillingHit(20, "ann@acme.test")
GAMMA_BILLING = BillingHit(30, "billing@gamma.test")
DELTA_BILLING = BillingHit(40, "billing@gamma.test")

CASES = [
    # contacts, billing hits -> status, customer, contact, reason
    ("one contact", [ANN], [], "linked", 10, 1, None),
    ("one contact, its own customer billed at the address too", [ANN], [ACME_BILLING], "linked", 10, 1, None),
    ("one contact, another customer billed at the address", [ANN], [BETA_BILLING], "review", None, None, "ambiguous"),
    ("two contacts of two customers", [ANN, BOB], [], "review", None, None, "ambiguous"),
    ("two contacts of the same customer", [ANN, ANN_COLLEAGUE], [], "review", None, None, "ambiguous"),
    ("the same contact through two addresses", [ANN, ANN], [], "linked", 10, 1, None),
    ("no contact, one customer by billing email", [], [GAMMA_BILLING], "linked", 30, None, None),
    ("no contact, two customers share the billing email", [], [GAMMA_BILLING, DELTA_BILLING], "review", None, None,
     "ambiguous"),
    ("contact without a customer", [LONER], [], "review", None, None, "contact_without_customer"),
    ("nothing matches", [], [], "review", None, None, "no_match"),
]


@pytest.mark.parametrize(("case", "contacts", "billing", "status", "customer_id", "contact_id", "reason"), CASES,
                         ids=[c[0] for c in CASES])
def test_decide(case, contacts, billing, status, customer_id, contact_id, reason):
    decision = decide(contacts, billing)
    assert (decision.status, decision.customer_id, decision.contact_id) == (status, customer_id, contact_id)
    assert decision.reason == reason
    if status == "review":  # every match is offered to the operator, each customer once
        offered = {(c["customer_id"], c["contact_id"]) for c in decision.candidates}
        assert {(h.customer_id, h.contact_id) for h in contacts} <= offered
        assert {h.customer_id for h in billing} <= {c["customer_id"] for c in decision.candidates}


def test_the_other_party_is_the_sender_inbound_and_the_recipients_outbound():
    assert party_addresses("inbound", "a@x.test", ["me@us.test"]) == ["a@x.test"]
    assert party_addresses("outbound", "me@us.test", ["a@x.test", "b@y.test", "a@x.test"]) == ["a@x.test", "b@y.test"]


# --- the same rule end to end ----------------------------------------------------------------

def _customer(client, name, billing_email=None):
    body = {"name": f"{name} {uuid.uuid4().hex[:6]}"}
    if billing_email:
        body["billing_email"] = billing_email
    response = client.post("/api/crm/customers", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _contact(client, email, customer_id=None):
    body = {"first_name": "P", "last_name": email.split("@")[0], "email": email}
    if customer_id:
        body["customer_id"] = customer_id
    response = client.post("/api/crm/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _message(sender, recipients, direction="inbound"):
    return {"message_id": f"<{uuid.uuid4().hex}@mail.test>", "direction": direction, "sender": sender,
            "recipients": recipients, "subject": "Hello", "body": "Hi there", "occurred_at": "2026-11-20T10:00:00Z"}


def test_cases_end_to_end(app, admin_client, tenant):
    acme = _customer(admin_client, "Acme", billing_email="ap@acme-e2e.test")
    beta = _customer(admin_client, "Beta", billing_email="shared@billing-e2e.test")
    gamma = _customer(admin_client, "Gamma", billing_email="SHARED@billing-e2e.test ")
    ann = _contact(admin_client, "Ann@Acme-e2e.test", acme)
    _contact(admin_client, "bob@beta-e2e.test", beta)
    _contact(admin_client, "loner@nowhere-e2e.test")

    table = [
        (_message("Ann Lee <ANN@acme-e2e.test>", ["me@us.test"]), "linked", acme, ann),
        (_message("me@us.test", ["ann@acme-e2e.test"], "outbound"), "linked", acme, ann),
        (_message("ap@acme-e2e.test", ["me@us.test"]), "linked", acme, None),
        (_message("me@us.test", ["ann@acme-e2e.test", "bob@beta-e2e.test"], "outbound"), "review", None, None),
        (_message("shared@billing-e2e.test", ["me@us.test"]), "review", None, None),
        (_message("loner@nowhere-e2e.test", ["me@us.test"]), "review", None, None),
        (_message("stranger@else-e2e.test", ["ann@acme-e2e.test"]), "review", None, None),  # inbound: sender only
    ]
    with app.app_context():
        for message, status, customer_id, contact_id in table:
            result = capture.ingest(tenant.id, message)
            assert result["status"] == status, (message, result)
            if status == "linked":
                entry = result["communication"]
                assert (entry["customer_id"], entry["contact_id"]) == (customer_id, contact_id)
                assert entry["provenance"]["linkage_basis"] == "email_match"
            else:
                assert result["review_id"]
    queue = admin_client.get("/api/crm/captures/review").get_json()
    assert len(queue) == 4
    by_sender = {item["sender"]: item for item in queue}
    assert {c["customer_id"] for c in by_sender["shared@billing-e2e.test"]["candidates"]} == {beta, gamma}
    assert by_sender["stranger@else-e2e.test"]["reason"] == "no_match"
    assert by_sender["loner@nowhere-e2e.test"]["reason"] == "contact_without_customer"
