"""Converting a deal into a subscription (seed 004, contract 8.4): one call, all or nothing."""
import threading

import pytest
from sqlalchemy import func, select

from host_stub.models import BillingEvent, Invoice, Payment, Subscription, db
from kw_crm import signals
from tests.support.deals import mails_to, new_customer, new_deal
from tests.support.products import billing_failing_half_way, catalogue


@pytest.fixture
def sellable(admin_client, app, tenant):
    """A customer and an open Meridian deal of theirs, in EUR."""
    cid = new_customer(app, tenant, "Convert Co")
    products = catalogue(admin_client)
    deal = new_deal(admin_client, title="Meridian rollout", value_cents=1_668_00, currency="EUR",
                    customer_id=cid, product_id=products["Meridian"]["id"], stage="NEGOTIATION")
    return {"customer_id": cid, "deal": deal, "products": products, "tenant": tenant}


def db_is_sqlite(app) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def host_rows(app, customer_id) -> dict:
    with app.app_context():
        count = lambda model: db.session.scalar(select(func.count()).select_from(model)  # noqa: E731
                                                .where(model.customer_id == customer_id))
        return {"subscriptions": count(Subscription), "invoices": count(Invoice), "events": count(BillingEvent)}


def test_convert_creates_the_subscription_wins_the_deal_and_makes_a_customer(
        admin_client, admin, app, sellable, outbox):
    seen = []
    receiver = lambda deal, **extra: seen.append((deal.id, extra["subscription"]["id"],  # noqa: E731
                                                  extra["contract_snapshot"]["plan_name"]))
    signals.product_contract_changed.connect(receiver)
    try:
        pro = sellable["products"]["Meridian"]["plans"]["Meridian Pro"]
        response = admin_client.post(f"/api/crm/deals/{sellable['deal']['id']}/convert", json={"plan_id": pro["id"]})
    finally:
        signals.product_contract_changed.disconnect(receiver)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    deal, subscription, snapshot = body["deal"], body["subscription"], body["contract_snapshot"]
    assert deal["stage"] == "WON" and deal["outcome"] == "won" and deal["converted_at"]
    assert deal["plan_id"] == pro["id"] and deal["subscription_id"] == subscription["id"]
    assert subscription["status"] == "active"
    assert (snapshot["plan_name"], snapshot["price_cents"], snapshot["currency"], snapshot["interval"]) == (
        "Meridian Pro", 139_00, "EUR", "month")  # the plan's EUR price: the deal is in EUR
    assert deal["contract_snapshot"] == snapshot
    assert seen == [(deal["id"], subscription["id"], "Meridian Pro")]
    assert host_rows(app, sellable["customer_id"]) == {"subscriptions": 1, "invoices": 1, "events": 2}
    customer = admin_client.get(f"/api/crm/customers/{sellable['customer_id']}").get_json()
    assert customer["lifecycle_stage"] == "customer"
    won = mails_to(outbox, admin.email)
    assert [m["subject"] for m in won] == ["Deal won: Meridian rollout"]


def test_trial_plans_give_a_trial_and_no_invoice(admin_client, app, sellable):
    trial = sellable["products"]["Meridian"]["plans"]["Meridian Trial"]
    body = admin_client.post(f"/api/crm/deals/{sellable['deal']['id']}/convert", json={"plan_id": trial["id"]}).get_json()
    assert body["subscription"]["status"] == "trial" and body["subscription"]["trial_ends_at"]
    assert body["contract_snapshot"]["trial"] is True and body["contract_snapshot"]["trial_days"] == 14
    assert host_rows(app, sellable["customer_id"]) == {"subscriptions": 1, "invoices": 0, "events": 1}


