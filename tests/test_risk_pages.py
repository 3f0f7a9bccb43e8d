"""The Risk & Health tab, the resolve form, the workspace's communications and conversations,
and communications on the contact page."""
import re

from tests.support.comms import address, contact, customer, message


def _waiting(client):
    shared = address("billing")
    first = customer(client, "First", billing_email=shared)
    second = customer(client, "Second", billing_email=shared)
    review_id = client.post("/api/crm/communications/capture",
                            json=message(shared, subject="Where is my invoice?")).get_json()["review_id"]
    return first, second, review_id


def test_risk_tab_is_in_the_crm_navigation_and_lists_all_three(admin_client):
    first, second, review_id = _waiting(admin_client)
    admin_client.patch(f"/api/crm/customers/{first}", json={"health_score": 12})
    page = admin_client.get("/crm/risk")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="/crm/risk"' in admin_client.get("/crm/").get_data(as_text=True)
    assert "Where is my invoice?" in html and f'data-review-id="{review_id}"' in html
    assert f'value="{first}:"' in html and f'value="{second}:"' in html  # both candidates offered
    assert re.search(r'<span class="health health-risk">12</span>', html)
    assert "billing emails share the domain" in html


def test_resolving_from_the_page_marks_operator_review_on_the_workspace(admin_client, admin):
    first, second, review_id = _waiting(admin_client)
    response = admin_client.post(f"/crm/captures/{review_id}/resolve", data={"candidate": f"{second}:"})
    assert response.status_code == 302
    assert "Where is my invoice?" not in admin_client.get("/crm/risk").get_data(as_text=True).split("Capture exceptions")[1]
    workspace = admin_client.get(f"/crm/customers/{second}").get_data(as_text=True)
    assert "Where is my invoice?" in workspace and "linked by operator review" in workspace and admin.name in workspace
    again = admin_client.post(f"/crm/captures/{review_id}/resolve", data={"candidate": f"{second}:"},
                              headers={"Referer": "http://localhost/crm/risk"})
    assert again.status_code == 302
    assert "resolved once" in admin_client.get("/crm/risk").get_data(as_text=True)


def test_resolve_form_refuses_junk_without_a_500(admin_client):
    _, _, review_id = _waiting(admin_client)
    for form in ({}, {"candidate": "abc:"}, {"candidate": "other", "other_customer_id": "x"},
                 {"candidate": "other", "other_customer_id": "2000000000"}, {"candidate": "1:2", "deal_id": "z"}):
        assert admin_client.post(f"/crm/captures/{review_id}/resolve", data=form).status_code == 302, form
    assert len(admin_client.get("/api/crm/captures/review").get_json()) == 1


def test_contact_page_shows_captured_mail_with_provenance(admin_client):
    cid = customer(admin_client)
    email = address("c")
    pid = contact(admin_client, email, cid)
    admin_client.post("/api/crm/communications/capture", json=message(email, subject="Contract draft", capture_mode="bcc"))
    html = admin_client.get(f"/crm/contacts/{pid}").get_data(as_text=True)
    assert "Contract draft" in html and "captured" in html and "via api (bcc)" in html
    assert f"linked by email match ({email})" in html


def test_conversation_actions_from_the_workspace(admin_client):
    cid = customer(admin_client)
    email = address("w")
    contact(admin_client, email, cid)
    admin_client.post("/api/crm/communications/capture", json=message(email, thread_id="<w@x>", subject="Thread"))
    conversation = admin_client.get(f"/api/crm/customers/{cid}/conversations").get_json()[0]
    assert f'data-conversation-id="{conversation["id"]}"' in admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    closed = admin_client.post(f"/crm/conversations/{conversation['id']}/status",
                               data={"status": "closed", "next": f"/crm/customers/{cid}"})
    assert closed.status_code == 302 and closed.headers["Location"].endswith(f"/crm/customers/{cid}")
    assert f'data-conversation-id="{conversation["id"]}"' not in admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert f'data-conversation-id="{conversation["id"]}"' in admin_client.get(
        f"/crm/customers/{cid}?conversations=closed").get_data(as_text=True)
    evil = admin_client.post(f"/crm/conversations/{conversation['id']}/status",
                             data={"status": "open", "next": "https://evil.test/"})
    assert evil.headers["Location"].endswith("/crm/risk")


def test_merge_from_the_risk_tab(admin_client):
    cid = customer(admin_client)
    keep = contact(admin_client, None, cid, first="Dana", last="Dup")
    drop = contact(admin_client, address("dd"), cid, first="dana", last="dup")
    assert f'action="/crm/contacts/{drop}/merge"' in admin_client.get("/crm/risk").get_data(as_text=True)
    response = admin_client.post(f"/crm/contacts/{drop}/merge", data={"into_id": str(keep)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/crm/contacts/{keep}")
    assert admin_client.get(f"/api/crm/contacts/{drop}").status_code == 404


def test_risk_page_is_constant_queries(admin_client, count_queries):
    _waiting(admin_client)
    with count_queries() as few:
        admin_client.get("/crm/risk")
    for _ in range(4):
        _waiting(admin_client)
    with count_queries() as more:
        admin_client.get("/crm/risk")
    assert len(more) == len(few)
