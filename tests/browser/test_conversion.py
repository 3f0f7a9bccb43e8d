"""Conversion and automation in a real browser: the convert dialog shows the deal's locked
product, its plan picker is scoped to that product and searchable; the automation run of the win
shows on the deal page; the workspace shows the contract card and product badge."""
import os

from playwright.sync_api import expect

from tests.support.deals import new_customer, new_deal
from tests.support.products import catalogue

SHOTS = os.environ.get("KW_SCREENSHOTS")  # a folder: save screenshots there for a human look


def shot(page, name: str) -> None:
    if SHOTS:
        for width in (1400, 390):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=os.path.join(SHOTS, f"{name}-{width}.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})


def test_convert_dialog_and_the_run_on_the_deal_page(app, page, login, admin, admin_client, tenant):
    cid = new_customer(app, tenant, "Dialog Co")
    products = catalogue(admin_client)
    deal = new_deal(admin_client, title="Meridian for Dialog Co", value_cents=1_788_00, customer_id=cid,
                    product_id=products["Meridian"]["id"], stage="PROPOSAL")
    login(admin, f"/crm/deals/{deal['id']}")
    shot(page, "deal-before-convert")
    page.get_by_role("button", name="Convert to subscription").click()
    dialog = page.locator("#convert-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("convert-product")).to_have_value("Meridian")
    plans = dialog.get_by_label("Sold plan", exact=True)
    visible = [o for o in plans.locator("option").all() if o.get_attribute("value") and not o.is_disabled()]
    assert {o.inner_text().split(" · ")[0] for o in visible} == set(products["Meridian"]["plans"])  # no RMM plans
    dialog.get_by_placeholder("Search plans").fill("pro")
    assert [o.inner_text().split(" · ")[0] for o in plans.locator("option:not([disabled])").all()
            if o.get_attribute("value")] == ["Meridian Pro"]
    plans.select_option(label=[o.inner_text() for o in plans.locator("option").all() if "Meridian Pro" in o.inner_text()][0])
    shot(page, "convert-dialog")
    dialog.get_by_role("button", name="Convert").click()
    # billing, the win, its mail and its automation run all happen in this request: allow a slow CI box
    expect(page.get_by_role("status")).to_contain_text("Converted: subscription #", timeout=30_000)
    expect(page.locator("#deal-stage")).to_have_text("Won")
    expect(page.get_by_test_id("contract-snapshot")).to_contain_text("Meridian Pro")
    runs = page.locator("#automation-runs > li")
    expect(runs.first).to_contain_text("PROPOSAL → WON")
    expect(runs.first.get_by_test_id("run-status")).to_have_text("done")
    expect(runs.first).to_contain_text("Finance hand-off: done")
    shot(page, "deal-after-convert")

    page.goto(f"/crm/customers/{cid}")
    expect(page.get_by_test_id("contract-card")).to_contain_text("Meridian")
    expect(page.locator(".pill-accent", has_text="Meridian")).to_be_visible()
    shot(page, "workspace-billing")


def test_failed_run_shows_a_retry_button_that_works(app, page, login, admin, admin_client, tenant, make_user,
                                                    monkeypatch):
    from sqlalchemy import update

    from host_stub.models import User, db

    monkeypatch.setitem(app.config, "CRM_AUTOMATION_MAX_ATTEMPTS", 1)
    owner = make_user(tenant, "ADMIN", name="Away Owner")
    deal = new_deal(admin_client, title="Retry me", owner_id=owner.id)
    with app.app_context():
        db.session.execute(update(User).where(User.id == owner.id).values(active=False))
        db.session.commit()
    admin_client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "QUALIFIED"})
    login(admin, f"/crm/deals/{deal['id']}")
    run = page.locator("#automation-runs > li").first
    expect(run.get_by_test_id("run-status")).to_have_text("failed")
    expect(run).to_contain_text("is not an active user")
    shot(page, "deal-failed-run")
    with app.app_context():
        db.session.execute(update(User).where(User.id == owner.id).values(active=True))
        db.session.commit()
    run.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("is being retried", timeout=30_000)
    expect(page.locator("#automation-runs > li").first.get_by_test_id("run-status")).to_have_text("done")