def test_refusals(admin_client, app, tenant, sellable):
    deal_id, products = sellable["deal"]["id"], sellable["products"]
    convert = lambda d, plan_id: admin_client.post(f"/api/crm/deals/{d}/convert", json={"plan_id": plan_id})  # noqa: E731
    other = convert(deal_id, products["RMM"]["plans"]["RMM Team"]["id"])
    assert other.status_code == 409
    assert other.get_json()["error"]["message"].startswith("RMM Team is a plan of RMM, but this deal sells Meridian")
    assert convert(deal_id, 999_999).status_code == 422
    assert admin_client.post(f"/api/crm/deals/{deal_id}/convert", json={}).status_code == 422
    assert admin_client.post(f"/api/crm/deals/{deal_id}/convert",
                             json={"plan_id": 1, "product_id": 1}).status_code == 422  # unknown field
    assert admin_client.post(f"/api/crm/deals/{deal_id}/convert", data="x").status_code == 400
    assert convert(999_999, 1).status_code == 404
    assert host_rows(app, sellable["customer_id"])["subscriptions"] == 0

    pro = products["Meridian"]["plans"]["Meridian Pro"]["id"]
    assert convert(deal_id, pro).status_code == 200
    twice = convert(deal_id, pro)
    assert twice.status_code == 409 and "converted already" in twice.get_json()["error"]["message"]

    # the customer already has Meridian: a second Meridian deal cannot convert
    second = new_deal(admin_client, title="Meridian again", customer_id=sellable["customer_id"],
                      product_id=products["Meridian"]["id"])
    again = convert(second["id"], products["Meridian"]["plans"]["Meridian Starter"]["id"])
    assert again.status_code == 409 and "already has a Meridian subscription" in again.get_json()["error"]["message"]
    assert admin_client.get(f"/api/crm/deals/{second['id']}").get_json()["stage"] == "LEAD"

    lost = new_deal(admin_client, title="Lost one", customer_id=sellable["customer_id"], product_id=products["RMM"]["id"])
    admin_client.post(f"/api/crm/deals/{lost['id']}/close", json={"outcome": "lost"})
    closed = convert(lost["id"], products["RMM"]["plans"]["RMM Team"]["id"])
    assert closed.status_code == 409 and "Closed deals cannot be converted" in closed.get_json()["error"]["message"]

    archived = new_deal(admin_client, title="Archived one", customer_id=sellable["customer_id"],
                        product_id=products["RMM"]["id"])
    admin_client.post(f"/api/crm/deals/{archived['id']}/archive", json={"reason": "duplicate"})
    assert "Archived deals" in convert(archived["id"], products["RMM"]["plans"]["RMM Team"]["id"]).get_json()["error"]["message"]

    no_customer = new_deal(admin_client, title="Nobody", product_id=products["RMM"]["id"])
    assert "needs a customer" in convert(no_customer["id"], products["RMM"]["plans"]["RMM Team"]["id"]).get_json()["error"]["message"]
    assert host_rows(app, sellable["customer_id"])["subscriptions"] == 1


def test_converted_deals_cannot_be_archived_or_deleted(admin_client, sellable):
    deal_id = sellable["deal"]["id"]
    pro = sellable["products"]["Meridian"]["plans"]["Meridian Pro"]["id"]
    admin_client.post(f"/api/crm/deals/{deal_id}/convert", json={"plan_id": pro})
    archive = admin_client.post(f"/api/crm/deals/{deal_id}/archive", json={"reason": "cleanup"})
    assert archive.status_code == 409 and "Converted deals cannot be archived" in archive.get_json()["error"]["message"]
    delete = admin_client.delete(f"/api/crm/deals/{deal_id}")
    assert delete.status_code == 409 and "Converted deals cannot be deleted" in delete.get_json()["error"]["message"]


def test_a_host_failing_half_way_leaves_no_trace(admin_client, admin, app, sellable, outbox):
    deal = sellable["deal"]
    pro = sellable["products"]["Meridian"]["plans"]["Meridian Pro"]["id"]
    before = host_rows(app, sellable["customer_id"])
    with billing_failing_half_way(app):
        response = admin_client.post(f"/api/crm/deals/{deal['id']}/convert", json={"plan_id": pro})
    assert response.status_code == 502
    assert response.get_json()["error"]["message"].startswith("Billing failed while creating the subscription; nothing was changed")
    assert host_rows(app, sellable["customer_id"]) == before  # the subscription, invoice and events rolled back
    after = admin_client.get(f"/api/crm/deals/{deal['id']}").get_json()
    assert (after["stage"], after["converted_at"], after["contract_snapshot"], after["version"]) == (
        "NEGOTIATION", None, None, deal["version"])
    assert admin_client.get(f"/api/crm/customers/{sellable['customer_id']}").get_json()["lifecycle_stage"] != "customer"
    assert mails_to(outbox, admin.email) == []
    runs = admin_client.get(f"/api/crm/deals/{deal['id']}/automation-runs").get_json()
    assert [r["to_stage"] for r in runs] == ["NEGOTIATION"]  # no run for the rolled-back win
    # and it works once billing is back
    assert admin_client.post(f"/api/crm/deals/{deal['id']}/convert", json={"plan_id": pro}).status_code == 200


