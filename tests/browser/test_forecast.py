"""The forecast and the pipeline workspace in a real browser: switch the window and the owner,
follow an overdue deal to its page; filter the board by owner and search, follow "N more" to the
table and sort it."""
from datetime import timedelta

from playwright.sync_api import expect

from kw_crm.db import utcnow
from kw_crm.models import Deal
from kw_crm.services import stages as stage_service
from kw_crm.services.pipeline_view import CARDS_PER_COLUMN
from tests.support.deals import new_deal


def test_forecast_window_owner_and_overdue_deal(page, login, admin, admin_client, make_user, tenant, crm_scope):
    rep = make_user(tenant, "ADMIN", name="Rita Rep")
    now = utcnow()
    with crm_scope(tenant) as session:
        won, lost = stage_service.won_stage(), stage_service.first_lost_stage()
        for days, stage in ((5, won), (60, won), (150, lost)):
            session.add(Deal(title=f"Closed {days}", value_cents=1000, currency="USD", stage=stage, owner_id=rep.id,
                             closed_at=now - timedelta(days=days)))
        session.commit()
    late = new_deal(admin_client, title="Late renewal", owner_id=rep.id, value_cents=42_00,
                    expected_close_date=(now.date() - timedelta(days=9)).isoformat())
    new_deal(admin_client, title="Admin's own", value_cents=10_00, currency="EUR")
    login(admin, "/crm/forecast")
    trend = page.locator("#chart-trend")
    expect(page.locator("#trend-h")).to_contain_text("2 won, 0 lost in 90 days")
    expect(trend.locator("rect.chart-won")).to_have_count(2)
    page.locator("#forecast-window").select_option("365")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#trend-h")).to_contain_text("2 won, 1 lost in 365 days")
    expect(page.locator("#chart-trend rect.chart-bar")).to_have_count(3)
    expect(page.locator("#chart-owners-eur")).to_be_visible()
    page.locator("#forecast-owner").select_option(label="Rita Rep")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h1")).to_have_text("Forecast: Rita Rep")
    expect(page.locator("#forecast-window")).to_have_value("365")
    expect(page.locator("#chart-owners-eur")).to_have_count(0)  # the admin's EUR deal is not Rita's
    expect(page.locator("#by-owner tbody tr")).to_have_count(1)
    overdue = page.locator("#overdue-deals")
    expect(overdue.locator("tbody tr")).to_have_count(1)
    expect(overdue).to_contain_text("9")
    overdue.get_by_role("link", name="Late renewal").click()
    expect(page).to_have_url(f"{page.url.split('/crm/')[0]}/crm/deals/{late['id']}")
    expect(page.locator("h1")).to_contain_text("Late renewal")


def test_board_owner_filter_search_and_more_into_the_sorted_table(page, login, admin, admin_client, make_user,
                                                                  tenant, crm_scope):
    rep = make_user(tenant, "ADMIN", name="Sam Seller")
    with crm_scope(tenant) as session:
        lead = stage_service.by_key("LEAD")
        session.add_all(Deal(title=f"Bulk {i:02d}", value_cents=i, currency="USD", stage=lead, owner_id=rep.id)
                        for i in range(CARDS_PER_COLUMN + 3))
        session.commit()
    new_deal(admin_client, title="Admin lead", value_cents=5)
    login(admin, "/crm/deals")
    expect(page.locator('.deal-card:has-text("Admin lead") .deal-owner')).to_contain_text(admin.name)
    page.locator("#deal-owner").select_option(label="Sam Seller")
    page.get_by_role("button", name="Filter").click()
    lead_column = page.locator('section.deal-column[data-stage="LEAD"]')
    expect(lead_column.locator(".deal-count")).to_have_text(str(CARDS_PER_COLUMN + 3))
    expect(lead_column.get_by_role("link", name="Admin lead")).to_have_count(0)
    page.locator("#deal-search").fill("bulk 0")
    page.get_by_role("button", name="Filter").click()
    expect(lead_column.locator(".deal-card")).to_have_count(10)
    page.locator("#deal-search").fill("")
    page.get_by_role("button", name="Filter").click()
    lead_column.get_by_role("link", name="3 more").click()
    expect(page.locator("#deal-total")).to_contain_text(f"{CARDS_PER_COLUMN + 3} deals")
    page.get_by_role("link", name="Deal", exact=True).click()
    expect(page.locator("#deal-table tbody tr").first.locator("a")).to_have_text("Bulk 00")
    page.get_by_role("link", name="Deal ▲").click()
    expect(page.locator("#deal-table tbody tr").first.locator("a")).to_have_text(f"Bulk {CARDS_PER_COLUMN + 2:02d}")
