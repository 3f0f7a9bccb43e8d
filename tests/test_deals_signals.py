"""Signals other plugins can trust: sent after commit, with stage keys, isolated from failing
receivers — and received by a real second plugin loaded through the host's entry points."""
import logging
import sys

import pytest

from host_stub import create_app
from kw_crm import signals
from tests.conftest import CrmClient
from tests.plugins import won_listener
from tests.support.deals import new_deal
from tests.support.products import catalogue


@pytest.fixture
def received():
    """Connect a recorder to every deal signal (disconnected afterwards)."""
    log = []
    names = ("deal_created", "deal_updated", "deal_stage_changed", "deal_won", "deal_lost", "deal_archived")
    receivers = {}
    for name in names:
        def receiver(sender, _name=name, **kwargs):
            from kw_crm.db import session
            from kw_crm.models import Deal
            # the change is committed: a fresh read in a new transaction sees it
            stored = session.get(Deal, sender.id)
            log.append((_name, sender.id, kwargs, stored.stage.key if stored else None))
        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield log
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def test_deal_signals_carry_stage_keys_and_see_committed_data(admin_client, received):
    deal = new_deal(admin_client)
    path = f"/api/crm/deals/{deal['id']}"
    admin_client.patch(path, json={"title": "Renamed", "version": 1})
    admin_client.post(f"{path}/stage", json={"stage": "PROPOSAL"})
    admin_client.post(f"{path}/close", json={"outcome": "won"})
    other = new_deal(admin_client)
    admin_client.post(f"/api/crm/deals/{other['id']}/close", json={"outcome": "lost"})
    admin_client.post(f"/api/crm/deals/{other['id']}/archive", json={"reason": "old"})
    mine = [(name, kwargs, stage) for name, deal_id, kwargs, stage in received if deal_id == deal["id"]]
    assert mine == [
        ("deal_created", {}, "LEAD"),
        ("deal_updated", {}, "LEAD"),
        ("deal_stage_changed", {"old_stage": "LEAD", "new_stage": "PROPOSAL"}, "PROPOSAL"),
        ("deal_stage_changed", {"old_stage": "PROPOSAL", "new_stage": "WON"}, "WON"),
        ("deal_won", {}, "WON"),
    ]
    theirs = [name for name, deal_id, _, _ in received if deal_id == other["id"]]
    assert theirs == ["deal_created", "deal_stage_changed", "deal_lost", "deal_archived"]


def test_no_signal_for_a_refused_change(admin_client, received):
    deal = new_deal(admin_client)
    received.clear()
    assert admin_client.post("/api/crm/deals/bulk-stage", json={"ids": [deal["id"], 2_000_000_000],
                                                                "stage": "WON"}).status_code == 422
    assert admin_client.patch(f"/api/crm/deals/{deal['id']}", json={"title": "x", "version": 9}).status_code == 409
    assert received == []


def test_a_raising_receiver_is_logged_and_isolated(admin_client, outbox, admin, caplog):
    def broken(sender, **kwargs):
        raise RuntimeError("receiver bug")

    signals.deal_won.connect(broken)
    try:
        deal = new_deal(admin_client)
        with caplog.at_level(logging.ERROR, logger="kw_crm.signals"):
            response = admin_client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"})
    finally:
        signals.deal_won.disconnect(broken)
    assert response.status_code == 200
    assert admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()["stage"] == "WON"
    assert [m["to"] for m in outbox] == [admin.email]
    assert any("receiver bug" in (r.exc_text or "") or "deal-won" in r.getMessage() for r in caplog.records)


@pytest.fixture
def app_with_listener(database_url, tmp_path, app):
    """A second host app whose plugins include ``won_listener``, registered the way a real
    plugin is: a distribution on sys.path whose entry_points.txt names it in ``kw_platform``."""
    dist = tmp_path / "kw_won_listener-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kw-won-listener\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[kw_platform]\nwon_listener = tests.plugins.won_listener\n")
    sys.path.insert(0, str(tmp_path))
    try:
        second = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret"})
    finally:
        sys.path.remove(str(tmp_path))
    second.test_client_class = CrmClient
    yield second
    signals.deal_won.disconnect(won_listener.on_deal_won)


def test_a_second_plugin_loaded_through_entry_points_reacts_to_deal_won(app_with_listener, admin):
    state = app_with_listener.extensions["host_stub"]
    assert state.plugin_manager.has_plugin("won_listener")
    assert "won_listener" not in state.plugin_errors
    client = app_with_listener.test_client().login(admin)
    # this app has the host's default: a product is required
    deal = new_deal(client, title="Big one", product_id=catalogue(client)["Meridian"]["id"])
    assert app_with_listener.extensions["won_listener"] == []
    client.post(f"/api/crm/deals/{deal['id']}/stage", json={"stage": "NEGOTIATION"})
    assert app_with_listener.extensions["won_listener"] == []
    assert client.post(f"/api/crm/deals/{deal['id']}/close", json={"outcome": "won"}).status_code == 200
    assert app_with_listener.extensions["won_listener"] == [
        {"id": deal["id"], "title": "Big one", "stage": "WON", "owner_id": admin.id}]
