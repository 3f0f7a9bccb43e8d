"""Junk input never gets a 500: every CRM route (found in ``app.url_map``, so new ones are
covered too) is called with real ids of the tenant and a range of malformed bodies."""
import re

import pytest

from tests.test_access import crm_rules

JSON_BODIES = [
    None, [], "text", 12, {}, {"id": "x"},
    {"first_name": {"nested": 1}, "last_name": [1], "email": 10**30, "type": None, "owner_id": "1; DROP"},
    {"title": "=HYPERLINK(\"x\")", "value_cents": 1e400 if False else 10**40, "currency": "XXXX", "stage": ["LEAD"],
     "expected_close_date": "31/12/2026", "version": "abc"},
    {"ids": "1,2", "action": "explode", "owner_id": -1, "stage": None},
    {"ids": [None, "a", 2**70], "action": "reassign", "owner_id": 2**70},
    {"name": "\x00", "health_score": "high", "lifecycle_stage": 7, "reason": ["why"], "outcome": "maybe"},
    {"body": "x" * 200_000, "subject": "<script>alert(1)</script>", "due_date": "tomorrow", "type": "fax"},
]
FORM_BODIES = [
    {}, {"first_name": "\x00", "last_name": "x" * 5000, "email": "not-an-email", "owner_id": "abc"},
    {"title": "x", "value": "1e999", "currency": "??", "stage": "NOPE", "version": "-1", "ids": "x"},
    {"ids": ["1", "abc", str(2**70)], "action": "delete", "stage": "", "reason": ""},
]


@pytest.fixture
def records(admin_client, crm_scope, tenant):
    """One record of each kind, so routes with ids reach their real code paths."""
    contact = admin_client.post("/api/crm/contacts", json={
        "first_name": "Jane", "last_name": "Smith", "company": "Acme Robust"}).get_json()
    deal = admin_client.post("/api/crm/deals", json={
        "title": "Deal", "value_cents": 100, "contact_id": contact["id"]}).get_json()
    activity = admin_client.post(f"/api/crm/contacts/{contact['id']}/activities", json={
        "type": "call", "subject": "Call"}).get_json()
    upload = admin_client.post(f"/api/crm/contacts/{contact['id']}/attachments",
                               data={"file": (__import__("io").BytesIO(b"hello"), "a.txt")},
                               content_type="multipart/form-data").get_json()
    review = admin_client.post("/api/crm/communications/capture", json={
        "message_id": "<robust-review@x>", "direction": "inbound", "sender": "stranger@robust.test",
        "recipients": ["me@us.test"], "occurred_at": "2026-11-01T10:00:00"}).get_json()
    admin_client.patch(f"/api/crm/contacts/{contact['id']}", json={"email": "jane@robust.test"})
    linked = admin_client.post("/api/crm/communications/capture", json={
        "message_id": "<robust-linked@x>", "direction": "inbound", "sender": "jane@robust.test",
        "recipients": ["me@us.test"], "occurred_at": "2026-11-01T10:00:00"}).get_json()["communication"]
    webhook = admin_client.post("/api/crm/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                           "events": ["deal_won"]}).get_json()
    return {"review_id": review["review_id"], "conversation_id": linked["conversation_id"],
            "webhook_id": webhook["id"],
            "communication_id": linked["id"],
            "contact_id": contact["id"], "deal_id": deal["id"], "customer_id": contact["customer_id"],
            "activity_id": activity["id"], "attachment_id": upload["id"], "key": "LEAD", "token": "x" * 32}


def url_for_rule(rule, records) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(records.get(arg, "crm.css")), url)
    return url


def test_records_fixture_created_everything(records):
    assert all(records.values())


def test_no_route_answers_junk_with_a_500(app, admin_client, records):
    failures = []

    def attempt(url, method, body, **kwargs):
        try:
            status = admin_client.open(url, method=method, **kwargs).status_code
        except Exception as exc:  # TESTING propagates what would be a 500
            status = f"{type(exc).__name__}: {exc}"[:160]
        if not isinstance(status, int) or status >= 500:
            failures.append((method, url, repr(body)[:80], status))

    for rule, method in crm_rules(app):
        url = url_for_rule(rule, records)
        if method in ("GET", "DELETE"):
            attempt(url, method, None)
        elif rule.endpoint.startswith("crm_api."):
            for body in JSON_BODIES:
                attempt(url, method, body, json=body)
            attempt(url, method, "{not json", data=b"{not json", content_type="application/json")
        else:
            for body in FORM_BODIES:
                attempt(url, method, body, data=body)
    assert failures == []
