"""The set-based batch path of ``kw_crm.capture``: a fixed number of statements whatever the batch
size, answers built from the written rows equal to what reading them back gives, thread counts and
``last_contacted_at`` right, and a capture that loses a race on its message id to a concurrent
one answering the stored result without counting twice."""
from kw_crm import capture
from kw_crm.services.communications import communications_by_id
from kw_crm.tenancy import tenant_scope
from tests.support.comms import address, contact, customer, message


def test_answers_are_what_reading_the_rows_back_gives(app, admin_client, tenant):
    cid = customer(admin_client)
    email = address("r")
    pid = contact(admin_client, email, cid)
    with app.app_context():
        results = capture.ingest_many(tenant.id, [
            message(email, thread_id="<t1@x>", subject="One", body="<html><p>Hi &amp; bye</p></html>"),
            message(email, thread_id="<t1@x>", subject="Two", occurred_at="2026-11-21T09:00:00+02:00"),
            message("me@us.test", recipients=[email, "other@else.test"], direction="outbound", capture_mode="bcc")])
        with tenant_scope(tenant.id):
            stored = communications_by_id([r["communication"]["id"] for r in results])
    assert [r["communication"] for r in results] == [stored[r["communication"]["id"]] for r in results]
    first, second, third = (r["communication"] for r in results)
    assert first["summary"] == "Hi & bye" and first["contact_id"] == pid
    assert first["conversation_id"] == second["conversation_id"] != third["conversation_id"]
    threads = admin_client.get(f"/api/crm/customers/{cid}/conversations").get_json()
    assert sorted(t["message_count"] for t in threads) == [1, 2]
    assert admin_client.get(f"/api/crm/customers/{cid}").get_json()["last_contacted_at"].startswith("2026-11-21T07:00")


def test_the_batch_costs_the_same_statements_for_ten_and_two_hundred(app, admin_client, tenant, count_queries):
    cids = [customer(admin_client, f"C{i}") for i in range(3)]
    emails = [address(f"e{i}") for i in range(3)]
    for cid, email in zip(cids, emails, strict=True):
        contact(admin_client, email, cid)

    def batch(n):
        return [message(emails[i % 3] if i % 4 else address("unknown"), thread_id=f"<t{i % 7}@x>") for i in range(n)]

    with app.app_context():
        capture.ingest_many(tenant.id, batch(5))  # warm
        with count_queries() as small:
            capture.ingest_many(tenant.id, batch(10))
        with count_queries() as large:
            results = capture.ingest_many(tenant.id, batch(200))
    assert {r["status"] for r in results} == {"linked", "review"}
    assert len(large) == len(small), (len(small), len(large))


def test_last_contacted_only_moves_forward(app, admin_client, tenant):
    cid = customer(admin_client)
    email = address("l")
    contact(admin_client, email, cid)
    with app.app_context():
        capture.ingest_many(tenant.id, [message(email, occurred_at="2026-11-22T08:00:00Z")])
        capture.ingest_many(tenant.id, [message(email, occurred_at="2026-01-01T08:00:00Z"),
                                        message(email, occurred_at="2026-11-01T08:00:00Z")])
    assert admin_client.get(f"/api/crm/customers/{cid}").get_json()["last_contacted_at"].startswith("2026-11-22T08:00")


def test_losing_the_race_on_a_message_id_answers_the_stored_result_and_counts_once(app, admin_client, tenant,
                                                                                   monkeypatch):
    cid = customer(admin_client)
    email = address("race")
    contact(admin_client, email, cid)
    body = message(email, thread_id="<race@x>")
    with app.app_context():
        first = capture.ingest(tenant.id, body)
        real = capture._stored_results
        calls = []

        def blind_first_look(message_ids):
            """The other capture commits between this one's look-up and its INSERT."""
            calls.append(message_ids)
            return {} if len(calls) == 1 else real(message_ids)

        monkeypatch.setattr(capture, "_stored_results", blind_first_look)
        late = capture.ingest_many(tenant.id, [body, message(email, thread_id="<race@x>")])
    assert late[0] == dict(first, duplicate=True)
    assert late[1]["status"] == "linked" and late[1]["duplicate"] is False
    thread = admin_client.get(f"/api/crm/customers/{cid}/conversations").get_json()
    assert [(t["thread_id"], t["message_count"]) for t in thread] == [("<race@x>", 2)]
    assert len(admin_client.get(f"/api/crm/customers/{cid}/communications").get_json()) == 2
