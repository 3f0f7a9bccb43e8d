"""Upload -> preview -> Import contacts -> summary in Chromium, on both import routes."""
import pytest
from playwright.sync_api import expect

from tests.support.importing import contacts_of, read_csv

CSV = ("First Name;Surname;E-mail;Mobile;Organisation;Position;Status;Fax\r\n"
       "Zoë;Ñúñez;ZOE@example.test;+1 555 0100;=HYPERLINK(\"http://evil\");CTO;Active;123\r\n"
       ";Nameless;nobody@example.test;;;;;\r\n"
       "Ada;Lovelace;ada@example.test;;\"Analytical\r\nEngines\";Countess;;\r\n").encode("cp1252")


@pytest.mark.parametrize("path", ["/crm/import", "/admin/crm/import"])
def test_upload_preview_import_summary(page, login, admin, app, tenant, tmp_path, path):
    source = tmp_path / "outlook export.csv"
    source.write_bytes(CSV)
    login(admin, next_path=path)
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()

    page.set_input_files("input[type=file]", str(source))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Preview: outlook export.csv")).to_be_visible()
    assert page.url.startswith(f"{page.url.split(path)[0]}{path}/")
    mapping = page.locator("table.crm-import-mapping")
    expect(mapping.get_by_role("row", name="Surname last_name")).to_be_visible()
    expect(mapping.get_by_role("row", name="Fax ignored")).to_be_visible()
    expect(page.get_by_text("Ignored columns: Fax")).to_be_visible()
    rows = page.locator("table.crm-import-preview tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Zoë")
    expect(rows.nth(0)).to_contain_text("=HYPERLINK")  # shown as text, never a link
    expect(rows.nth(1)).to_contain_text("Will be skipped: Missing first name.")
    assert contacts_of(app, tenant) == []

    page.get_by_role("button", name="Import contacts").click()
    expect(page.get_by_role("heading", name="Import finished: outlook export.csv")).to_be_visible()
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    expect(page.locator('[data-count="updated"]')).to_have_text("0")
    expect(page.locator('[data-count="skipped"]')).to_have_text("1")
    expect(page.get_by_role("row", name="3 Missing first name.")).to_be_visible()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download skipped rows (CSV)").click()
    skipped = read_csv(download_info.value.path().read_bytes())
    assert skipped[0][:3] == ["row", "reason", "First Name"]
    assert skipped[1][:4] == ["3", "Missing first name.", "", "Nameless"]

    stored = contacts_of(app, tenant)
    assert [(c["first_name"], c["email"], c["company"], c["status"]) for c in stored] == [
        ("Zoë", "ZOE@example.test", "=HYPERLINK(\"http://evil\")", "active"),
        ("Ada", "ada@example.test", "Analytical\r\nEngines", "lead")]
