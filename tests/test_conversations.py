"""Threaded conversations per customer: grouping, counts, status filter and actions."""
from tests.support.comms import address, contact, customer, message


def _thread(client, email, thread, n, start_day=1):
    for day in range(start_day, start_day + n):
        response = client.post("/api/crm/communications/capture", json=message(
            email, thread_id=thread, subject=f"Re: {thread}", occurred_at=f"2026-11-{day:02d}T09:00:00"))
        assert response.get_json()["status"] == "linked"


def test_grouped_by_thread_with_counts_and_last_message(admin_client):
    cid = customer(admin_client)
    email = address("t")
    contact(admin_client, email, cid)
    _thread(admin_client, email, "<a@x>", 3)
    _thread(admin_client, email, "<b@x>", 1, start_day=10)
    lone = message(email, occurred_at="2026-11-05T12:00:00")
    admin_client.post("/api/crm/communications/capture", json=lone)
    rows = admin_client.get(f"/api/crm/customers/{cid}/conversations").get_json()
    # latest first; a message without a thread id is a thread of its own
    assert [(r["thread_id"], r["message_count"]) for r in rows] == [("<b@x>", 1), (lone["message_id"], 1), ("<a@x>", 3)]
    by_thread = {r["thread_id"]: r for r in rows}
    assert by_thread["<a@x>"]["message_count"] == 3
    assert by_thread["<a@x>"]["last_message_at"] == "2026-11-03T09:00:00Z"
    assert by_thread["<a@x>"]["subject"] == "Re: <a@x>" and by_thread["<a@x>"]["channel"] == "email"


def test_close_archive_filter_and_reopen_on_new_message(admin_client, crm_scope, tenant):
    cid = customer(admin_client)
    email = address("s")
    contact(admin_client, email, cid)
    _thread(admin_client, email, "<c@x>", 1)
    _thread(admin_client, email, "<d@x>", 1, start_day=2)
    rows = {r["thread_id"]: r for r in admin_client.get(f"/api/crm/customers/{cid}/conversations").get_json()}
    closed = admin_client.post(f"/api/crm/conversations/{rows['<c@x>']['id']}/status", json={"status": "closed"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "closed"
    admin_client.post(f"/api/crm/conversations/{rows['<d@x>']['id']}/status", json={"status": "archived"})
    listed = lambda status: [r["thread_id"] for r in admin_client.get(  # noqa: E731
        f"/api/crm/customers/{cid}/conversations?status={status}").get_json()]
    assert (listed("open"), listed("closed"), listed("archived")) == ([], ["<c@x>"], ["<d@x>"])
    _thread(admin_client, email, "<c@x>", 1, start_day=20)
    _thread(admin_client, email, "<d@x>", 1, start_day=21)
    assert listed("open") == ["<c@x>"] and listed("archived") == ["<d@x>"]
    assert admin_client.get(f"/api/crm/customers/{cid}/conversations?status=lost").status_code == 422
    assert admin_client.post(f"/api/crm/conversations/{rows['<c@x>']['id']}/status",
                             json={"status": "deleted"}).status_code == 422


def test_a_thread_id_reused_across_tenants_stays_apart(admin_client, other_admin_client):
    mine, theirs = customer(admin_client), customer(other_admin_client)
    my_email, their_email = address("m"), address("n")
    contact(admin_client, my_email, mine)
    contact(other_admin_client, their_email, theirs)
    _thread(admin_client, my_email, "<shared@x>", 2)
    _thread(other_admin_client, their_email, "<shared@x>", 1)
    assert admin_client.get(f"/api/crm/customers/{mine}/conversations").get_json()[0]["message_count"] == 2
    theirs_rows = other_admin_client.get(f"/api/crm/customers/{theirs}/conversations").get_json()
    assert theirs_rows[0]["message_count"] == 1
    assert admin_client.post(f"/api/crm/conversations/{theirs_rows[0]['id']}/status",
                             json={"status": "closed"}).status_code == 404
    assert admin_client.get(f"/api/crm/customers/{theirs}/conversations").status_code == 404
