"""Contacts in a real browser: create with a new company, chips, search, bulk re-assign,
timeline notes and activities, attachment upload and download."""
import re

from playwright.sync_api import expect


def api_contact(client, **fields):
    response = client.post("/api/crm/contacts", json={"first_name": "Jane", "last_name": "Smith", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_create_a_contact_with_a_new_company(page, login, admin):
    login(admin)
    page.get_by_role("link", name="+ New contact").click()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email").fill("grace@navy.test")
    page.get_by_label("Company (free text)").fill("Compiler Works")
    page.get_by_label("Type").select_option("partner")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("Grace Hopper"))).to_be_visible()
    expect(page.get_by_text("Compiler Works").first).to_be_visible()
    # The new customer is now offered in the company picker of the next contact.
    page.goto("/crm/contacts/new")
    expect(page.get_by_label("Customer (company)").locator("option", has_text="Compiler Works")).to_have_count(1)
    page.goto("/crm/")
    row = page.get_by_role("row", name=re.compile("Grace Hopper"))
    expect(row).to_contain_text("Partner")
    expect(row).to_contain_text("Compiler Works")


def test_filter_by_chip_and_search(page, login, admin, admin_client):
    api_contact(admin_client, first_name="Vera", last_name="Vendor", type="vendor", email="vera@supply.test")
    api_contact(admin_client, first_name="Carl", last_name="Customer", company="Carlco")
    login(admin)
    page.get_by_role("link", name=re.compile(r"Vendors\s+1")).click()
    table = page.get_by_role("table", name="Contacts")
    expect(table.get_by_role("row")).to_have_count(2)  # header + Vera
    expect(table).to_contain_text("Vera Vendor")
    expect(table.locator("tbody .pill-vendor")).to_have_count(1)
    page.get_by_role("link", name=re.compile(r"^All")).click()
    page.get_by_label("Search contacts").fill("carlco")
    page.get_by_label("Search contacts").press("Enter")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("Carl Customer")
    expect(table).not_to_contain_text("Vera Vendor")


def test_bulk_reassign_from_the_list(page, login, admin, admin_client, make_user, tenant):
    owner = make_user(tenant, "ADMIN", name="Olivia Owner")
    ids = [api_contact(admin_client, first_name=name) for name in ("Ann", "Ben", "Cid")]
    login(admin)
    page.get_by_label("Select Ann Smith").check()
    page.get_by_label("Select Cid Smith").check()
    page.get_by_label("Bulk action").select_option("reassign")
    page.get_by_label("New owner").select_option(label="Olivia Owner")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("Re-assigned 2 contacts")
    owners = {c["id"]: c["owner_id"] for c in admin_client.get("/api/crm/contacts").get_json()}
    assert [owners[i] == owner.id for i in ids] == [True, False, True]


def test_note_and_activity_appear_on_the_timeline(page, login, admin, admin_client):
    cid = api_contact(admin_client)
    login(admin, next_path=f"/crm/contacts/{cid}")
    page.get_by_label("Note text").fill("Met at the trade fair <b>not bold</b>")
    page.get_by_role("button", name="Add note").click()
    page.get_by_label("Activity type").select_option("call")
    page.get_by_label("Title").fill("Follow-up call")  # contract 8.1 names it title
    page.get_by_label("Due date").fill("2031-05-06")
    page.get_by_role("button", name="Log activity").click()
    timeline = page.locator("#panel-timeline")
    expect(timeline).to_contain_text("Met at the trade fair <b>not bold</b>")
    entries = timeline.locator("li")
    expect(entries.first).to_contain_text("Follow-up call")
    expect(entries.first).to_contain_text("due 2031-05-06")
    entries.first.get_by_role("button", name="Complete").click()
    expect(page.locator("#panel-timeline li").first).to_contain_text("completed")


def test_upload_and_download_an_attachment(page, login, admin, admin_client, tmp_path):
    cid = api_contact(admin_client)
    source = tmp_path / "contract v2.pdf"
    source.write_bytes(b"%PDF-1.4 signed contract")
    login(admin, next_path=f"/crm/contacts/{cid}")
    page.get_by_label("File to attach").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    link = page.get_by_role("link", name="contract v2.pdf")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "contract v2.pdf"
    assert open(download.path(), "rb").read() == b"%PDF-1.4 signed contract"
