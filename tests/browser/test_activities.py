"""Activities in a real browser: log an activity on a deal, see it ranked in the queue with
its explanation, complete it and reopen it; screenshots of the queue at desktop and phone width."""
import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.support.deals import new_deal


def test_log_on_a_deal_see_it_ranked_complete_and_reopen(page, login, admin, admin_client, tmp_path):
    customer = admin_client.post("/api/crm/customers", json={"name": "Browser Co"}).get_json()
    deal = new_deal(admin_client, title="Browser rollout", value_cents=9_000_000, customer_id=customer["id"])
    admin_client.post("/api/crm/activities", json={"title": "Someday coffee", "customer_id": customer["id"],
                                                   "due_date": (date.today() + timedelta(days=30)).isoformat()})
    login(admin, f"/crm/deals/{deal['id']}")
    form = page.get_by_role("form", name="Log activity")
    form.get_by_label("Title").fill("Send the contract")
    form.get_by_label("Type").select_option("email")
    form.get_by_role("button", name="Log activity").click()
    expect(page.get_by_role("list", name="Ranked activities of this deal")).to_contain_text("Send the contract")
    for url, name in ((f"/crm/deals/{deal['id']}", "deal"), (f"/crm/customers/{customer['id']}", "workspace")):
        page.goto(url)
        for width in (1400, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})

    page.get_by_role("link", name="Activities").first.click()
    queue = page.get_by_role("list", name="Next-action queue")
    rows = queue.locator("li.act-row")
    expect(rows).to_have_count(2)
    top = rows.first
    expect(top).to_contain_text("Send the contract")  # due today on a big deal outranks a far-off coffee
    expect(top).to_contain_text("Due today")
    expect(top).to_contain_text("Next best action:")
    expect(rows.nth(1)).to_contain_text("Due in 30 days: no pressure yet")
    assert int(top.get_attribute("data-score")) > int(rows.nth(1).get_attribute("data-score"))
    for width, name in ((1400, "desktop"), (390, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(tmp_path / f"activities-{name}.png"), full_page=True)

    page.set_viewport_size({"width": 1400, "height": 900})
    top.get_by_role("button", name="Complete Send the contract").click()
    expect(page.get_by_role("status")).to_contain_text("Completed: Send the contract")
    expect(page.get_by_role("list", name="Next-action queue").locator("li.act-row")).to_have_count(1)
    done_row = page.get_by_role("table", name="All activities")
    page.get_by_role("form", name="Filter activities").get_by_label("Status").select_option("done")
    page.get_by_role("form", name="Filter activities").get_by_role("button", name="Filter").click()
    expect(done_row).to_contain_text("Send the contract")
    page.get_by_role("button", name="Reopen Send the contract").click()
    expect(page.get_by_role("list", name="Next-action queue").locator("li.act-row")).to_have_count(2)
    expect(page.get_by_role("list", name="Next-action queue").locator("li.act-row").first).to_contain_text("Send the contract")


def test_a_manager_switches_the_queue_to_another_owner(page, login, admin, make_user, tenant):
    seller = make_user(tenant, "ADMIN")
    login(admin, "/crm/activities")
    page.get_by_label("Queue of").select_option(str(seller.id))
    expect(page).to_have_url(re.compile(rf"queue_owner={seller.id}"))
