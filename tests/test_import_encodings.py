"""Encodings (UTF-8 +/- BOM, UTF-16 with BOM, Windows-1252), delimiters, quoted newlines, and
files that are none of these: a clear 422 naming the file, and nothing written."""
import codecs

import pytest

from tests.support.importing import api_import, api_preview, contacts_of, csv_bytes

NAMES = [["Zoë", "Ñúñez", "zoe@example.test", "", "Café Ütopia", "Directrice", "lead"],
         ["Jürgen", "Groß", "jurgen@example.test", "", "Straße & Söhne", "CEO", "active"]]


@pytest.mark.parametrize("encoding,prefix", [
    ("utf-8", b""),
    ("utf-8", codecs.BOM_UTF8),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("cp1252", b""),
])
def test_supported_encodings_import_the_same_text(app, admin_client, tenant, encoding, prefix):
    data = prefix + csv_bytes(NAMES, encoding=encoding)
    preview = api_preview(admin_client, data).get_json()
    assert [c["field"] for c in preview["columns"]][0] == "first_name"  # no BOM left in the header
    assert preview["rows"][0]["first_name"] == "Zoë"
    assert api_import(admin_client, data).get_json()["created"] == 2
    stored = contacts_of(app, tenant)
    assert [(c["first_name"], c["last_name"], c["company"]) for c in stored] == [
        ("Zoë", "Ñúñez", "Café Ütopia"), ("Jürgen", "Groß", "Straße & Söhne")]


def test_windows_1252_accents_far_into_the_file_still_decode(app, admin_client, tenant):
    plain = [[f"Ann{i}", "Smith", f"ann{i}@example.test", "", "", "", ""] for i in range(9000)]
    data = csv_bytes(plain + [["Renée", "Müller", "renee@example.test", "", "Société Générale", "", ""]],
                     encoding="cp1252")
    assert len(data) > 320 * 1024  # the accent comes after the sniffed head and the first read
    assert api_import(admin_client, data).get_json()["created"] == 9001
    assert contacts_of(app, tenant)[-1]["company"] == "Société Générale"


@pytest.mark.parametrize("data,hint", [
    ("first,last\nA,B\n".encode("utf-16-le"), "UTF-16 without a byte order mark"),
    (codecs.BOM_UTF32_LE + "firstname,lastname\nA,B\n".encode("utf-32-le"), "UTF-32"),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 100, "workbook"),
    (b"firstname,lastname\nA\x81\x8d,B\n", "not valid text"),
    (b"", "empty"),
])
def test_other_encodings_get_a_clear_error(app, admin_client, tenant, data, hint):
    for send in (api_preview, api_import):
        response = send(admin_client, data)
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert hint in error["message"] and error["fields"]["file"]
    assert contacts_of(app, tenant) == []


def test_invalid_bytes_after_utf8_text_fail_the_whole_file(app, admin_client, tenant):
    good = csv_bytes([["Zoë", "One", "z1@example.test", "", "", "", ""]] +
                     [[f"P{i}", "Two", f"p{i}@example.test", "", "", "", ""] for i in range(5000)])
    data = good + "Renée,Three,r@example.test,,,,\r\n".encode("cp1252")
    response = api_import(admin_client, data)
    assert response.status_code == 422 and "not valid text" in response.get_json()["error"]["message"]
    assert contacts_of(app, tenant) == []


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_detected(app, admin_client, tenant, delimiter):
    rows = [["Ada", "Lovelace", "ada@example.test", "+44 1, 2; 3", "Engines, Ltd; UK", "", "lead"]]
    data = csv_bytes(rows, header=["First Name", "Last Name", "Email", "Phone", "Company", "Title", "Status"],
                     delimiter=delimiter)
    preview = api_preview(admin_client, data).get_json()
    assert preview["delimiter"] == delimiter
    api_import(admin_client, data)
    [contact] = contacts_of(app, tenant)
    assert contact["phone"] == "+44 1, 2; 3" and contact["company"] == "Engines, Ltd; UK"


def test_quoted_newlines_stay_inside_the_cell_and_rows_are_numbered_as_records(app, admin_client, tenant):
    data = (b'firstname,lastname,company\r\n'
            b'Ada,Lovelace,"Analytical\r\nEngines"\r\n'
            b',Nobody,"two\nlines"\r\n'
            b'Bob,Smith,Plain\r\n')
    body = api_import(admin_client, data).get_json()
    assert body["created"] == 2
    assert body["errors"] == [{"row": 3, "message": "Missing first name."}]
    assert [c["company"] for c in contacts_of(app, tenant)] == ["Analytical\r\nEngines", "Plain"]


def test_excel_unicode_text_export_utf16_with_tabs(app, admin_client, tenant):
    data = codecs.BOM_UTF16_LE + csv_bytes(NAMES, header=["First name", "Last name", "E-mail Address", "Mobile Phone",
                                                          "Company", "Job Title", "Status"],
                                           delimiter="\t", encoding="utf-16-le")
    body = api_import(admin_client, data).get_json()
    assert (body["created"], body["skipped"]) == (2, 0)
    assert [c["last_name"] for c in contacts_of(app, tenant)] == ["Ñúñez", "Groß"]
