"""Every CRM page at a desktop width (1400 px) and a phone width (390 px), in one browser session
per width: the page never scrolls sideways, every CRM nav entry can be reached, and a screenshot
of each page is kept (``KW_SCREENSHOT_DIR``, default ``.ci/artifacts/screenshots``) for review.

The page list is read from the app's URL map, so pages other issues add are covered without
being listed here; ids in the URL are filled from the demo data of a fresh tenant."""
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from host_stub.models import db
from kw_crm import capture
from kw_crm.demo import seed_demo
from kw_crm.models import Activity, Contact, Deal
from kw_crm.tenancy import tenant_scope
from tests.conftest import PASSWORD

SCREENSHOTS = Path(os.environ.get("KW_SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / ".ci/artifacts/screenshots")
WIDTHS = {"desktop": 1400, "phone": 390}
# GET routes that are not pages (files, streams, redirects after an action)
NOT_PAGES = re.compile(r"(static|download|export|skipped|\.csv|\.json)")


@pytest.fixture
def demo_site(app, make_tenant, make_user):
    """A fresh tenant with the demo data, its admin, and ids of real records for the URLs."""
    tenant = make_tenant()
    admin = make_user(tenant, "ADMIN", grants=("crm.delete",))
    make_user(tenant, "VENDOR")
    with app.app_context():
        with tenant_scope(tenant.id):
            seed_demo(tenant.id, admin.id)
            db.session.commit()
            # captured mail: one linked to a demo contact, one waiting for review (the queue's rows)
            known = db.session.scalar(select(Contact.email).where(Contact.email.is_not(None),
                                                                  Contact.customer_id.is_not(None)).order_by(Contact.id))
            capture.ingest_many(tenant.id, [
                {"message_id": "<layout-1@demo>", "direction": "inbound", "sender": known, "recipients": ["me@us.test"],
                 "subject": "Renewal questions before the quarterly review", "body": "Could we talk about the renewal? " * 20,
                 "occurred_at": "2026-11-20T10:00:00Z"},
                {"message_id": "<layout-2@demo>", "direction": "inbound", "sender": "someone.with.a.long.address@unknown-domain.example",
                 "recipients": ["sales@us.test", "support@us.test"], "subject": "Question about an invoice",
                 "body": "Hello, " * 80, "occurred_at": "2026-11-21T10:00:00Z"}])
            ids = {
                "contact_id": db.session.scalar(select(Contact.id).where(Contact.customer_id.is_not(None)).order_by(Contact.id)),
                "deal_id": db.session.scalar(select(Deal.id).order_by(Deal.id)),
                "customer_id": db.session.scalar(select(Contact.customer_id).where(Contact.customer_id.is_not(None)).order_by(Contact.id)),
                "activity_id": db.session.scalar(select(Activity.id).order_by(Activity.id)),
            }
    return admin, ids


def crm_pages(app, ids) -> list[tuple[str, str]]:
    """(name, path) of every GET page of the CRM blueprints whose arguments we can fill."""
    pages = {}
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint not in ("crm", "crm_admin") or "GET" not in rule.methods or NOT_PAGES.search(rule.rule):
            continue
        if rule.endpoint.endswith(".not_found"):
            pages["not_found"] = "/crm/no-such-page"
            continue
        if not set(rule.arguments) <= set(ids):
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(ids[arg]), path)
        pages.setdefault(rule.endpoint.replace(".", "_"), path)
    return sorted(pages.items())


def test_the_page_list_covers_the_main_pages(app):
    names = {name for name, _ in crm_pages(app, dict.fromkeys(("contact_id", "deal_id", "customer_id", "activity_id"), 1))}
    assert {"crm_contacts", "crm_contact_detail", "crm_contact_new", "crm_customers", "crm_customer_detail",
            "crm_deals", "crm_deal_detail", "crm_settings", "crm_dashboard", "crm_communications", "crm_risk",
            "not_found"} <= names


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_every_crm_page_fits_the_screen_and_keeps_the_nav_reachable(browser, live_server_url, app, demo_site,
                                                                     width_name):
    admin, ids = demo_site
    width = WIDTHS[width_name]
    context = browser.new_context(base_url=live_server_url, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/login?next=/crm/")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/crm/")
    folder = SCREENSHOTS / width_name
    folder.mkdir(parents=True, exist_ok=True)
    problems = []
    try:
        for name, path in crm_pages(app, ids):
            response = page.goto(path)
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                wide = page.evaluate("""() => [...document.querySelectorAll('.crm-app *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                    .filter(e => !e.closest('.table-wrap, table, .deal-board, .crm-nav-links, .crm-tabs'))
                    .slice(0, 3).map(e => e.tagName + '.' + e.className)""")
                problems.append(f"{name} ({path}): page scrolls sideways by {overflow}px; widest: {wide}")
            if response.status == 200:
                nav = page.get_by_role("navigation", name="CRM")
                for link in nav.get_by_role("link").all():
                    link.scroll_into_view_if_needed()
                    box = link.bounding_box()
                    if not box or box["x"] < 0 or box["x"] + box["width"] > width + 1:
                        problems.append(f"{name}: nav entry {link.inner_text()!r} cannot be reached")
    finally:
        context.close()
    assert problems == []
