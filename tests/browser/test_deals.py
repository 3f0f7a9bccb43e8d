"""Deals in a real browser: board totals per currency, the bulk stage tool, closing as won
mails the owner through the host mailer."""
from playwright.sync_api import expect

from tests.support.deals import mails_to, new_deal


def test_board_shows_counts_and_per_currency_totals(app, page, login, admin, admin_client):
    new_deal(admin_client, title="Roof", value_cents=1_000_00, stage="PROPOSAL")
    new_deal(admin_client, title="Walls", value_cents=500_50, stage="PROPOSAL")
    new_deal(admin_client, title="Paris", value_cents=250_00, stage="PROPOSAL", currency="EUR")
    login(admin, "/crm/deals")
    proposal = page.locator('section.deal-column[data-stage="PROPOSAL"]')
    expect(proposal.locator(".deal-count")).to_have_text("3")
    expect(proposal.locator('li[data-currency="USD"]')).to_have_text("1,500.50 USD")
    expect(proposal.locator('li[data-currency="EUR"]')).to_have_text("250.00 EUR")
    expect(page.locator('section.deal-column[data-stage="LEAD"] .deal-count')).to_have_text("0")
    page.get_by_role("link", name="Show closed deals").click()
    expect(page.locator('section.deal-column[data-stage="WON"]')).to_be_visible()


def test_bulk_stage_tool_moves_the_checked_cards(page, login, admin, admin_client):
    a = new_deal(admin_client, title="Alpha")
    b = new_deal(admin_client, title="Bravo")
    new_deal(admin_client, title="Charlie")
    login(admin, "/crm/deals")
    page.get_by_label("Select Alpha").check()
    page.get_by_label("Select Bravo").check()
    page.locator("#bulk-stage").select_option("NEGOTIATION")
    page.locator("#bulk-apply").click()
    expect(page.get_by_role("status")).to_contain_text("Moved 2 deal(s) to NEGOTIATION")
    negotiation = page.locator('section.deal-column[data-stage="NEGOTIATION"]')
    expect(negotiation.locator(".deal-count")).to_have_text("2")
    expect(negotiation.get_by_role("link", name="Alpha")).to_be_visible()
    expect(page.locator('section.deal-column[data-stage="LEAD"]').get_by_role("link", name="Charlie")).to_be_visible()
    assert {admin_client.get(f"/api/crm/deals/{d['id']}").get_json()["stage"] for d in (a, b)} == {"NEGOTIATION"}


def test_close_as_won_mails_the_owner(app, page, login, admin, admin_client, make_user, tenant, outbox):
    owner = make_user(tenant, "ADMIN", name="Olivia Owner")
    deal = new_deal(admin_client, title="Fleet renewal", value_cents=12_345_00, owner_id=owner.id)
    login(admin, "/crm/deals")
    page.get_by_role("link", name="Fleet renewal").click()
    expect(page.get_by_role("heading", name="Fleet renewal")).to_be_visible()
    page.locator("#deal-close").get_by_label("Reason").fill("Signed today")
    page.get_by_role("button", name="Close as won").click()
    expect(page.get_by_role("status")).to_contain_text("Deal closed as won")
    expect(page.locator("#deal-stage")).to_have_text("Won")
    mails = mails_to(outbox, owner.email)
    assert len(mails) == 1
    assert mails[0]["subject"] == "Deal won: Fleet renewal"
    assert "12,345.00 USD" in mails[0]["body"] and "Signed today" in mails[0]["body"]
    assert f"/crm/deals/{deal['id']}" in mails[0]["body"]
