"""POST /communications/capture and kw_crm.capture.ingest: idempotency, provenance, bounded and
HTML bodies, bad input, tenancy."""
import pytest

from kw_crm import capture
from kw_crm.errors import Invalid
from kw_crm.models import Communication
from tests.support.comms import address, contact, customer, message


@pytest.fixture
def linked_setup(admin_client):
    cid = customer(admin_client)
    email = address("ann")
    pid = contact(admin_client, email, cid)
    return cid, pid, email


def test_capture_links_with_provenance_and_shows_on_customer_and_contact(admin_client, linked_setup):
    cid, pid, email = linked_setup
    body = message(email, thread_id="<thread-1@mail.test>", capture_mode="bcc", subject="Renewal")
    response = admin_client.post("/api/crm/communications/capture", json=body)
    assert response.status_code == 201
    result = response.get_json()
    assert result["status"] == "linked"
    entry = result["communication"]
    assert (entry["customer_id"], entry["contact_id"], entry["source"]) == (cid, pid, "captured")
    assert entry["provenance"] == {
        "capture_source": "api", "capture_mode": "bcc", "message_id": body["message_id"],
        "thread_id": "<thread-1@mail.test>", "linkage_basis": "email_match", "matched_address": email,
        "sender": email, "recipients": ["me@us.test"], "body_truncated": False, "reviewed_by": None,
        "reviewed_by_name": None, "reviewed_at": None}
    assert entry["occurred_at"] == "2026-11-20T10:00:00Z"  # UTC, said so

    log = admin_client.get(f"/api/crm/customers/{cid}/communications").get_json()
    assert [e["id"] for e in log] == [entry["id"]] and log[0]["summary"] == "Hi there"
    timeline = admin_client.get(f"/api/crm/contacts/{pid}/timeline").get_json()
    assert [(e["kind"], e["id"]) for e in timeline] == [("communication", entry["id"])]
    assert timeline[0]["provenance"]["linkage_basis"] == "email_match"
    assert admin_client.get(f"/api/crm/customers/{cid}").get_json()["last_contacted_at"].startswith("2026-11-20T10:00")
    assert admin_client.get(f"/api/crm/communications/{entry['id']}").get_json()["subject"] == "Renewal"


