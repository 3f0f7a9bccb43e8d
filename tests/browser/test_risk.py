"""Risk & Health in a real browser: a captured message with two candidates is resolved from the
tab's dialog and shows on the chosen customer's timeline as operator-reviewed."""
import os
import uuid

from playwright.sync_api import expect

SHOTS = os.environ.get("KW_SCREENSHOTS")  # a folder: save the pages at 1400 and 390 px for review


def _shoot(page, name):
    if SHOTS:
        for width in (1400, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})


def test_resolve_a_two_candidate_capture_from_the_risk_tab(page, login, admin, app):
    client = app.test_client().login(admin)
    tag = uuid.uuid4().hex[:6]
    north = client.post("/api/crm/customers", json={"name": f"North {tag}"}).get_json()["id"]
    south = client.post("/api/crm/customers", json={"name": f"South {tag}"}).get_json()["id"]
    for first, customer_id in (("Nora", north), ("Sam", south)):
        client.post("/api/crm/contacts", json={"first_name": first, "last_name": "Buyer", "customer_id": customer_id,
                                               "email": f"{first.lower()}-{tag}@buyers.test"})
    captured = client.post("/api/crm/communications/capture", json={
        "message_id": f"<{tag}@mail.test>", "direction": "outbound", "sender": "me@us.test",
        "recipients": [f"nora-{tag}@buyers.test", f"sam-{tag}@buyers.test"], "subject": f"Joint proposal {tag}",
        "body": "<p>Hello both,<br>here is the <b>proposal</b>.</p>", "content_type": "text/html",
        "occurred_at": "2026-11-24T15:00:00Z", "thread_id": f"<thread-{tag}@mail.test>"}).get_json()
    assert captured["status"] == "review"
    client.patch(f"/api/crm/customers/{north}", json={"health_score": 18})

    login(admin, next_path="/crm/")
    page.get_by_role("navigation", name="CRM").get_by_role("link", name="Risk & Health").click()
    expect(page.get_by_role("heading", name="Risk & Health")).to_be_visible()
    expect(page.get_by_role("region", name="Churn risk")).to_contain_text(f"North {tag}")
    queue = page.get_by_role("region", name="Capture exceptions")
    row = queue.locator(f'tr[data-review-id="{captured["review_id"]}"]')
    expect(row).to_contain_text(f"Joint proposal {tag}")
    expect(row).to_contain_text("Hello both,")
    expect(row).to_contain_text("Several contacts or customers")
    _shoot(page, "risk")

    row.get_by_role("button", name="Resolve").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    _shoot(page, "risk-dialog")
    dialog.get_by_label(f"Sam Buyer at South {tag}").check()
    dialog.get_by_role("button", name="Link to customer").click()
    expect(page.get_by_role("status")).to_contain_text("operator review")
    expect(queue.locator(f'tr[data-review-id="{captured["review_id"]}"]')).to_have_count(0)

    page.goto(f"/crm/customers/{south}")
    comms = page.get_by_role("region", name="Communications")
    expect(comms).to_contain_text(f"Joint proposal {tag}")
    expect(comms).to_contain_text("linked by operator review")
    expect(comms).to_contain_text(admin.name)
    threads = page.get_by_role("region", name="Conversations")
    expect(threads).to_contain_text(f"Joint proposal {tag}")
    _shoot(page, "workspace")
    threads.get_by_role("button", name="Close").click()
    expect(page.get_by_role("region", name="Conversations")).to_contain_text("No open conversations")

    page.get_by_role("region", name="Contacts").get_by_role("link", name="Sam Buyer").click()
    timeline = page.get_by_role("tabpanel")
    expect(timeline).to_contain_text(f"Joint proposal {tag}")
    expect(timeline).to_contain_text("linked by operator review")
    _shoot(page, "contact")
