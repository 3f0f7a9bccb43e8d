"""/crm/settings/webhooks and an endpoint's delivery log: add (secret shown), deliveries listed
with their answers, resend, test ping, pause / enable with the reason shown, delete."""
import re

import pytest

from tests.test_webhooks import Receiver, free_port_url


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_add_an_endpoint_see_its_deliveries_and_resend(admin_client, receiver):
    page = admin_client.get("/crm/settings/webhooks")
    assert page.status_code == 200 and "deal_won" in page.get_data(as_text=True)
    created = admin_client.post("/crm/settings/webhooks", data={
        "url": receiver.url, "events": ["contact_created", "deal_won"], "description": "ERP sync"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and re.search(r'value="whsec_[^"]+"', html)
    endpoint = admin_client.get("/api/crm/webhooks").get_json()[0]
    assert endpoint["events"] == ["contact_created", "deal_won"] and endpoint["description"] == "ERP sync"

    admin_client.post("/api/crm/contacts", json={"first_name": "Ada", "last_name": "Byron"})
    detail = admin_client.get(f"/crm/settings/webhooks/{endpoint['id']}").get_data(as_text=True)
    assert "contact_created" in detail and "delivered" in detail and "HTTP 200" in detail

    delivery = admin_client.get(f"/api/crm/webhooks/{endpoint['id']}/deliveries").get_json()[0]
    resent = admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/deliveries/{delivery['id']}/resend",
                               follow_redirects=True)
    assert "queued again" in resent.get_data(as_text=True)
    assert len(receiver.requests) == 2 and receiver.requests[0]["body"] == receiver.requests[1]["body"]

    pinged = admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/ping", follow_redirects=True)
    assert "ping" in pinged.get_data(as_text=True) and receiver.events()[-1] == "ping"


def test_a_disabled_endpoint_shows_why_and_can_be_enabled_again(app, admin_client):
    url = free_port_url()
    admin_client.post("/crm/settings/webhooks", data={"url": url, "events": ["*"]})
    endpoint = admin_client.get("/api/crm/webhooks").get_json()[0]
    app.config["CRM_WEBHOOK_DISABLE_AFTER"] = 1
    try:
        admin_client.post("/api/crm/contacts", json={"first_name": "A", "last_name": "B"})
    finally:
        app.config["CRM_WEBHOOK_DISABLE_AFTER"] = 20
    listing = admin_client.get("/crm/settings/webhooks").get_data(as_text=True)
    assert "disabled" in listing and "Disabled after 1 failed delivery attempts in a row" in listing
    assert "ConnectionRefused" in listing
    detail = admin_client.get(f"/crm/settings/webhooks/{endpoint['id']}").get_data(as_text=True)
    assert "Enable again" in detail and "failed" in detail
    admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/toggle", data={"back": "detail"})
    assert admin_client.get(f"/api/crm/webhooks/{endpoint['id']}").get_json()["active"] is True
    admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/toggle")
    state = admin_client.get(f"/api/crm/webhooks/{endpoint['id']}").get_json()
    assert state["active"] is False and state["disabled_reason"] == "Paused by an admin."
    refused = admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/ping", follow_redirects=True)
    assert "disabled" in refused.get_data(as_text=True)


def test_bad_form_input_is_422_with_messages(admin_client):
    for data, text in (({"url": "ftp://x", "events": ["*"]}, "http:// or https://"),
                       ({"url": "http://127.0.0.1:9/", "events": []}, "events"),
                       ({"url": "http://127.0.0.1:9/", "events": ["nope"]}, "Unknown event"),
                       ({"url": "http://127.0.0.1:9/", "events": ["*"], "secret": "short"}, "secret")):
        response = admin_client.post("/crm/settings/webhooks", data=data)
        assert response.status_code == 422, data
        assert text in response.get_data(as_text=True)
    assert admin_client.get("/api/crm/webhooks").get_json() == []


def test_delete_and_tenancy(admin_client, other_admin_client, receiver):
    admin_client.post("/crm/settings/webhooks", data={"url": receiver.url, "events": ["*"]})
    endpoint = admin_client.get("/api/crm/webhooks").get_json()[0]
    assert other_admin_client.get(f"/crm/settings/webhooks/{endpoint['id']}").status_code == 404
    assert other_admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/delete").status_code == 404
    admin_client.post(f"/crm/settings/webhooks/{endpoint['id']}/delete")
    assert admin_client.get("/api/crm/webhooks").get_json() == []
