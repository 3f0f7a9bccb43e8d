"""Field keys never reach a page (issue 11): what a page says about a refused input names the
field by its label ("Minimum health"), never by its key ("health_min: health_min cannot be…").
Every bad input below is answered with a message; none of its messages holds a snake_case key."""
import re

import pytest
from bs4 import BeautifulSoup

from kw_crm.web.messages import human_messages

KEY = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
# where pages put messages about refused input
MESSAGE_AREAS = ".alert, .crm-error, .field-error, .crm-error-page, [role=alert]"


def messages(response) -> str:
    soup = BeautifulSoup(response.data, "html.parser")
    return " ".join(" ".join(node.get_text(" ").split()) for node in soup.select(MESSAGE_AREAS))


@pytest.fixture
def ids(admin_client):
    customer = admin_client.post("/api/crm/customers", json={"name": "Message Co"}).get_json()["id"]
    return {"customer": customer}


GETS = [
    "/crm/customers?health_min=90&health_max=10", "/crm/customers?health_min=abc&health_max=500",
    "/crm/customers?lifecycle_stage=zzz&include_inactive=maybe", "/crm/?per_page=0", "/crm/activities?page=abc",
    "/crm/deals/table?sort=price&page=0", "/crm/deals/table?owner_id=x", "/crm/forecast?window=999&owner_id=abc",
]


@pytest.mark.parametrize("url", GETS)
def test_refused_filters_are_explained_without_field_keys(admin_client, url):
    response = admin_client.get(url)
    said = messages(response)
    assert response.status_code == 422 and said, url
    assert not KEY.findall(said), said


def test_the_customer_filter_names_the_fields_by_their_labels(admin_client):
    said = messages(admin_client.get("/crm/customers?health_min=90&health_max=10"))
    assert "The minimum health cannot be greater than the maximum." in said
    said = messages(admin_client.get("/crm/customers?health_min=abc&health_max=500"))
    assert "Minimum health: Must be a whole number from 0 to 100." in said
    assert "Maximum health: Must be a whole number from 0 to 100." in said


def test_refused_forms_are_explained_without_field_keys(admin_client, ids):
    customer = ids["customer"]
    posts = [
        ("/crm/customers/new", {"name": "", "lifecycle_stage": "nope", "billing_email": "x", "owner_id": "abc"}),
        (f"/crm/customers/{customer}/edit", {"lifecycle_stage": "prospect", "health_score": "140", "owner_id": "abc"}),
        (f"/crm/customers/{customer}/archive", {"reason": ""}),
        (f"/crm/customers/{customer}/communications", {"subject": "", "channel": "pigeon"}),
        ("/crm/activities", {"title": "", "type": "call", "due_date": "soon", "customer_id": "abc"}),
        ("/crm/settings/tokens", {"name": "", "expires_at": "tomorrow"}),
    ]
    for url, form in posts:
        response = admin_client.post(url, data=form, follow_redirects=True)
        said = messages(response)
        assert said, url
        assert not KEY.findall(said), (url, said)


def test_human_messages_write_keys_as_labels():
    assert human_messages({"health_min": ["health_min cannot be greater than health_max."]}) == [
        "Minimum health cannot be greater than maximum health."]
    assert human_messages({"billing_email": ["Not a valid email address."], "_schema": ["Send an object."]}) == [
        "Billing email: Not a valid email address.", "Send an object."]
    assert human_messages({"stale_after_days": ["Must be 1 to 365."]}) == ["Stale after days: Must be 1 to 365."]
