"""Header matching: every alias, case and spacing, unknown columns, missing required columns."""
import pytest

from tests.support.importing import api_import, api_preview, contacts_of, csv_bytes

ALIASES = {
    "first_name": ["firstname", "first_name", "first name", "given name", "FIRST NAME", "  First_Name  "],
    "last_name": ["lastname", "last_name", "surname", "family name", "Last Name"],
    "email": ["email", "e-mail", "email address", "E-Mail Address"],
    "phone": ["phone", "telephone", "phone number", "mobile"],
    "company": ["company", "organisation", "organization", "company name"],
    "job_title": ["jobtitle", "title", "job title", "position"],
    "status": ["status", "Status"],
}
CANONICAL = {"first_name": "firstname", "last_name": "lastname", "email": "email", "phone": "phone",
             "company": "company", "job_title": "jobtitle", "status": "status"}
VALUES = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.example", "phone": "+1 555 0100",
          "company": "US Navy", "job_title": "Rear Admiral", "status": "active"}


@pytest.mark.parametrize("field,alias", [(f, a) for f, aliases in ALIASES.items() for a in aliases])
def test_every_alias_fills_its_field(app, admin_client, tenant, field, alias):
    header = [alias if name == field else CANONICAL[name] for name in VALUES]
    data = csv_bytes([[VALUES[name] for name in VALUES]], header=header)

    preview = api_preview(admin_client, data).get_json()
    assert {"header": alias.strip(), "field": field} in preview["columns"]
    assert preview["rows"][0][field] == VALUES[field]

    assert api_import(admin_client, data).get_json()["created"] == 1
    [contact] = contacts_of(app, tenant)
    assert contact[field] == VALUES[field]


def test_unknown_columns_are_ignored_and_listed(app, admin_client, tenant):
    data = csv_bytes([["Ada", "Lovelace", "555", "x"]], header=["First Name", "Last Name", "Fax", "Notes=1"])
    preview = api_preview(admin_client, data).get_json()
    assert preview["ignored"] == ["Fax", "Notes=1"]
    assert {"header": "Fax", "field": None} in preview["columns"]
    body = api_import(admin_client, data).get_json()
    assert body["created"] == 1 and body["ignored_columns"] == ["Fax", "Notes=1"]


@pytest.mark.parametrize("header,missing", [
    (["first name", "email"], "lastname"),
    (["surname", "email"], "firstname"),
    (["email", "phone"], "firstname, lastname"),
])
def test_a_missing_required_column_is_named_and_nothing_is_written(app, admin_client, tenant, header, missing):
    data = csv_bytes([["a", "b"]], header=header)
    for send in (api_preview, api_import):
        response = send(admin_client, data)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert "Missing required column" in error["message"] and missing in error["message"]
        assert missing in error["fields"]["file"][0]
    assert contacts_of(app, tenant) == []


def test_the_first_of_two_columns_for_one_field_wins(app, admin_client, tenant):
    data = csv_bytes([["Ada", "Lovelace", "ada@one.example", "ada@two.example"]],
                     header=["firstname", "lastname", "email", "e-mail"])
    preview = api_preview(admin_client, data).get_json()
    assert preview["ignored"] == ["e-mail"]
    api_import(admin_client, data)
    assert contacts_of(app, tenant)[0]["email"] == "ada@one.example"
