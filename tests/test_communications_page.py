"""The Communications page: the tenant's log with provenance on every row, its filters and
pager, the capture review queue resolved from the page itself, a constant number of queries,
and nothing of another tenant."""
import re

from bs4 import BeautifulSoup

from kw_crm import capture
from tests.support.comms import address, contact, customer, message


def rows(html: str) -> list[int]:
    return [int(tr["data-communication-id"]) for tr in BeautifulSoup(html, "html.parser").select("tr[data-communication-id]")]


def _log(client, cid, subject, **fields) -> int:
    response = client.post(f"/api/crm/customers/{cid}/communications", json={"subject": subject, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_the_page_is_in_the_nav_and_shows_manual_and_captured_rows_with_provenance(admin_client, admin):
    cid = customer(admin_client, "Logco")
    email = address("ann")
    pid = contact(admin_client, email, cid, first="Ann", last="Lee")
    manual = _log(admin_client, cid, "Called about renewal", channel="phone")
    captured = admin_client.post("/api/crm/communications/capture",
                                 json=message(email, subject="Contract draft", capture_mode="bcc")).get_json()
    assert 'href="/crm/communications"' in admin_client.get("/crm/").get_data(as_text=True)
    page = admin_client.get("/crm/communications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert rows(html) == [manual, captured["communication"]["id"]]  # newest first: the capture is of 2026-11-20
    soup = BeautifulSoup(html, "html.parser")
    manual_row = soup.select_one(f'tr[data-communication-id="{manual}"]').get_text(" ", strip=True)
    captured_row = soup.select_one(f'tr[data-communication-id="{captured["communication"]["id"]}"]').get_text(" ", strip=True)
    assert "logged by hand" in manual_row and admin.name in manual_row and "Logco" in manual_row
    assert "captured" in captured_row and "via api (bcc)" in captured_row and f"from {email}" in captured_row
    assert f"linked by email match ({email})" in captured_row and "Ann Lee" in captured_row
    assert f'href="/crm/contacts/{pid}"' in str(soup.select_one(f'tr[data-communication-id="{captured["communication"]["id"]}"]'))


def test_filters_narrow_the_log_and_junk_filters_are_ignored(admin_client):
    first, second = customer(admin_client, "One"), customer(admin_client, "Two")
    email = address("f")
    contact(admin_client, email, first)
    call = _log(admin_client, first, "A call", channel="phone", direction="inbound")
    meeting = _log(admin_client, second, "A meeting", channel="meeting")
    mail = admin_client.post("/api/crm/communications/capture", json=message(email)).get_json()["communication"]["id"]
    assert set(rows(admin_client.get("/crm/communications").get_data(as_text=True))) == {call, meeting, mail}
    assert rows(admin_client.get("/crm/communications?channel=phone").get_data(as_text=True)) == [call]
    assert rows(admin_client.get("/crm/communications?direction=outbound").get_data(as_text=True)) == [meeting]
    assert rows(admin_client.get("/crm/communications?source=captured").get_data(as_text=True)) == [mail]
    assert set(rows(admin_client.get(f"/crm/communications?customer_id={first}").get_data(as_text=True))) == {call, mail}
    assert rows(admin_client.get(f"/crm/communications?customer_id={first}&source=manual").get_data(as_text=True)) == [call]
    assert admin_client.get("/crm/communications?source=%00").status_code == 422  # the app's guard on NUL
    for junk in ("channel=fax", "customer_id=abc", "customer_id=99999999999999", "direction=",
                 "page=99999999999", "queue_page=99999999999"):
        response = admin_client.get(f"/crm/communications?{junk}")
        assert response.status_code == 200, junk
    for bad_page in ("page=-3", "page=x", "queue_page=0"):  # the app's one page-number rule: 422, never a 500
        assert admin_client.get(f"/crm/communications?{bad_page}").status_code == 422, bad_page
    assert "No communication matches" in admin_client.get("/crm/communications?customer_id=2000000000").get_data(as_text=True)


def test_the_review_queue_is_on_the_page_and_resolves_back_to_it(admin_client, admin):
    shared = address("billing")
    customer(admin_client, "First", billing_email=shared)
    second = customer(admin_client, "Second", billing_email=shared)
    review_id = admin_client.post("/api/crm/communications/capture",
                                  json=message(shared, subject="Where is my invoice?")).get_json()["review_id"]
    html = admin_client.get("/crm/communications?channel=email").get_data(as_text=True)
    assert f'data-review-id="{review_id}"' in html and "Where is my invoice?" in html
    assert 'name="next" value="/crm/communications?channel=email"' in html
    response = admin_client.post(f"/crm/captures/{review_id}/resolve",
                                 data={"candidate": f"{second}:", "next": "/crm/communications?channel=email"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/crm/communications?channel=email")
    html = admin_client.get("/crm/communications?channel=email").get_data(as_text=True)
    assert f'data-review-id="{review_id}"' not in html and "No captured message is waiting" in html
    row = BeautifulSoup(html, "html.parser").select_one("tr[data-communication-id]").get_text(" ", strip=True)
    assert "Where is my invoice?" in row and "linked by operator review" in row and admin.name in row
    again = admin_client.post(f"/crm/captures/{review_id}/resolve", data={"candidate": f"{second}:"},
                              headers={"Referer": "http://localhost/crm/communications"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/crm/communications")
    assert "resolved once" in admin_client.get("/crm/communications").get_data(as_text=True)
    evil = admin_client.post(f"/crm/captures/{review_id}/dismiss", data={"next": "//evil.test/"})
    assert evil.headers["Location"].endswith("/crm/risk") or "evil" not in evil.headers["Location"]


def test_the_page_costs_the_same_queries_for_few_and_many_rows(app, admin_client, tenant, count_queries):
    cid = customer(admin_client)
    email = address("q")
    contact(admin_client, email, cid)

    def capture_some(n, unknown):
        with app.app_context():
            capture.ingest_many(tenant.id, [message(email) for _ in range(n)] +
                                [message(address("nobody")) for _ in range(unknown)])

    capture_some(2, 1)
    _log(admin_client, cid, "by hand")
    admin_client.get("/crm/communications")  # warm
    with count_queries() as few:
        assert admin_client.get("/crm/communications").status_code == 200
    capture_some(60, 25)
    with count_queries() as many:
        html = admin_client.get("/crm/communications").get_data(as_text=True)
    assert len(rows(html)) == 50 and len(re.findall(r'data-review-id="', html)) == 20
    assert len(many) == len(few), (len(few), len(many))
    with count_queries() as filtered:
        admin_client.get(f"/crm/communications?customer_id={cid}&channel=email&page=2&queue_page=2")
    assert len(filtered) <= len(few) + 1  # the filtered customer's name


def test_pages_of_the_log_and_of_the_queue_page_separately(app, admin_client, tenant):
    cid = customer(admin_client)
    email = address("p")
    contact(admin_client, email, cid)
    with app.app_context():
        capture.ingest_many(tenant.id, [message(email, occurred_at=f"2026-11-20T10:{i:02d}:00Z") for i in range(55)] +
                            [message(address("x")) for _ in range(21)])
    first = admin_client.get("/crm/communications?source=captured").get_data(as_text=True)
    assert 'href="/crm/communications?source=captured&amp;page=2"' in first or \
        'href="/crm/communications?page=2&amp;source=captured"' in first
    second = admin_client.get("/crm/communications?source=captured&page=2").get_data(as_text=True)
    assert len(rows(first)) == 50 and len(rows(second)) == 5 and not set(rows(first)) & set(rows(second))
    queue_two = admin_client.get("/crm/communications?queue_page=2").get_data(as_text=True)
    assert len(re.findall(r'data-review-id="', queue_two)) == 1 and len(rows(queue_two)) == 50
    # the same partial pages Risk & Health's queue by its own page argument
    assert 'href="/crm/risk?page=2"' in admin_client.get("/crm/risk").get_data(as_text=True)
    assert admin_client.get("/crm/risk?page=2").get_data(as_text=True).count('data-review-id="') == 1


def test_another_tenants_communications_and_captures_never_show(admin_client, other_admin_client):
    cid = customer(admin_client)
    _log(admin_client, cid, "Ours only")
    admin_client.post("/api/crm/communications/capture", json=message(address("z"), subject="Our waiting mail"))
    html = other_admin_client.get("/crm/communications").get_data(as_text=True)
    assert "Ours only" not in html and "Our waiting mail" not in html and rows(html) == []
    assert "No communications yet" in html
    assert rows(other_admin_client.get(f"/crm/communications?customer_id={cid}").get_data(as_text=True)) == []
