"""Contact signals go out after commit (receivers see stored data) and never break a request."""
from contextlib import contextmanager

from sqlalchemy import func, select

from kw_crm import signals
from kw_crm.db import session as crm_session
from kw_crm.models import Contact


@contextmanager
def receiving(signal, receiver):
    signal.connect(receiver)
    try:
        yield
    finally:
        signal.disconnect(receiver)


def test_created_updated_deleted_are_sent_after_commit(admin_client):
    seen = []

    def on_created(contact, **_):
        # A fresh query in the receiver sees the committed row.
        seen.append(("created", contact.id, crm_session.scalar(select(func.count(Contact.id)).where(Contact.id == contact.id))))

    def on_updated(contact, changes=(), **_):
        seen.append(("updated", contact.id, list(changes)))

    def on_deleted(contact, **_):
        seen.append(("deleted", contact.id, contact.email))

    with receiving(signals.contact_created, on_created), receiving(signals.contact_updated, on_updated), \
            receiving(signals.contact_deleted, on_deleted):
        cid = admin_client.post("/api/crm/contacts", json={"first_name": "S", "last_name": "G",
                                                           "email": "s@example.test"}).get_json()["id"]
        admin_client.patch(f"/api/crm/contacts/{cid}", json={"status": "active"})
        admin_client.patch(f"/api/crm/contacts/{cid}", json={"status": "active"})  # no change, no signal
        admin_client.delete(f"/api/crm/contacts/{cid}")
    assert seen == [("created", cid, 1), ("updated", cid, ["status"]), ("deleted", cid, "s@example.test")]


def test_no_signal_when_the_write_is_refused(admin_client):
    seen = []
    with receiving(signals.contact_created, lambda c, **_: seen.append(c)):
        admin_client.post("/api/crm/contacts", json={"first_name": "S", "last_name": "G", "email": "a@example.test"})
        response = admin_client.post("/api/crm/contacts", json={"first_name": "T", "last_name": "G",
                                                                "email": "A@example.test"})
    assert response.status_code == 422
    assert len(seen) == 1


def test_a_raising_receiver_does_not_undo_or_break_the_change(admin_client):
    def broken(contact, **_):
        raise RuntimeError("receiver bug")

    with receiving(signals.contact_created, broken):
        response = admin_client.post("/api/crm/contacts", json={"first_name": "S", "last_name": "G"})
    assert response.status_code == 201
    assert admin_client.get(f"/api/crm/contacts/{response.get_json()['id']}").status_code == 200


def test_bulk_reassign_sends_one_update_per_contact(admin_client, make_user, tenant):
    owner = make_user(tenant, "ADMIN")
    ids = [admin_client.post("/api/crm/contacts", json={"first_name": f"B{i}", "last_name": "X"}).get_json()["id"]
           for i in range(2)]
    seen = []
    with receiving(signals.contact_updated, lambda c, changes=(), **_: seen.append((c.id, c.owner_id, list(changes)))):
        admin_client.post("/api/crm/contacts/bulk", json={"action": "reassign", "ids": ids, "owner_id": owner.id})
    assert sorted(seen) == sorted((i, owner.id, ["owner_id"]) for i in ids)
