"""Helpers for communication and capture tests: customers, contacts and messages through the API."""
import uuid


def customer(client, name="Acme", **fields) -> int:
    response = client.post("/api/crm/customers", json={"name": f"{name} {uuid.uuid4().hex[:6]}", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def contact(client, email=None, customer_id=None, first="Pat", last=None, **fields) -> int:
    body = {"first_name": first, "last_name": last or f"L{uuid.uuid4().hex[:6]}", **fields}
    if email:
        body["email"] = email
    if customer_id:
        body["customer_id"] = customer_id
    response = client.post("/api/crm/contacts", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def message(sender, recipients=("me@us.test",), direction="inbound", **fields) -> dict:
    return {"message_id": f"<{uuid.uuid4().hex}@mail.test>", "direction": direction, "sender": sender,
            "recipients": list(recipients), "subject": "Hello", "body": "Hi there",
            "occurred_at": "2026-11-20T10:00:00Z", **fields}


def address(prefix="p") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example-{uuid.uuid4().hex[:4]}.test"
