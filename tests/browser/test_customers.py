"""The customer workspace and the dashboard in a real browser."""
from playwright.sync_api import expect


def test_create_customer_log_communication_and_archive(page, login, admin, make_user, tenant):
    make_user(tenant, "ADMIN", name="Olivia Owner")
    login(admin, next_path="/crm/customers")
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    page.get_by_role("link", name="New customer").click()
    page.get_by_label("Name").fill("Browser Bikes")
    page.get_by_label("Lead source").fill("trade fair")
    page.get_by_label("Find a user").fill("olivia")
    expect(page.locator("#owner-select option")).to_have_count(1, timeout=20_000)  # a debounced server lookup
    page.get_by_role("button", name="Create customer").click()

    expect(page.get_by_role("heading", name="Browser Bikes")).to_be_visible()
    posture = page.get_by_role("region", name="Posture")
    expect(posture).to_contain_text("Olivia Owner")
    expect(posture).to_contain_text("never")
    page.get_by_label("Subject").fill("Discovery call")
    page.get_by_label("Summary").fill("Wants 40 bikes")
    page.get_by_role("button", name="Log communication").click()
    comms = page.get_by_role("region", name="Communications")
    expect(comms).to_contain_text("showing 1 of 1")
    expect(comms).to_contain_text("Discovery call")
    expect(posture).not_to_contain_text("never")

    page.get_by_label("Archive reason").fill("moved abroad")
    page.get_by_role("button", name="Archive").click()
    expect(page.get_by_role("note")).to_contain_text("moved abroad")
    expect(page.get_by_role("region", name="Audit trail")).to_contain_text("archived")
    expect(page.get_by_role("button", name="Log communication")).to_have_count(0)

    page.get_by_role("navigation", name="CRM").get_by_role("link", name="Customers").click()
    expect(page.get_by_text("No customers match.")).to_be_visible()


def test_dashboard_lists_churn_risk_and_links_to_the_workspace(page, login, admin, app):
    client = app.test_client().login(admin)
    for name, health in (("Wobbly Ltd", 12), ("Critical Ltd", 3), ("Solid Ltd", 90)):
        cid = client.post("/api/crm/customers", json={"name": name}).get_json()["id"]
        client.patch(f"/api/crm/customers/{cid}", json={"health_score": health})
    login(admin, next_path="/crm/dashboard")
    expect(page.locator('[data-metric="total_customers"]')).to_have_text("3")
    expect(page.locator('[data-metric="at_churn_risk"]')).to_have_text("2")
    panel = page.get_by_role("region", name="Customers at churn risk")
    rows = panel.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Critical Ltd")
    expect(rows.nth(1)).to_contain_text("Wobbly Ltd")
    rows.nth(0).get_by_role("link").click()
    expect(page.get_by_role("heading", name="Critical Ltd")).to_be_visible()
    expect(page.get_by_role("region", name="Posture")).to_contain_text("churn risk")
