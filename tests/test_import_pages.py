"""The page flow on both routes, the upload limit (413) on pages and API, tokens, the CLI and
the CSV-cell helper."""
import re

import pytest

from kw_crm.csvsafe import safe_cell
from tests.support.importing import api_import, api_preview, contacts_of, csv_bytes, read_csv, upload

ROUTES = ["/crm/import", "/admin/crm/import"]


def token_of(location: str) -> str:
    return re.search(r"/import/([A-Za-z0-9_-]+)$", location).group(1)


@pytest.mark.parametrize("base", ROUTES)
def test_upload_preview_import_summary(app, admin_client, tenant, base):
    rows = [["Ada", "Lovelace", "ada@example.test", "", "<b>Engines</b>", "", ""],
            ["", "Nameless", "", "", "", "", ""]]
    rows += [[f"P{i}", "Person", f"p{i}@example.test", "", "", "", ""] for i in range(12)]
    page = admin_client.get(base)
    assert page.status_code == 200 and b'type="file"' in page.data

    response = upload(admin_client, base, csv_bytes(rows, header=[
        "First Name", "Surname", "E-mail", "Phone", "Organisation", "Title", "Status"]))
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    assert preview_url.startswith(base + "/")
    preview = admin_client.get(preview_url)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Organisation" in html and "&lt;b&gt;Engines&lt;/b&gt;" in html and "<b>Engines" not in html
    assert html.count("<tr") == 1 + 7 + 1 + 10  # mapping header + 7 columns, preview header + 10 rows
    assert "Will be skipped: Missing first name." in html
    assert contacts_of(app, tenant) == []  # preview writes nothing

    done = admin_client.post(preview_url)
    assert done.status_code == 302 and done.headers["Location"].endswith("/summary")
    summary = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'data-count="created">13<' in summary and 'data-count="skipped">1<' in summary
    assert len(contacts_of(app, tenant)) == 13

    skipped = admin_client.get(preview_url + "/skipped.csv")
    assert skipped.status_code == 200 and skipped.mimetype == "text/csv"
    assert read_csv(skipped.data)[1][:2] == ["3", "Missing first name."]
    assert admin_client.post(preview_url).status_code == 404  # the upload is gone once imported


def test_a_file_missing_a_column_shows_the_error_on_the_upload_page(admin_client, app, tenant):
    response = upload(admin_client, "/crm/import", csv_bytes([["x"]], header=["first name"]))
    page = admin_client.get(response.headers["Location"])
    assert page.status_code == 422 and "Missing required column: lastname" in page.get_data(as_text=True)


def test_upload_without_file_is_a_422(admin_client):
    response = admin_client.post("/crm/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose a CSV file" in response.get_data(as_text=True)


def test_tokens_of_another_tenant_are_not_found(app, admin_client, other_admin_client, tenant):
    response = upload(admin_client, "/crm/import", csv_bytes([["A", "B", "", "", "", "", ""]]))
    url = response.headers["Location"]
    assert other_admin_client.get(url).status_code == 404
    assert other_admin_client.post(url).status_code == 404
    assert admin_client.get(url).status_code == 200


def test_too_large_uploads_get_413_before_anything_is_read(app, admin_client, tenant, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAX_IMPORT_BYTES", 2048)
    data = csv_bytes([[f"P{i}", "Person", f"p{i}@example.test", "", "", "", ""] for i in range(200)])
    assert len(data) > 2048
    api = api_import(admin_client, data)
    assert api.status_code == 413 and api.get_json()["error"]["code"] == "too_large"
    assert api_preview(admin_client, data).status_code == 413
    for base in ROUTES:
        page = upload(admin_client, base, data)
        assert page.status_code == 413 and "larger than the import limit" in page.get_data(as_text=True)
    assert contacts_of(app, tenant) == []
    small = csv_bytes([["A", "B", "", "", "", "", ""]])
    assert api_import(admin_client, small).status_code == 200


def test_api_import_needs_a_file_field(admin_client):
    response = admin_client.post("/api/crm/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]


def test_formula_looking_text_is_stored_as_typed_and_neutralised_in_downloads(app, admin_client, tenant):
    data = csv_bytes([["=1+2", "-Smith", "f@example.test", "+1 555", "@Corp", "=cmd|'/C calc'!A0", ""],
                      ["=HYPERLINK(\"x\")", "", "", "", "", "", ""]])
    response = upload(admin_client, "/crm/import", data)
    url = response.headers["Location"]
    admin_client.post(url)
    [contact] = contacts_of(app, tenant)
    assert (contact["first_name"], contact["last_name"], contact["company"]) == ("=1+2", "-Smith", "@Corp")
    rows = read_csv(admin_client.get(url + "/skipped.csv").data)
    assert rows[1][2] == "'=HYPERLINK(\"x\")"


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("plain", "plain"), ("a=b", "a=b"), ("", ""), (None, ""), (42, 42), (-3, -3), (1.5, 1.5),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_cli_imports_into_the_named_tenant_with_progress(app, make_tenant, tmp_path):
    target = make_tenant()
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes([[f"P{i}", "Person", f"p{i}@example.test", "", "", "", ""] for i in range(2500)]
                               + [["", "Skip", "", "", "", "", ""]]))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "import", str(path), "--tenant", target.name])
    assert result.exit_code == 0, result.output
    assert "created 2500, updated 0" in result.output and "skipped 1" in result.output
    assert "rows/s" in result.output and "row 2502: Missing first name." in result.output
    assert len(contacts_of(app, target)) == 2500
    again = runner.invoke(args=["crm", "import", str(path), "--tenant", target.name])
    assert "created 0, updated 2500" in again.output


def test_cli_refuses_unknown_tenants_and_bad_files(app, tenant, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "x.csv"
    path.write_bytes(b"email\nx@example.test\n")
    unknown = runner.invoke(args=["crm", "import", str(path), "--tenant", "no-such-tenant"])
    assert unknown.exit_code != 0 and "No tenant called 'no-such-tenant'" in unknown.output
    bad = runner.invoke(args=["crm", "import", str(path), "--tenant", tenant.name])
    assert bad.exit_code != 0 and "Missing required columns: firstname, lastname" in bad.output
    assert contacts_of(app, tenant) == []


def test_cli_refuses_a_tenant_without_the_crm(app, make_tenant, tmp_path):
    target = make_tenant(features=())
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes([["A", "B", "", "", "", "", ""]]))
    result = app.test_cli_runner().invoke(args=["crm", "import", str(path), "--tenant", target.name])
    assert result.exit_code != 0 and "not enabled" in result.output
    assert contacts_of(app, target) == []
