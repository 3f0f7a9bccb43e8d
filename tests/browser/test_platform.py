"""The foundation in a real browser: log in through the form and open the CRM."""
from playwright.sync_api import expect


def test_admin_logs_in_and_opens_the_crm(page, login, admin, live_server_url):
    login(admin)
    assert page.url == f"{live_server_url}/crm/"
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    expect(page.get_by_role("navigation", name="Portal").get_by_role("link", name="CRM")).to_be_visible()


def test_staff_is_refused(page, login, make_user, tenant):
    login(make_user(tenant, "STAFF"), next_path="/")
    response = page.goto("/crm/")
    assert response.status == 403


def test_every_crm_nav_entry_opens_its_page(page, login, admin):
    login(admin)
    nav = page.get_by_role("navigation", name="CRM")
    labels = [link.inner_text() for link in nav.get_by_role("link").all()]
    assert labels == ["Contacts", "Customers", "Pipeline", "Activities", "Dashboard", "Forecast", "Communications",
                      "Risk & Health"]
    for label in labels:
        page.get_by_role("navigation", name="CRM").get_by_role("link", name=label).click()
        page.wait_for_load_state()
        current = page.get_by_role("navigation", name="CRM").locator("[aria-current=page]")
        assert current.inner_text() == label
        assert page.locator("h1").first.is_visible()
