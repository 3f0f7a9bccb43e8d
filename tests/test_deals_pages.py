"""Deal pages: the board (per-currency totals, open/closed toggle, constant query count), the
bulk stage tool, the new-deal form and the deal page with its edit rules."""
import re

from tests.support.deals import new_contact, new_deal


def column(html: str, stage_key: str) -> str:
    match = re.search(rf'<section class="deal-column[^"]*" data-stage="{stage_key}".*?</section>', html, re.S)
    assert match, f"no column {stage_key}"
    return match.group(0)


def test_board_columns_totals_per_currency_and_cards(admin_client, tenant, crm_scope):
    contact_id = new_contact(crm_scope, tenant, first="Jane", last="Smith")
    new_deal(admin_client, title="Roof", value_cents=1_000_00, stage="PROPOSAL", contact_id=contact_id)
    new_deal(admin_client, title="Walls", value_cents=234_56, stage="PROPOSAL")
    new_deal(admin_client, title="Paris office", value_cents=99_00, stage="PROPOSAL", currency="EUR")
    html = admin_client.get("/crm/deals").get_data(as_text=True)
    order = re.findall(r'data-stage="([A-Z_]+)" aria-label', html)
    assert order == ["LEAD", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"]  # one column per stage
    assert re.findall(r'deal-column is-collapsed" data-stage="([A-Z_]+)"', html) == ["WON", "LOST"]  # empty
    proposal = column(html, "PROPOSAL")
    assert '<span class="deal-count">3</span>' in proposal
    assert '<li data-currency="EUR">99.00 EUR</li>' in proposal
    assert '<li data-currency="USD">1,234.56 USD</li>' in proposal  # never summed with the EUR deal
    assert "Jane Smith" in proposal and "1,000.00 USD" in proposal and "Paris office" in proposal


def test_closed_deals_show_only_with_the_toggle(admin_client):
    won = new_deal(admin_client, title="Signed deal")
    admin_client.post(f"/api/crm/deals/{won['id']}/close", json={"outcome": "won"})
    default = admin_client.get("/crm/deals").get_data(as_text=True)
    assert "Signed deal" not in default and "Show closed deals (1)" in default
    assert "1 won deal" in column(default, "WON")  # collapsed, counted, linked to the table
    with_closed = admin_client.get("/crm/deals?closed=1").get_data(as_text=True)
    assert "Signed deal" in column(with_closed, "WON")
    assert re.findall(r'data-stage="([A-Z_]+)" aria-label', with_closed)[-2:] == ["WON", "LOST"]


def test_board_query_count_does_not_grow_with_deals(app, admin_client, tenant, crm_scope, count_queries):
    contact_id = new_contact(crm_scope, tenant)
    new_deal(admin_client, contact_id=contact_id)
    admin_client.get("/crm/deals")  # stages exist now
    with count_queries() as few:
        assert admin_client.get("/crm/deals?closed=1").status_code == 200
    for n in range(30):
        new_deal(admin_client, title=f"Deal {n}", contact_id=contact_id if n % 2 else None,
                 currency="EUR" if n % 3 else "USD", stage=["LEAD", "PROPOSAL", "WON", "LOST"][n % 4])
    with count_queries() as many:
        html = admin_client.get("/crm/deals?closed=1").get_data(as_text=True)
    assert html.count('class="deal-card"') == 31
    assert len(many) == len(few)


def test_bulk_stage_tool_moves_the_selected_cards(admin_client, other_admin_client):
    a, b, c = (new_deal(admin_client, title=t) for t in ("A", "B", "C"))
    response = admin_client.post("/crm/deals/bulk-stage", data={"ids": [str(a["id"]), str(b["id"])],
                                                                "stage": "NEGOTIATION"}, follow_redirects=True)
    assert "Moved 2 deal(s) to NEGOTIATION" in response.get_data(as_text=True)
    stages = {d["id"]: d["stage"] for d in admin_client.get("/api/crm/deals").get_json()}
    assert stages == {a["id"]: "NEGOTIATION", b["id"]: "NEGOTIATION", c["id"]: "LEAD"}
    foreign = new_deal(other_admin_client)
    refused = admin_client.post("/crm/deals/bulk-stage", data={"ids": [str(c["id"]), str(foreign["id"])],
                                                               "stage": "PROPOSAL"}, follow_redirects=True)
    assert "Nothing was moved" in refused.get_data(as_text=True)
    assert admin_client.get(f"/api/crm/deals/{c['id']}").get_json()["stage"] == "LEAD"
    assert other_admin_client.get(f"/api/crm/deals/{foreign['id']}").get_json()["stage"] == "LEAD"


def test_new_deal_form(admin_client, admin, tenant, crm_scope):
    contact_id = new_contact(crm_scope, tenant)
    form = admin_client.get(f"/crm/deals/new?contact_id={contact_id}").get_data(as_text=True)
    assert f'<option value="{contact_id}" selected>' in form
    bad = admin_client.post("/crm/deals/new", data={"title": "", "value": "12.345", "currency": "XXX",
                                                   "stage": "LEAD", "owner_id": str(admin.id)})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "at most two decimals" in text
    assert admin_client.get("/api/crm/deals").get_json() == []
    good = admin_client.post("/crm/deals/new", data={"title": "Solar panels", "value": "1999.99", "currency": "EUR",
                                                    "stage": "QUALIFIED", "owner_id": str(admin.id),
                                                    "contact_id": str(contact_id), "expected_close_date": "2026-12-31"})
    assert good.status_code == 302
    deal = admin_client.get("/api/crm/deals").get_json()[0]
    assert (deal["title"], deal["value_cents"], deal["currency"], deal["stage"], deal["expected_close_date"]) == (
        "Solar panels", 199_999, "EUR", "QUALIFIED", "2026-12-31")
    for bad_value in ("-1", "abc", "1e20", "NaN"):
        response = admin_client.post("/crm/deals/new", data={"title": "x", "value": bad_value, "currency": "USD"})
        assert response.status_code == 422, bad_value
    bad_date = admin_client.post("/crm/deals/new", data={"title": "x", "value": "1", "currency": "USD",
                                                        "expected_close_date": "31.12.2026"})
    assert bad_date.status_code == 422


def test_deal_page_edit_carries_the_version_and_refuses_stale_saves(admin_client, admin):
    deal = new_deal(admin_client, title="Old title")
    page = admin_client.get(f"/crm/deals/{deal['id']}/edit").get_data(as_text=True)
    assert '<input type="hidden" name="version" value="1">' in page
    form = {"title": "New title", "value": "5000.00", "currency": "USD", "stage": "LEAD", "expected_close_date": "",
            "owner_id": str(admin.id), "contact_id": "", "customer_id": "", "notes": "Called", "version": "1"}
    assert admin_client.post(f"/crm/deals/{deal['id']}/edit", data=form).status_code == 302
    stale = admin_client.post(f"/crm/deals/{deal['id']}/edit", data=dict(form, title="Lost update"))
    assert stale.status_code == 409 and "changed by someone else" in stale.get_data(as_text=True)
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["title"] == "New title"


def test_deal_page_actions_and_rules(app, admin_client, make_user, tenant):
    deal = new_deal(admin_client)
    path = f"/crm/deals/{deal['id']}"
    admin_client.post(f"{path}/stage", data={"stage": "PROPOSAL"})
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] == "PROPOSAL"
    admin_client.post(f"{path}/close", data={"outcome": "lost", "reason": "Too pricey"})
    page = admin_client.get(path).get_data(as_text=True)
    assert 'id="deal-close"' not in page and 'id="deal-archive"' in page
    assert "Closed deals accept only notes and the closed reason." in admin_client.get(f"{path}/edit").get_data(as_text=True)
    # the closed deal's form posts only notes and closed_reason
    closed = admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()
    saved = admin_client.post(f"{path}/edit", data={"notes": "Maybe next year", "closed_reason": "Price",
                                          "version": str(closed["version"])})
    assert saved.status_code == 302
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["closed_reason"] == "Price"
    no_delete = app.test_client().login(make_user(tenant, "ADMIN"))
    denied = no_delete.post(f"{path}/archive", data={"reason": "x"}, follow_redirects=True)
    assert "crm.delete" in denied.get_data(as_text=True)
    no_reason = admin_client.post(f"{path}/archive", data={"reason": ""}, follow_redirects=True)
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["archived_at"] is None
    assert "reason is required" in no_reason.get_data(as_text=True)
    admin_client.post(f"{path}/archive", data={"reason": "Stale"})
    page = admin_client.get(path).get_data(as_text=True)
    assert "Archived deals cannot be edited." in page and 'id="deal-delete"' in page
    assert admin_client.post(f"{path}/delete").status_code == 302
    assert admin_client.get(path).status_code == 404


