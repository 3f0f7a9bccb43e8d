"""Controls that tell the truth (issue 11): an admin without ``crm.delete`` sees Delete and
Archive disabled with the reason instead of a button leading to a refusal; a refused archive
keeps what was typed; no move box on closed deals, no Complete on a note, no stray separator."""
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup

from tests.support.deals import new_deal

REASON = "Needs the delete permission (crm.delete)"


def page(response, status=200):
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    return BeautifulSoup(response.data, "html.parser")


def text(node) -> str:
    return " ".join(node.get_text(" ").split())


@pytest.fixture
def seller_client(app, make_user, tenant):
    """An ADMIN of the same tenant without ``crm.delete`` (the demo's sales@example.com)."""
    return app.test_client().login(make_user(tenant, "ADMIN", name="Sam Seller"))


def contact(client, **fields) -> int:
    response = client.post("/api/crm/contacts", json={"first_name": "Jane", "last_name": "Smith", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def customer(client, name) -> int:
    response = client.post("/api/crm/customers", json={"name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def disabled_button(soup, label):
    button = soup.find("button", string=lambda s: s and s.strip() == label)
    assert button is not None, label
    return button


def test_contact_page_disables_delete_with_the_reason_for_an_admin_without_crm_delete(
        admin_client, seller_client):
    cid = contact(admin_client)
    seller = page(seller_client.get(f"/crm/contacts/{cid}"))
    button = disabled_button(seller, "Delete")
    assert button.has_attr("disabled") and REASON in text(button.parent)
    assert not seller.select(f'form[action="/crm/contacts/{cid}/delete"]')
    admin = page(admin_client.get(f"/crm/contacts/{cid}"))
    assert admin.select(f'form[action="/crm/contacts/{cid}/delete"] button:not([disabled])')


def test_contacts_list_offers_bulk_delete_only_with_crm_delete(admin_client, seller_client):
    contact(admin_client)
    seller = page(seller_client.get("/crm/"))
    option = seller.select_one('select[name="action"] option[value="delete"]')
    assert option.has_attr("disabled")
    assert REASON.lower() in text(seller.select_one(".crm-bulk")).lower()
    admin = page(admin_client.get("/crm/"))
    assert not admin.select_one('select[name="action"] option[value="delete"]').has_attr("disabled")
    assert REASON.lower() not in text(admin).lower()


def test_customer_workspace_disables_archive_and_delete_with_the_reason(admin_client, seller_client):
    cid = customer(admin_client, "Honest Archive Co")
    seller = page(seller_client.get(f"/crm/customers/{cid}"))
    assert disabled_button(seller, "Archive").has_attr("disabled")
    assert REASON in text(seller.select_one('[aria-label="Archive customer"]'))
    assert not seller.select(f'form[action="/crm/customers/{cid}/archive"]')
    assert admin_client.post(f"/crm/customers/{cid}/archive", data={"reason": "gone"}).status_code == 302
    seller = page(seller_client.get(f"/crm/customers/{cid}"))
    assert disabled_button(seller, "Delete for good").has_attr("disabled")
    assert not seller.select(f'form[action="/crm/customers/{cid}/delete"]')
    admin = page(admin_client.get(f"/crm/customers/{cid}"))
    assert admin.select(f'form[action="/crm/customers/{cid}/delete"] button:not([disabled])')


def test_a_refused_customer_archive_keeps_the_typed_reason(admin_client):
    cid = customer(admin_client, "Open Deal Co")
    new_deal(admin_client, title="Still open", customer_id=cid)
    response = admin_client.post(f"/crm/customers/{cid}/archive", data={"reason": "Moved to a competitor"})
    refused = page(response, 409)
    form = refused.select_one(f'form[action="/crm/customers/{cid}/archive"]')
    assert form.select_one('input[name="reason"]')["value"] == "Moved to a competitor"
    assert "open deal" in text(form).lower()


def test_contact_header_has_no_stray_separator(admin_client):
    bare = page(admin_client.get(f"/crm/contacts/{contact(admin_client, status='active')}"))
    assert text(bare.select_one(".crm-sub")) == "ACTIVE"
    company_only = page(admin_client.get(f"/crm/contacts/{contact(admin_client, company='Sep Co', status='lead')}"))
    assert text(company_only.select_one(".crm-sub")) == "Sep Co · LEAD"
    full = page(admin_client.get(f"/crm/contacts/{contact(admin_client, job_title='CTO', is_decision_maker=True)}"))
    assert text(full.select_one(".crm-sub")).startswith("CTO · ")
    assert text(full.select_one(".crm-sub")).endswith(" · Decision maker")


def test_closed_deals_on_the_board_have_no_move_checkbox(admin_client):
    won = new_deal(admin_client, title="Won one")
    assert admin_client.post(f"/api/crm/deals/{won['id']}/close", json={"outcome": "won"}).status_code == 200
    lost = new_deal(admin_client, title="Lost one")
    assert admin_client.post(f"/api/crm/deals/{lost['id']}/close", json={"outcome": "lost"}).status_code == 200
    open_deal = new_deal(admin_client, title="Open one")
    board = page(admin_client.get("/crm/deals?closed=1"))
    cards = {int(c["data-deal-id"]): c for c in board.select(".deal-card")}
    assert {won["id"], lost["id"], open_deal["id"]} <= cards.keys()
    assert cards[open_deal["id"]].select('input[name="ids"]')
    assert not cards[won["id"]].select('input[name="ids"]')
    assert not cards[lost["id"]].select('input[name="ids"]')


def test_a_note_activity_has_no_complete_button_anywhere(admin_client):
    cid = customer(admin_client, "Note Co")
    person = contact(admin_client, customer_id=cid)
    soon = (date.today() + timedelta(days=3)).isoformat()
    for kind, title in (("note", "Chat at the fair"), ("task", "Send the quote")):
        response = admin_client.post("/api/crm/activities", json={"type": kind, "title": title, "contact_id": person,
                                                                  "customer_id": cid, "due_date": soon})
        assert response.status_code == 201, response.get_json()
    for url in (f"/crm/contacts/{person}", "/crm/activities", f"/crm/customers/{cid}"):
        html = page(admin_client.get(url))
        assert html.select('button[aria-label="Complete Send the quote"]'), url
        assert not html.select('button[aria-label="Complete Chat at the fair"]'), url
        assert html.select('a[aria-label="Edit Chat at the fair"]'), url
