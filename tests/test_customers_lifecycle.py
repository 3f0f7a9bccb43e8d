"""The automatic lifecycle rules the deal services rely on (deals made through the models, as
the deal services live on another branch)."""
from kw_crm import signals
from kw_crm.models import Deal, Stage
from kw_crm.services import audit, lifecycle
from kw_crm.services.customers import create_customer


def _setup(s, admin):
    lead = Stage(key="LEAD", label="Lead", probability=10, position=0)
    won = Stage(key="WON", label="Won", probability=100, position=5, outcome="won")
    s.add_all([lead, won])
    s.flush()
    cid = create_customer({"name": "Lifecycle Co"}, actor_id=admin.id)["id"]
    return lead, won, cid


def _deal(s, stage, cid, value):
    deal = Deal(title="Deal", value_cents=value, currency="USD", stage_id=stage.id, customer_id=cid)
    s.add(deal)
    s.flush()
    return deal


def test_value_qualifies_a_prospect_and_a_win_makes_a_customer(crm_scope, tenant, admin):
    seen = []
    def receiver(sender, **kw):
        seen.append((kw["old_stage"], kw["new_stage"]))
    signals.customer_lifecycle_changed.connect(receiver)
    try:
        with crm_scope(tenant) as s:
            lead, won, cid = _setup(s, admin)
            free = _deal(s, lead, cid, 0)
            lifecycle.on_deal_saved(free, actor_id=admin.id)
            assert lifecycle.profile_for(cid).lifecycle_stage == "prospect"
            paid = _deal(s, lead, cid, 5000)
            lifecycle.on_deal_saved(paid, actor_id=admin.id)
            assert lifecycle.profile_for(cid).lifecycle_stage == "qualified"
            s.commit()
            assert seen == []  # sent after commit by kw_crm.db.commit / the request end
            signals.send_committed(s)
            assert seen == [("prospect", "qualified")]
            paid.stage_id = won.id
            lifecycle.on_deal_won(paid, actor_id=admin.id)
            lifecycle.on_deal_won(paid, actor_id=admin.id)  # idempotent: no second change
            s.commit()
            signals.send_committed(s)
            trail = [e for e in audit.history("customer", cid) if e.action == "lifecycle_changed"]
    finally:
        signals.customer_lifecycle_changed.disconnect(receiver)
    assert seen == [("prospect", "qualified"), ("qualified", "customer")]
    assert [e.changes["lifecycle_stage"] for e in trail] == [["qualified", "customer"], ["prospect", "qualified"]]
    assert all(e.actor_id == admin.id for e in trail)
    assert "won" in trail[0].reason and "has a value" in trail[1].reason


def test_a_valued_deal_does_not_demote_a_customer(crm_scope, tenant, admin):
    with crm_scope(tenant) as s:
        lead, _, cid = _setup(s, admin)
        lifecycle.change_stage(lifecycle.profile_for(cid), "customer", actor_id=admin.id, reason="signed")
        lifecycle.on_deal_saved(_deal(s, lead, cid, 100), actor_id=admin.id)
        assert lifecycle.profile_for(cid).lifecycle_stage == "customer"


def test_host_customer_without_profile_gets_one_on_first_deal(crm_scope, tenant, admin):
    from host_stub.models import PortalCustomer

    with crm_scope(tenant) as s:
        lead = Stage(key="LEAD", label="Lead", probability=10)
        customer = PortalCustomer(tenant_id=tenant.id, name="Host Only")
        s.add_all([lead, customer])
        s.flush()
        assert lifecycle.profile_for(customer.id) is None
        lifecycle.on_deal_saved(_deal(s, lead, customer.id, 1), actor_id=None)
        assert lifecycle.profile_for(customer.id).lifecycle_stage == "qualified"
        assert audit.history("customer", customer.id)[0].actor_id is None  # a system change


def test_deals_without_customer_are_ignored(crm_scope, tenant, admin):
    with crm_scope(tenant) as s:
        lead, _, _ = _setup(s, admin)
        deal = _deal(s, lead, None, 100)
        lifecycle.on_deal_saved(deal, actor_id=admin.id)
        lifecycle.on_deal_won(deal, actor_id=admin.id)
        assert not [e for e in audit.history("customer", 0)]