def test_won_deal_page_offers_no_archive_or_delete(admin_client):
    deal = new_deal(admin_client)
    admin_client.post(f"/crm/deals/{deal['id']}/close", data={"outcome": "won"})
    page = admin_client.get(f"/crm/deals/{deal['id']}").get_data(as_text=True)
    assert 'id="deal-archive"' not in page and 'id="deal-delete"' not in page
    refused = admin_client.post(f"/crm/deals/{deal['id']}/archive", data={"reason": "x"}, follow_redirects=True)
    assert "Won deals cannot be archived" in refused.get_data(as_text=True)


def test_demo_seed_is_idempotent_and_mixes_currencies(admin_client, admin, tenant, crm_scope):
    from kw_crm.demo_data import deals as demo

    with crm_scope(tenant):
        assert demo.seed(admin.id)[0].startswith("deals: 25 deals")
    with crm_scope(tenant):
        assert demo.seed(admin.id) == ["deals: already seeded"]
    rows = admin_client.get("/api/crm/pipeline").get_json()
    assert sum(r["count"] for r in rows) == 25
    assert {r["currency"] for r in rows if r["count"]} == {"USD", "EUR"}
    assert {r["stage"] for r in rows if r["count"]} == {"LEAD", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"}


def test_new_deal_form_takes_the_contacts_customer_when_left_blank(app, admin_client, admin, tenant, crm_scope):
    from tests.support.deals import new_customer

    customer_id = new_customer(app, tenant)
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id)
    response = admin_client.post("/crm/deals/new", data={"title": "Via contact", "value": "10", "currency": "USD",
                                                        "stage": "LEAD", "owner_id": str(admin.id),
                                                        "contact_id": str(contact_id), "customer_id": ""})
    assert response.status_code == 302
    assert admin_client.get("/api/crm/deals").get_json()[0]["customer_id"] == customer_id
