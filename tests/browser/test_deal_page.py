"""The deal page in Chromium: read the deal, Edit, a refused save that keeps the typed values,
save back to the view, the stage bar; at 1400 and 390 px without sideways scrolling."""
import pytest
from playwright.sync_api import expect

from tests.browser.test_layout import SCREENSHOTS, WIDTHS
from tests.support.deals import new_contact, new_customer, new_deal


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_view_edit_refuse_and_save(page, login, app, admin, admin_client, tenant, crm_scope, width_name):
    page.set_viewport_size({"width": WIDTHS[width_name], "height": 900})
    customer_id = new_customer(app, tenant, name=f"Contoso {width_name}")
    contact_id = new_contact(crm_scope, tenant, customer_id=customer_id, first="Nina", last="Patel")
    deal = new_deal(admin_client, title="Fleet renewal", value_cents=12_500_50, currency="EUR", stage="QUALIFIED",
                    contact_id=contact_id, customer_id=customer_id, notes="Wants a three-year term.")
    login(admin, f"/crm/deals/{deal['id']}")
    expect(page.get_by_role("heading", name="Fleet renewal")).to_be_visible()
    expect(page.get_by_test_id("deal-customer")).to_have_text(f"Contoso {width_name}")
    expect(page.get_by_test_id("deal-value")).to_have_text("12,500.50 EUR")
    expect(page.locator("input[name=value]")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    folder = SCREENSHOTS / "deal_page"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"view-{width_name}.png"), full_page=True)

    page.get_by_role("link", name="Edit deal").click()
    page.get_by_label("Title").fill("Fleet renewal 2027")
    page.get_by_label("Value").fill("12.345")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("at most two decimals")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Fleet renewal 2027")
    expect(page.get_by_label("Value")).to_have_value("12.345")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(folder / f"edit-refused-{width_name}.png"), full_page=True)
    page.get_by_label("Value").fill("13,000.00")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Deal saved.")
    expect(page.get_by_role("heading", name="Fleet renewal 2027")).to_be_visible()
    expect(page.get_by_test_id("deal-value")).to_have_text("13,000.00 EUR")

    page.locator(".deal-stagebar").get_by_role("button", name="Proposal").click()
    expect(page.locator("#deal-stage")).to_have_text("Proposal")
    expect(page.locator(".deal-stagebar [aria-current=step]")).to_have_text("Proposal")
