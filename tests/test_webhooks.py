"""Webhooks end to end: a real HTTP receiver on 127.0.0.1 (a thread of this test) gets signed
JSON POSTs for the subscribed events, written in the causing transaction and delivered by the
job path; failures retry with backoff, repeated failures disable the endpoint with the reason;
the log shows every attempt and a delivery can be resent."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from host_stub.models import db
from kw_crm import jobs, signals
from kw_crm.models import Job, WebhookDelivery


class Receiver:
    """A webhook receiver: records each request; answers ``status`` after ``delay`` seconds
    (or after ``gate`` is set)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.gate: threading.Event | None = None
        self.received = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                receiver.received.set()
                if receiver.gate is not None:
                    receiver.gate.wait(10)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/crm?src=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.requests]

    def close(self):
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def free_port_url() -> str:
    """A 127.0.0.1 URL where nothing listens (connection refused at once)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody"


def add_endpoint(client, url, events=("*",), **extra) -> dict:
    response = client.post("/api/crm/webhooks", json={"url": url, "events": list(events), **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, endpoint_id) -> list[dict]:
    return client.get(f"/api/crm/webhooks/{endpoint_id}/deliveries").get_json()


def test_subscribed_events_arrive_signed_with_the_record(admin_client, receiver):
    endpoint = add_endpoint(admin_client, receiver.url, ["contact_created", "deal_stage_changed"],
                            secret="s3cret-of-sixteen-chars")
    assert endpoint["secret"] == "s3cret-of-sixteen-chars" and endpoint["active"] is True
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "Ada", "last_name": "Byron"}).get_json()
    deal = admin_client.post("/api/crm/deals", json={"title": "Engine", "contact_id": contact["id"]}).get_json()
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "PROPOSAL"})

    assert receiver.events() == ["contact_created", "deal_stage_changed"]  # deal_created: not subscribed
    first, moved = receiver.requests
    assert first["path"] == "/hooks/crm?src=test"
    expected = "sha256=" + hmac.new(b"s3cret-of-sixteen-chars", first["body"], hashlib.sha256).hexdigest()
    assert first["headers"]["X-KW-Signature"] == expected
    assert first["headers"]["Content-Type"] == "application/json"
    body = json.loads(first["body"])
    assert set(body) == {"id", "event", "occurred_at", "data"}
    assert body["data"]["record"]["id"] == contact["id"] and body["data"]["record"]["first_name"] == "Ada"
    assert first["headers"]["X-KW-Delivery"] == body["id"]
    stage = json.loads(moved["body"])["data"]
    assert (stage["old_stage"], stage["new_stage"], stage["record"]["stage"]) == ("LEAD", "PROPOSAL", "PROPOSAL")

    log = deliveries(admin_client, endpoint["id"])
    assert [d["event"] for d in log] == ["deal_stage_changed", "contact_created"]
    assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["response_status"] == 200 for d in log)


def test_a_tampered_body_fails_the_signature_check(admin_client, receiver):
    endpoint = add_endpoint(admin_client, receiver.url)
    admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"})
    request = receiver.requests[0]
    tampered = request["body"].replace(b'"A"', b'"Z"')
    key = endpoint["secret"].encode()
    good = "sha256=" + hmac.new(key, request["body"], hashlib.sha256).hexdigest()
    bad = "sha256=" + hmac.new(key, tampered, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["X-KW-Signature"], good)
    assert not hmac.compare_digest(request["headers"]["X-KW-Signature"], bad)
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in admin_client.get(f"/api/crm/webhooks/{endpoint['id']}").get_json()


def test_deliveries_are_written_in_the_causing_transaction(app, admin_client, receiver, crm_scope, tenant):
    """A rolled-back change leaves no delivery; a committed one leaves exactly one per endpoint."""
    add_endpoint(admin_client, receiver.url)
    add_endpoint(admin_client, receiver.url, ["contact_created"])
    from kw_crm.models import Contact

    with crm_scope(tenant) as session:
        contact = Contact(first_name="Roll", last_name="Back")
        session.add(contact)
        session.flush()
        signals.send_after_commit(session, signals.contact_created, contact)
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0
    admin_client.post("/api/crm/contacts", json={"first_name": "Kept", "last_name": "One"})
    with crm_scope(tenant) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 2
        assert session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.name == "webhook")) == 2
    assert receiver.events() == ["contact_created", "contact_created"]


def test_a_failing_receiver_is_retried_with_backoff_then_disabled(app, admin_client, receiver, crm_scope, tenant):
    receiver.status = 500
    endpoint = add_endpoint(admin_client, receiver.url, ["contact_created"])
    app.config["CRM_WEBHOOK_DISABLE_AFTER"] = 3
    try:
        admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "One"})
        delivery = deliveries(admin_client, endpoint["id"])[0]
        assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("pending", 1, 500)
        assert delivery["last_error"].startswith("HTTP 500")
        with crm_scope(tenant) as session:
            job = session.scalar(sa.select(Job).where(Job.name == "webhook"))
            assert job.status == "pending" and job.run_at > job.created_at  # waits for its backoff
            job.run_at = job.created_at
            session.commit()
        with app.app_context():
            jobs.run_due(tenant_id=tenant.id)
        assert len(receiver.requests) == 2
        admin_client.post("/api/crm/contacts", json={"first_name": "B", "last_name": "Two"})  # third failure
        state = admin_client.get(f"/api/crm/webhooks/{endpoint['id']}").get_json()
        assert state["active"] is False and state["consecutive_failures"] == 3
        assert "3 failed delivery attempts in a row" in state["disabled_reason"]
        assert "HTTP 500" in state["disabled_reason"]
        assert [d["status"] for d in deliveries(admin_client, endpoint["id"])] == ["failed", "failed"]
        # a disabled endpoint gets no new deliveries
        admin_client.post("/api/crm/contacts", json={"first_name": "C", "last_name": "Three"})
        assert len(deliveries(admin_client, endpoint["id"])) == 2 and len(receiver.requests) == 3
        # re-enabled, a resend goes out and succeeds
        receiver.status = 204
        assert admin_client.patch(f"/api/crm/webhooks/{endpoint['id']}", json={"active": True}).status_code == 200
        failed = deliveries(admin_client, endpoint["id"])[-1]
        resent = admin_client.post(f"/api/crm/webhooks/{endpoint['id']}/deliveries/{failed['id']}/resend")
        assert resent.status_code == 202
        again = {d["id"]: d for d in deliveries(admin_client, endpoint["id"])}[failed["id"]]
        assert again["status"] == "delivered" and again["attempts"] == 3 and again["response_status"] == 204
        assert json.loads(receiver.requests[-1]["body"])["id"] == failed["event_id"]
    finally:
        app.config["CRM_WEBHOOK_DISABLE_AFTER"] = 20


def test_unreachable_and_timing_out_receivers_are_logged_failures(app, admin_client, receiver):
    refused = add_endpoint(admin_client, free_port_url(), ["contact_created"])
    slow = add_endpoint(admin_client, receiver.url, ["contact_created"])
    receiver.gate = threading.Event()  # answers only when released: longer than the timeout
    app.config["CRM_WEBHOOK_TIMEOUT"] = 0.5
    try:
        assert admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"}).status_code == 201
    finally:
        app.config["CRM_WEBHOOK_TIMEOUT"] = 10
        receiver.gate.set()
    refused_log = deliveries(admin_client, refused["id"])[0]
    assert refused_log["status"] == "pending" and "ConnectionRefused" in refused_log["last_error"]
    slow_log = deliveries(admin_client, slow["id"])[0]
    assert slow_log["status"] == "pending" and "timed out" in slow_log["last_error"]


def test_a_slow_receiver_never_blocks_the_request(app, admin_client, receiver):
    """With the default thread runner the request returns while the receiver still holds the
    POST (the receiver waits for the test to let it answer)."""
    endpoint = add_endpoint(admin_client, receiver.url, ["contact_created"])
    receiver.gate = threading.Event()
    app.config["CRM_JOB_RUNNER"] = "thread"
    try:
        response = admin_client.post("/api/crm/contacts", json={"first_name": "Fast", "last_name": "Answer"})
        assert response.status_code == 201
        assert not receiver.gate.is_set()  # the receiver has not been allowed to answer yet
        assert receiver.received.wait(10)  # ... and the POST did arrive, from the runner thread
    finally:
        app.config["CRM_JOB_RUNNER"] = "inline"
        receiver.gate.set()
    for _ in range(100):
        if deliveries(admin_client, endpoint["id"])[0]["status"] == "delivered":
            break
        threading.Event().wait(0.05)
    assert deliveries(admin_client, endpoint["id"])[0]["status"] == "delivered"


@pytest.mark.parametrize("url, message", [
    ("ftp://127.0.0.1/x", "http:// or https://"), ("file:///etc/passwd", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"), ("http://", "needs a host"), ("not a url", "without spaces"),
    ("http://user:pw@127.0.0.1/", "credentials"), ("http://10.0.0.8/hook", "CRM_WEBHOOK_ALLOWED_NETWORKS"),
    ("http://169.254.169.254/latest/meta-data", "CRM_WEBHOOK_ALLOWED_NETWORKS"),
    ("http://example.com/hook", "CRM_WEBHOOK_ALLOWED_NETWORKS"), ("http://127.0.0.1:99999/", "Not a valid URL"),
    ("http://" + "a" * 2000 + ".test/", "2000")])
def test_bad_urls_are_422(admin_client, url, message):
    response = admin_client.post("/api/crm/webhooks", json={"url": url, "events": ["*"]})
    assert response.status_code == 422, url
    assert message in " ".join(response.get_json()["error"]["fields"]["url"])


def test_non_public_addresses_are_refused_unless_allowed(app):
    from kw_crm.services import webhooks

    with app.app_context():
        app.config.update(CRM_WEBHOOK_PUBLIC_ADDRESSES=True, CRM_WEBHOOK_ALLOWED_NETWORKS=[])
        try:
            assert "not a public address" in webhooks.address_refusal("127.0.0.1")
            assert "not a public address" in webhooks.address_refusal("10.1.2.3")
            assert "not a public address" in webhooks.address_refusal("169.254.169.254")
            assert "not a public address" in webhooks.address_refusal("::1")
            assert webhooks.address_refusal("93.184.216.34") is None
            app.config["CRM_WEBHOOK_ALLOWED_NETWORKS"] = ["10.1.2.0/24"]
            assert webhooks.address_refusal("10.1.2.3") is None
        finally:
            app.config.update(CRM_WEBHOOK_PUBLIC_ADDRESSES=False, CRM_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"])


def test_bad_events_secret_and_fields_are_422(admin_client, receiver):
    for body, field in (({"url": receiver.url, "events": []}, "events"),
                        ({"url": receiver.url, "events": ["deal_exploded"]}, "events"),
                        ({"url": receiver.url, "events": "deal_won"}, "events"),
                        ({"url": receiver.url, "events": ["*"], "secret": "short"}, "secret"),
                        ({"url": receiver.url, "events": ["*"], "retries": 3}, "retries"),
                        ({"events": ["*"]}, "url")):
        response = admin_client.post("/api/crm/webhooks", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["error"]["fields"], body


def test_event_list_follows_the_signal_namespace(admin_client):
    names = admin_client.get("/api/crm/webhooks/events").get_json()
    assert names[0] == "*"
    assert {"contact_created", "deal_won", "customer_lifecycle_changed", "contacts_imported"} <= set(names)
    assert set(names[1:]) == set(signals.event_names())


def test_webhooks_are_tenant_scoped(admin_client, other_admin_client, receiver):
    mine = add_endpoint(admin_client, receiver.url, ["contact_created"])
    assert other_admin_client.get(f"/api/crm/webhooks/{mine['id']}").status_code == 404
    assert other_admin_client.delete(f"/api/crm/webhooks/{mine['id']}").status_code == 404
    assert other_admin_client.get(f"/api/crm/webhooks/{mine['id']}/deliveries").status_code == 404
    other_admin_client.post("/api/crm/contacts", json={"first_name": "Their", "last_name": "Contact"})
    assert receiver.requests == []


def test_ping_and_delete(admin_client, receiver, app, crm_scope, tenant):
    endpoint = add_endpoint(admin_client, receiver.url, ["deal_won"])
    assert admin_client.post(f"/api/crm/webhooks/{endpoint['id']}/ping").status_code == 202
    assert receiver.events() == ["ping"]
    assert admin_client.delete(f"/api/crm/webhooks/{endpoint['id']}").status_code == 204
    assert admin_client.get(f"/api/crm/webhooks/{endpoint['id']}").status_code == 404
    with crm_scope(tenant) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0


def test_a_new_signal_becomes_an_event_without_webhook_code(app, admin_client, receiver, crm_scope, tenant):
    """Signals other issues add later are deliverable at once: the namespace is the list."""
    extra = signals.crm_signals.signal("thing-happened")
    try:
        endpoint = add_endpoint(admin_client, receiver.url, ["thing_happened"])
        with crm_scope(tenant) as session:
            contact_id = admin_client.post("/api/crm/contacts", json={"first_name": "X", "last_name": "Y"}).get_json()["id"]
            from kw_crm.models import Contact

            contact = session.get(Contact, contact_id)
            signals.send_after_commit(session, extra, contact, detail="something")
            from kw_crm.db import commit

            commit()
        body = json.loads(receiver.requests[-1]["body"])
        assert body["event"] == "thing_happened" and body["data"]["detail"] == "something"
        assert body["data"]["object"] == "contact" and body["data"]["record"]["id"] == contact_id
        assert deliveries(admin_client, endpoint["id"])[0]["status"] == "delivered"
    finally:
        del signals.crm_signals["thing-happened"]


def test_the_delivery_log_keeps_the_exact_signed_body(app, admin_client, receiver, crm_scope, tenant):
    add_endpoint(admin_client, receiver.url, ["contact_created"])
    admin_client.post("/api/crm/contacts", json={"first_name": "Ünïcode", "last_name": "名前"})
    with app.app_context():
        stored = db.session.execute(sa.text("SELECT body FROM crm_webhook_deliveries ORDER BY id DESC")).scalar()
    assert stored.encode() == receiver.requests[0]["body"]
    assert json.loads(stored)["data"]["record"]["last_name"] == "名前"
