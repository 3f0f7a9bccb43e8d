"""Deal service and model rules that need two sessions or direct model access."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from host_stub.models import db
from kw_crm.errors import Conflict
from kw_crm.models import Deal
from kw_crm.services import deals
from tests.support.deals import new_deal


def _race(tenant, crm_scope, deal_id, write):
    """Load the deal in this session, let another connection save it, then run ``write``."""
    with crm_scope(tenant):
        loaded = deals.get(deal_id)  # held, as a request holds what it read
        assert loaded.version == 1
        with db.engine.begin() as other:
            other.execute(text("UPDATE crm_deals SET title = 'Theirs', version = 2 WHERE id = :id"), {"id": deal_id})
        with pytest.raises(Conflict, match="changed by someone else"):
            write()
        assert loaded is not None


@pytest.mark.parametrize("action", ["update", "move_stage", "close"])
def test_a_write_racing_between_read_and_save_is_a_409_not_a_lost_update(admin_client, admin, tenant, crm_scope,
                                                                          outbox, action):
    created = new_deal(admin_client, title="Original")
    deal_id = created["id"]
    write = {
        "update": lambda: deals.update(deal_id, {"title": "Mine"}, version=1, actor_id=admin.id),
        "move_stage": lambda: deals.move_stage(deal_id, "WON", actor_id=admin.id),
        "close": lambda: deals.close(deal_id, "won", reason=None, actor_id=admin.id),
    }[action]
    _race(tenant, crm_scope, deal_id, write)
    stored = admin_client.get(f"/api/crm/deals/{deal_id}").get_json()
    assert (stored["title"], stored["stage"], stored["version"]) == ("Theirs", "LEAD", 2)
    assert outbox == []  # the refused win queued no mail


def test_value_cents_cannot_be_negative_in_the_database(app, tenant, crm_scope, admin_client):
    created = new_deal(admin_client)
    with crm_scope(tenant) as session:
        with pytest.raises(IntegrityError):
            session.execute(text("UPDATE crm_deals SET value_cents = -1 WHERE id = :id"), {"id": created["id"]})
            session.flush()
        session.rollback()
        assert session.get(Deal, created["id"]).value_cents == 500_000


def _profile(crm_scope, tenant, customer_id):
    from kw_crm.services import lifecycle

    with crm_scope(tenant):
        profile = lifecycle.profile_for(customer_id)
        return (profile.lifecycle_stage, profile.archived_at) if profile else None


def test_deals_drive_the_customer_lifecycle(app, admin_client, tenant, crm_scope):
    from tests.support.deals import new_customer

    customer_id = new_customer(app, tenant)
    new_deal(admin_client, customer_id=customer_id, value_cents=0)
    assert _profile(crm_scope, tenant, customer_id) is None  # a zero-value deal qualifies nobody
    deal = new_deal(admin_client, customer_id=customer_id, value_cents=100)
    assert _profile(crm_scope, tenant, customer_id) == ("qualified", None)
    admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})
    assert _profile(crm_scope, tenant, customer_id) == ("customer", None)


def test_an_archived_customer_accepts_no_new_deals(app, admin_client, tenant, crm_scope):
    from kw_crm.db import utcnow
    from kw_crm.models import CustomerProfile
    from tests.support.deals import new_customer

    customer_id = new_customer(app, tenant)
    open_customer = new_customer(app, tenant, name="Open Co")
    with crm_scope(tenant) as session:
        session.add(CustomerProfile(customer_id=customer_id, archived_at=utcnow(), archive_reason="gone"))
        session.commit()
    refused = admin_client.post("/api/crm/deals", json={"title": "x", "customer_id": customer_id})
    assert refused.status_code == 409 and "archived" in refused.get_json()["error"]["message"]
    deal = new_deal(admin_client, customer_id=open_customer)
    moved = admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"customer_id": customer_id, "version": 1})
    assert moved.status_code == 409
    assert admin_client.get("/api/crm/deals").get_json()[0]["customer_id"] == open_customer


def test_contact_deal_counts_and_tab(admin_client, tenant, crm_scope):
    """The contact list's Deals column and the contact page's Deals tab show the real deals."""
    from tests.support.deals import new_contact

    jane = new_contact(crm_scope, tenant, first="Jane")
    joe = new_contact(crm_scope, tenant, first="Joe")
    new_deal(admin_client, title="Jane 1", contact_id=jane)
    new_deal(admin_client, title="Jane 2", contact_id=jane, value_cents=12_00)
    gone = new_deal(admin_client, title="Jane archived", contact_id=jane)
    admin_client.post(f"/api/crm/deals/{gone['id']}/archive", json={"reason": "dup"})
    counts = {c["id"]: c["deal_count"] for c in admin_client.get("/api/crm/contacts").get_json()}
    assert counts == {jane: 2, joe: 0}
    html = admin_client.get(f"/crm/contacts/{jane}").get_data(as_text=True)
    assert "Jane 2" in html and "Jane archived" not in html