def test_the_same_message_id_answers_the_first_result_and_stores_nothing(app, admin_client, crm_scope, tenant,
                                                                        linked_setup):
    _, _, email = linked_setup
    body = message(email)
    first = admin_client.post("/api/crm/communications/capture", json=body)
    again = admin_client.post("/api/crm/communications/capture", json=dict(body, subject="Changed"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    unknown = message(address("nobody"))
    queued = admin_client.post("/api/crm/communications/capture", json=unknown)
    queued_again = admin_client.post("/api/crm/communications/capture", json=unknown)
    assert queued.status_code == 201 and queued.get_json()["status"] == "review"
    assert queued_again.status_code == 200 and queued_again.get_json() == queued.get_json()
    with crm_scope(tenant) as session:
        assert session.query(Communication).filter(Communication.message_id.in_(
            [body["message_id"], unknown["message_id"]])).count() == 2


def test_a_message_id_reused_in_another_tenant_is_another_message(app, admin_client, other_admin_client, tenant,
                                                                  other_tenant):
    body = message(address("x"), thread_id="<same-thread@mail.test>")
    assert admin_client.post("/api/crm/communications/capture", json=body).status_code == 201
    assert other_admin_client.post("/api/crm/communications/capture", json=body).status_code == 201
    mine = admin_client.get("/api/crm/captures/review").get_json()
    theirs = other_admin_client.get("/api/crm/captures/review").get_json()
    assert len(mine) == len(theirs) == 1 and mine[0]["id"] != theirs[0]["id"]
    assert other_admin_client.post(f"/api/crm/captures/{mine[0]['id']}/resolve",
                                   json={"customer_id": 1}).status_code == 404


def test_batch_ingest_is_idempotent_within_and_across_batches(app, admin_client, tenant, linked_setup):
    _, _, email = linked_setup
    a, b = message(email), message(address("z"))
    with app.app_context():
        results = capture.ingest_many(tenant.id, [a, b, a, {"message_id": "x"}])
        assert [r["status"] for r in results] == ["linked", "review", "linked", "rejected"]
        assert [r.get("duplicate") for r in results[:3]] == [False, False, True]
        assert results[2]["communication"]["id"] == results[0]["communication"]["id"]
        assert set(results[3]["errors"]) >= {"direction", "sender", "recipients", "occurred_at"}
        again = capture.ingest_many(tenant.id, [b, a])
        assert [r["duplicate"] for r in again] == [True, True]
        assert again[0]["review_id"] == results[1]["review_id"]


@pytest.mark.parametrize(("change", "field"), [
    ({"sender": None}, "sender"), ({"sender": ""}, "sender"), ({"sender": "not an address"}, "sender"),
    ({"message_id": ""}, "message_id"), ({"message_id": None}, "message_id"), ({"direction": "sideways"}, "direction"),
    ({"occurred_at": "yesterday"}, "occurred_at"), ({"recipients": "a@b.test"}, "recipients"),
    ({"recipients": [], "direction": "outbound"}, "recipients"), ({"channel": "pigeon"}, "channel"),
    ({"message_id": "x" * 300}, "message_id"), ({"capture_mode": "telepathy"}, "capture_mode"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_captures_are_422_naming_the_field(admin_client, change, field):
    body = message(address("q"))
    body.update(change)
    if change.get("sender") is None and "sender" in change:
        del body["sender"]
    if "message_id" in change and change["message_id"] is None:
        del body["message_id"]
    response = admin_client.post("/api/crm/communications/capture", json=body)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]


def test_ten_megabytes_of_body_is_413_over_http_and_cut_in_python(app, admin_client, tenant):
    huge = message(address("big"), body="x" * (10 * 1024 * 1024))
    response = admin_client.post("/api/crm/communications/capture", json=huge)
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "too_large"
    assert admin_client.get("/api/crm/captures/review").get_json() == []
    with app.app_context():
        result = capture.ingest(tenant.id, huge)
    item = admin_client.get("/api/crm/captures/review").get_json()[0]
    assert item["id"] == result["review_id"] and len(item["preview"]) <= 241


def test_a_long_body_is_stored_bounded_and_flagged(app, admin_client, linked_setup):
    _, _, email = linked_setup
    body = "word " * 40_000  # 200,000 characters: within the request limit, beyond the stored bound
    entry = admin_client.post("/api/crm/communications/capture", json=message(email, body=body)).get_json()
    stored = admin_client.get(f"/api/crm/communications/{entry['communication']['id']}").get_json()
    assert len(stored["summary"]) == 100_000 and stored["provenance"]["body_truncated"] is True
    assert stored["preview"].endswith("…") and len(stored["preview"]) <= 241


def test_html_mail_is_stored_as_text(admin_client, linked_setup):
    _, _, email = linked_setup
    markup = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
              "<p>Dear&nbsp;Ann,</p><p>Price: 5 &lt; 7 &amp; <b>bold</b></p><div>Bye</div></body></html>")
    entry = admin_client.post("/api/crm/communications/capture",
                              json=message(email, body=markup, content_type="text/html")).get_json()["communication"]
    stored = admin_client.get(f"/api/crm/communications/{entry['id']}").get_json()["summary"]
    assert stored == "Dear Ann,\n\nPrice: 5 < 7 & bold\n\nBye"


def test_nul_and_control_characters_are_cleaned_not_stored(app, admin_client, tenant, linked_setup):
    _, _, email = linked_setup
    over_http = admin_client.post("/api/crm/communications/capture", json=message(email, subject="Hi\x00 there"))
    assert over_http.status_code == 201 and over_http.get_json()["communication"]["subject"] == "Hi there"
    with app.app_context():
        result = capture.ingest(tenant.id, message(email, subject="Hi\x00 there\u202e", body="a\x00b\x07c"))
    entry = result["communication"]
    assert entry["subject"] == "Hi there" and entry["preview"] == "abc"


def test_python_entry_refuses_bad_input_and_a_foreign_bound_tenant(app, tenant, other_tenant, crm_scope):
    with app.app_context(), pytest.raises(Invalid) as refused:
        capture.ingest(tenant.id, {"message_id": "m1", "direction": "inbound"})
    assert "sender" in refused.value.fields
    from kw_crm.tenancy import TenantNotBound

    with crm_scope(other_tenant), pytest.raises(TenantNotBound):
        capture.ingest(tenant.id, message(address("t")))


def test_archived_customer_match_waits_for_review(admin_client, linked_setup):
    cid, _, email = linked_setup
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "gone"}).status_code == 200
    result = admin_client.post("/api/crm/communications/capture", json=message(email)).get_json()
    assert result["status"] == "review"
    item = admin_client.get("/api/crm/captures/review").get_json()[0]
    assert item["reason"] == "customer_archived" and item["candidates"][0]["customer_id"] == cid
    refused = admin_client.post(f"/api/crm/captures/{item['id']}/resolve", json={"customer_id": cid})
    assert refused.status_code == 409 and "archived" in refused.get_json()["error"]["message"]
