"""CSV import cases of issue 10: mixed encodings, oversize header fields, emails whose case
Python and the database fold differently, an import killed mid-run."""
import io

import pytest


def _import(client, data: bytes):
    return client.post("/api/crm/import", data={"file": (io.BytesIO(data), "c.csv")}, content_type="multipart/form-data")


def _count(client) -> int:
    return int(client.get("/api/crm/contacts?limit=1").headers["X-Total-Count"])


def test_a_file_mixing_utf8_and_windows_1252_is_refused(admin_client):
    data = "firstname,lastname\nJosé,García\n".encode() + "Zoë,Müller\n".encode("cp1252")
    before = _count(admin_client)
    response = _import(admin_client, data)
    assert response.status_code == 422 and "mixes UTF-8" in response.get_json()["error"]["message"]
    assert _count(admin_client) == before


def test_plain_windows_1252_still_imports(admin_client):
    response = _import(admin_client, "firstname,lastname\nZoë,Müller\n".encode("cp1252"))
    assert response.status_code == 200 and response.get_json()["created"] == 1


@pytest.mark.parametrize("header", [
    b"firstname,lastname," + b"x" * 200_000 + b"\nA,B,c\n",            # a field over csv's field limit
    b"firstname,lastname,\"" + b"y" * 50 * 1024 * 1024 + b"\"\nA,B,c\n",  # one 50 MB line
])
def test_an_oversize_header_is_a_422(admin_client, header):
    response = _import(admin_client, header)
    assert response.status_code == 422 and "header row" in response.get_json()["error"]["message"]


def test_emails_that_fold_differently_in_python_and_sql_import_cleanly(admin_client):
    data = "firstname,lastname,email\nA,One,İx@b.test\nB,Two,ix@b.test\nC,Three,IX@B.TEST\n".encode()
    response = _import(admin_client, data)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["created"] + body["updated"] == 3 and body["skipped"] == 0
    again = _import(admin_client, data)
    assert again.status_code == 200 and again.get_json()["created"] == 0


def test_an_import_killed_mid_run_can_be_run_again(app, admin_client, tenant):
    import os
    import time
    from pathlib import Path

    data = b"firstname,lastname,email\nKim,Killed,kim@example.test\n"
    response = admin_client.post("/crm/import", data={"file": (io.BytesIO(data), "c.csv")},
                                 content_type="multipart/form-data")
    token = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    folder = Path(app.config.get("CRM_IMPORT_DIR") or Path(app.instance_path) / "crm_imports") / str(tenant.id)
    upload, claimed = folder / f"{token}.csv", folder / f"{token}.importing"
    upload.rename(claimed)  # what a worker killed during the import leaves behind
    assert admin_client.post(f"/crm/import/{token}").status_code == 404  # a live claim: still running
    old = time.time() - 10 * 60
    os.utime(claimed, (old, old))
    rerun = admin_client.post(f"/crm/import/{token}")
    assert rerun.status_code == 302 and rerun.headers["Location"].endswith("/summary")
    assert admin_client.get("/api/crm/contacts?q=kim@example.test").headers["X-Total-Count"] == "1"
