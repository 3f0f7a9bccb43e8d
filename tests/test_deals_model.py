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
