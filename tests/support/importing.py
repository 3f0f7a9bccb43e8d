"""Helpers of the import tests: build CSV bytes, post them, read back the tenant's contacts."""
import csv
import io

from sqlalchemy import select

from host_stub.models import db
from kw_crm.models.contact import Contact
from kw_crm.tenancy import tenant_scope

HEADER = ["firstname", "lastname", "email", "phone", "company", "jobtitle", "status"]


def csv_bytes(rows, header=HEADER, delimiter=",", encoding="utf-8") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, url: str, data: bytes, filename: str = "contacts.csv", **kwargs):
    return client.post(url, data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", **kwargs)


def api_import(client, data: bytes, **kwargs):
    return upload(client, "/api/crm/import", data, **kwargs)


def api_preview(client, data: bytes, **kwargs):
    return upload(client, "/api/crm/import/preview", data, **kwargs)


def contacts_of(app, tenant) -> list[dict]:
    """Every contact of ``tenant`` as dicts, in id order."""
    with app.app_context(), tenant_scope(tenant.id):
        rows = db.session.scalars(select(Contact).order_by(Contact.id)).all()
        return [{k: getattr(c, k) for k in ("id", "first_name", "last_name", "email", "phone", "company",
                                             "job_title", "status", "type", "customer_id", "updated_at")}
                for c in rows]


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