def test_convert_dialog_on_the_deal_page(admin_client, sellable):
    deal_id = sellable["deal"]["id"]
    page = admin_client.get(f"/crm/deals/{deal_id}").get_data(as_text=True)
    assert 'id="convert-dialog"' in page and 'data-testid="convert-product"' in page and 'value="Meridian"' in page
    missing = admin_client.post(f"/crm/deals/{deal_id}/convert", data={"plan_id": ""}, follow_redirects=True)
    assert "Choose the sold plan." in missing.get_data(as_text=True)
    pro = sellable["products"]["Meridian"]["plans"]["Meridian Pro"]["id"]
    done = admin_client.post(f"/crm/deals/{deal_id}/convert", data={"plan_id": str(pro)}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Converted: subscription #" in text and 'data-testid="contract-snapshot"' in text
    assert 'id="convert-dialog"' not in text


def test_workspace_shows_contract_cards_product_badges_and_billing_activity(admin_client, app, tenant, sellable,
                                                                            count_queries):
    cid = sellable["customer_id"]
    products = sellable["products"]
    admin_client.post(f"/api/crm/deals/{sellable['deal']['id']}/convert",
                      json={"plan_id": products["Meridian"]["plans"]["Meridian Pro"]["id"]})
    admin_client.get(f"/crm/customers/{cid}")
    with count_queries() as before:
        admin_client.get(f"/crm/customers/{cid}")
    rmm = new_deal(admin_client, title="RMM pilot", customer_id=cid, product_id=products["RMM"]["id"])
    admin_client.post(f"/api/crm/deals/{rmm['id']}/convert", json={"plan_id": products["RMM"]["plans"]["RMM Trial"]["id"]})
    with app.app_context():
        invoice = db.session.scalar(select(Invoice).where(Invoice.customer_id == cid))
        for i in range(12):
            db.session.add(Payment(tenant_id=tenant.id, customer_id=cid, invoice_id=invoice.id, amount_cents=1_00 + i,
                                   currency="EUR"))
        db.session.commit()
    with count_queries() as after:
        page = admin_client.get(f"/crm/customers/{cid}").get_data(as_text=True)
    assert page.count('data-testid="contract-card"') == 2
    assert "Sold " in page and "on Meridian Pro at 139.00 EUR" in page and "RMM Trial" in page
    assert '<span class="pill pill-accent">Meridian</span>' in page and '<span class="pill pill-accent">RMM</span>' in page
    assert "Payment activity <span class=\"crm-slice\">showing 10 of 12</span>" in page
    assert "Billing events <span class=\"crm-slice\">showing 3 of 3</span>" in page
    assert len(after) == len(before)  # the same fixed set of queries however many contracts and payments
    data = admin_client.get(f"/api/crm/customers/{cid}/workspace").get_json()
    assert {c["subscription"]["product"] for c in data["contracts"]} == {"Meridian", "RMM"}
    assert data["billing_activity"]["payments"]["total"] == 12
    assert {d["product_name"] for d in data["deals"]["items"]} == {"Meridian", "RMM"}


def test_two_deals_of_one_customer_converting_at_once_give_one_subscription(app, make_user, admin_client, sellable):
    """Two admins convert two Meridian deals of the same customer at the same moment: the host's
    check-then-insert cannot let both through (its unique index), the loser gets a 409 and its
    deal stays open."""
    products = sellable["products"]
    second = new_deal(admin_client, title="Meridian twin", customer_id=sellable["customer_id"],
                      product_id=products["Meridian"]["id"], stage="NEGOTIATION")
    plan = products["Meridian"]["plans"]["Meridian Pro"]["id"]
    tenant = sellable["tenant"]
    clients = [app.test_client().login(make_user(tenant, "ADMIN")) for _ in range(2)]
    barrier = threading.Barrier(2)
    results = {}

    def convert(client, deal_id):
        barrier.wait()
        results[deal_id] = client.post(f"/api/crm/deals/{deal_id}/convert", json={"plan_id": plan}).status_code

    threads = [threading.Thread(target=convert, args=(c, d)) for c, d in zip(clients, (sellable["deal"]["id"], second["id"]), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # PostgreSQL: the loser's insert hits the index (409). SQLite has one writer: the loser may
    # instead be refused the write lock, a 503 that says to try again; never a 500 or a 502.
    refusals = {409, 503} if db_is_sqlite(app) else {409}
    statuses = sorted(results.values())
    assert statuses[0] == 200 and statuses[1] in refusals, results
    assert host_rows(app, sellable["customer_id"])["subscriptions"] == 1
    loser = next(d for d, status in results.items() if status != 200)
    assert admin_client.get(f"/api/crm/deals/{loser}").get_json()["stage"] == "NEGOTIATION"
