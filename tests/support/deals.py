"""Helpers for the deals tests: create records through the real API / models."""
from host_stub.models import PortalCustomer, db
from kw_crm.models import Contact, Job
from kw_crm.tenancy import ALL_TENANTS


def new_deal(client, **fields) -> dict:
    body = {"title": "Website relaunch", "value_cents": 500_000, **fields}
    response = client.post("/api/crm/deals", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def new_contact(crm_scope, tenant, customer_id=None, first="Jane", last="Smith") -> int:
    with crm_scope(tenant) as session:
        contact = Contact(first_name=first, last_name=last, customer_id=customer_id)
        session.add(contact)
        session.commit()
        return contact.id


def new_customer(app, tenant, name="Acme Ltd") -> int:
    with app.app_context():
        customer = PortalCustomer(tenant_id=tenant.id, name=name)
        db.session.add(customer)
        db.session.commit()
        return customer.id


def mails_to(outbox, email) -> list[dict]:
    return [m for m in outbox if m["to"] == email]


def outbox_rows(app, dedupe_prefix: str) -> list[tuple]:
    with app.app_context():
        return [(m.status, m.attempts, m.payload["to"]) for m in db.session.scalars(
            db.select(Job).where(Job.dedupe_key.startswith(dedupe_prefix))
            .execution_options(**ALL_TENANTS))]


def make_retries_due(app, dedupe_prefix: str) -> None:
    """Stand-in for waiting out the retry back-off: move the next attempt into the past."""
    from datetime import timedelta

    from kw_crm.db import utcnow

    with app.app_context():
        db.session.execute(db.update(Job).where(Job.dedupe_key.startswith(dedupe_prefix))
                           .values(run_at=utcnow() - timedelta(seconds=1))
                           .execution_options(**ALL_TENANTS))
        db.session.commit()
