"""The pages under the Content-Security-Policy (no inline script): every behaviour that used
to be inline still works from crm.js, and Chromium reports no policy violation."""
import io
import re

from playwright.sync_api import expect


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


def test_contact_page_tabs_confirm_and_select_all_work_under_the_policy(page, login, admin, admin_client, tmp_path):
    contact = admin_client.post("/api/crm/contacts", json={"first_name": "Cora", "last_name": "Policy"}).get_json()
    admin_client.post(f"/api/crm/contacts/{contact['id']}/attachments",
                      data={"file": (io.BytesIO(b"hello"), "notes.txt")}, content_type="multipart/form-data")
    violations = _violations(page)
    login(admin, next_path=f"/crm/contacts/{contact['id']}")
    page.get_by_role("tab", name=re.compile("Deals")).click()
    expect(page.locator("#panel-deals")).to_be_visible()
    expect(page.locator("#panel-timeline")).to_be_hidden()

    page.once("dialog", lambda dialog: dialog.dismiss())  # "Delete this file?" -> Cancel keeps it
    delete_file = page.locator("form[data-confirm='Delete this file?'] button")
    delete_file.click()
    expect(page.get_by_text("notes.txt")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    delete_file.click()
    expect(page.get_by_text("Deleted notes.txt.")).to_be_visible()

    page.goto("/crm/")
    page.get_by_label("Select all").check()
    boxes = page.locator("input[name=ids]")
    assert boxes.count() >= 1 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=str(tmp_path / "contacts-1400.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/crm/contacts/{contact['id']}")
    page.screenshot(path=str(tmp_path / "contact-390.png"), full_page=True)
    assert violations == []


def test_owner_lookup_fills_the_picker_under_the_policy(page, login, admin, make_user, tenant):
    make_user(tenant, "ADMIN", name="Quentin Lookup")
    violations = _violations(page)
    login(admin, next_path="/crm/customers/new")
    page.locator("#owner-search").fill("Quentin")
    expect(page.locator("#owner-select option", has_text="Quentin Lookup")).to_have_count(1)
    expect(page.locator("#owner-select option")).to_have_count(1)
    assert violations == []


def test_crm_pages_cannot_be_framed(page, login, admin, live_server_url):
    login(admin)
    page.set_content(f'<iframe id="f" src="{live_server_url}/crm/" width="600" height="400"></iframe>')
    page.wait_for_timeout(1000)
    frame = page.frame_locator("#f")
    expect(frame.get_by_text("New contact")).to_have_count(0)
