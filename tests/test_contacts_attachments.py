"""Attachments: upload limits, generated storage names, safe downloads, file deletion."""
import io
from pathlib import Path

from sqlalchemy import select

from kw_crm.models import Attachment


def new_contact(client, **fields):
    response = client.post("/api/crm/contacts", json={"first_name": "Ada", "last_name": "Files", **fields})
    assert response.status_code == 201
    return response.get_json()["id"]


def upload(client, contact_id, data: bytes, name="report.pdf"):
    return client.post(f"/api/crm/contacts/{contact_id}/attachments",
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def stored_files(app) -> set[Path]:
    return {p for p in Path(app.config["CRM_STORAGE_DIR"]).rglob("*") if p.is_file()}


def stored_path(app, tenant, crm_scope, attachment_id) -> Path:
    with crm_scope(tenant) as session:
        key = session.scalar(select(Attachment.storage_key).where(Attachment.id == attachment_id))
    return Path(app.config["CRM_STORAGE_DIR"]) / key[:2] / key


def test_upload_list_download_delete(app, admin_client, tenant, crm_scope):
    cid = new_contact(admin_client)
    payload = b"%PDF-1.4 quarterly numbers"
    response = upload(admin_client, cid, payload, name="../../etc/Q3 report \u00e9t\u00e9.pdf")
    assert response.status_code == 201, response.get_json()
    attachment = response.get_json()
    assert attachment["filename"] == "Q3 report \u00e9t\u00e9.pdf"
    assert attachment["size_bytes"] == len(payload)
    path = stored_path(app, tenant, crm_scope, attachment["id"])
    assert path.read_bytes() == payload
    assert "report" not in path.name  # stored under a generated name, never the client's

    listed = admin_client.get(f"/api/crm/contacts/{cid}/attachments")
    assert [a["id"] for a in listed.get_json()] == [attachment["id"]]

    download = admin_client.get(f"/api/crm/contacts/{cid}/attachments/{attachment['id']}")
    assert download.status_code == 200
    assert download.data == payload
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''Q3%20report%20%C3%A9t%C3%A9.pdf" in disposition
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    page = admin_client.get(f"/crm/contacts/{cid}/attachments/{attachment['id']}")
    assert page.status_code == 200 and page.data == payload

    assert admin_client.delete(f"/api/crm/contacts/{cid}/attachments/{attachment['id']}").status_code == 204
    assert not path.exists()
    assert admin_client.get(f"/api/crm/contacts/{cid}/attachments").get_json() == []


def test_header_injection_in_the_file_name_is_neutralised(admin_client):
    cid = new_contact(admin_client)
    attachment = upload(admin_client, cid, b"x", name='evil"\r\nSet-Cookie: a=b;.html').get_json()
    download = admin_client.get(f"/api/crm/contacts/{cid}/attachments/{attachment['id']}")
    assert "Set-Cookie" not in download.headers
    assert "\n" not in download.headers["Content-Disposition"]
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_oversized_upload_is_413_and_keeps_nothing(app, admin_client):
    cid = new_contact(admin_client)
    before = stored_files(app)
    app.config["CRM_MAX_ATTACHMENT_BYTES"] = 1024
    try:
        response = upload(admin_client, cid, b"x" * 1025)
        assert response.status_code == 413
        assert response.get_json()["error"]["code"] == "too_large"
        assert upload(admin_client, cid, b"x" * 1024).status_code == 201
    finally:
        app.config["CRM_MAX_ATTACHMENT_BYTES"] = 10 * 1024 * 1024
    assert len(admin_client.get(f"/api/crm/contacts/{cid}/attachments").get_json()) == 1
    assert len(stored_files(app) - before) == 1


def test_zero_byte_or_missing_file_is_422(app, admin_client):
    cid = new_contact(admin_client)
    before = stored_files(app)
    response = upload(admin_client, cid, b"")
    assert response.status_code == 422
    assert "file" in response.get_json()["error"]["fields"]
    response = admin_client.post(f"/api/crm/contacts/{cid}/attachments", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert stored_files(app) == before
    assert admin_client.get(f"/api/crm/contacts/{cid}/attachments").get_json() == []


def test_deleting_a_contact_deletes_its_files(app, admin_client, tenant, crm_scope):
    keep = new_contact(admin_client, email="keep@example.test")
    doomed = new_contact(admin_client, email="doomed@example.test")
    kept = upload(admin_client, keep, b"keep me").get_json()["id"]
    gone = [upload(admin_client, doomed, b"bye %d" % i).get_json()["id"] for i in range(2)]
    gone_paths = [stored_path(app, tenant, crm_scope, a) for a in gone]
    kept_path = stored_path(app, tenant, crm_scope, kept)
    assert all(p.exists() for p in gone_paths)
    assert admin_client.delete(f"/api/crm/contacts/{doomed}").status_code == 204
    assert not any(p.exists() for p in gone_paths)
    assert kept_path.exists()


def test_bulk_delete_deletes_files_too(app, admin_client, tenant, crm_scope):
    cid = new_contact(admin_client)
    aid = upload(admin_client, cid, b"data").get_json()["id"]
    path = stored_path(app, tenant, crm_scope, aid)
    assert admin_client.post("/api/crm/contacts/bulk", json={"action": "delete", "ids": [cid]}).status_code == 200
    assert not path.exists()


def test_attachments_of_another_tenant_are_404(admin_client, other_admin_client):
    cid = new_contact(admin_client)
    aid = upload(admin_client, cid, b"secret").get_json()["id"]
    assert other_admin_client.get(f"/api/crm/contacts/{cid}/attachments/{aid}").status_code == 404
    assert other_admin_client.delete(f"/api/crm/contacts/{cid}/attachments/{aid}").status_code == 404
    assert other_admin_client.get(f"/crm/contacts/{cid}/attachments/{aid}").status_code == 404
    assert upload(other_admin_client, cid, b"x").status_code == 404
    # the right attachment id under the wrong contact is a 404 as well
    other = new_contact(admin_client, email="o@example.test")
    assert admin_client.get(f"/api/crm/contacts/{other}/attachments/{aid}").status_code == 404
    assert admin_client.get(f"/api/crm/contacts/{cid}/attachments/{aid}").data == b"secret"
