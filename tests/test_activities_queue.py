"""The ranked next-action queue and the overdue queue through the API: ranking on real
records, signals from deals, stage moves and communications, billing context only for viewers
with billing rights, another owner's queue, constant queries and no writes."""
from datetime import date, timedelta

from host_stub.models import Invoice, Subscription, db, utcnow
from tests.test_activities_api import activity, customer, deal

TODAY = date.today()


def queue(client, path="queue", **params):
    response = client.get(f"/api/crm/activities/{path}", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json(), int(response.headers["X-Total-Count"])


def test_queue_rows_are_ranked_highest_first_with_their_explanation(admin_client, admin):
    hot = customer(admin_client, "Hot Co")
    big = deal(admin_client, "Big rollout", customer_id=hot, value_cents=5_000_000)
    deal(admin_client, "Small add-on", value_cents=10_000)  # keeps the tenant's average below Big rollout
    assert admin_client.post(f"/api/crm/deals/{big['id']}/stage", json={"stage": "NEGOTIATION"}).status_code == 200
    cold = customer(admin_client, "Cold Co")
    later = activity(admin_client, customer_id=cold, title="Say hello", due_date=(TODAY + timedelta(days=20)).isoformat())
    urgent = activity(admin_client, deal_id=big["id"], title="Confirm signatures", type="call")
    rows, total = queue(admin_client)  # the stage move may add automation follow-ups (issue 12): rank among all
    ids = [r["activity"]["id"] for r in rows]
    assert total == len(rows) >= 2 and ids.index(urgent["id"]) < ids.index(later["id"])
    top, bottom = rows[ids.index(urgent["id"])], rows[ids.index(later["id"])]
    assert [r["priority"]["score"] for r in rows] == sorted((r["priority"]["score"] for r in rows), reverse=True)
    assert top["priority"]["score"] > bottom["priority"]["score"]
    for row in rows:
        assert set(row) >= {"activity", "priority", "signals", "next_best_action", "sequence"}
        assert all(isinstance(row["priority"][k], int) and 0 <= row["priority"][k] <= 100 for k in ("score", "fit", "intent"))
        assert row["activity"]["subject"] == row["activity"]["title"]
    labels = {s["label"]: s["effect"] for s in top["signals"]}
    assert labels["Due today"] == "+" and labels["Deal entered Negotiation today"] == "+"
    assert any(label.startswith("Large deal") for label in labels)
    assert top["next_best_action"].startswith("Push to close Big rollout")
    assert top["sequence"] == {"eligible": True, "blockers": []}
    assert {s["label"]: s["effect"] for s in bottom["signals"]}["No open deal: not enough opportunity context"] == "-"
    assert bottom["sequence"] == {"eligible": False, "blockers": ["not enough opportunity context"]}
    assert top["context"]["deal_title"] == "Big rollout" and top["context"]["customer_name"] == "Hot Co"


def test_a_logged_communication_raises_intent(admin_client):
    cid = customer(admin_client, "Talkative Co")
    deal(admin_client, "Talk deal", customer_id=cid)
    a = activity(admin_client, customer_id=cid)
    before = queue(admin_client)[0][0]
    assert admin_client.post(f"/api/crm/customers/{cid}/communications",
                             json={"subject": "Pricing call", "channel": "call"}).status_code == 201
    after = queue(admin_client)[0][0]
    assert after["activity"]["id"] == a["id"]
    assert after["priority"]["intent"] > before["priority"]["intent"]
    assert "1 communication in 14 days" in [s["label"] for s in after["signals"]]


def test_a_manager_sees_another_owners_queue(app, admin_client, make_user, tenant, other_admin):
    seller = make_user(tenant, "ADMIN", name="Sam Seller")
    cid = customer(admin_client, "Managed Co")
    mine = activity(admin_client, customer_id=cid)
    theirs = activity(admin_client, customer_id=cid, owner_id=seller.id, title="Seller's call")
    assert [r["activity"]["id"] for r in queue(admin_client)[0]] == [mine["id"]]
    assert [r["activity"]["id"] for r in queue(admin_client, owner_id=seller.id)[0]] == [theirs["id"]]
    for bad in (other_admin.id, 2_000_000_000, "x"):
        response = admin_client.get(f"/api/crm/activities/queue?owner_id={bad}")
        assert response.status_code == 422 and "owner_id" in response.get_json()["error"]["fields"]


def test_overdue_is_the_exception_queue_oldest_first(admin_client):
    cid = customer(admin_client, "Late Co")
    week = activity(admin_client, customer_id=cid, title="A week late", due_date=(TODAY - timedelta(days=7)).isoformat())
    day = activity(admin_client, customer_id=cid, title="A day late", due_date=(TODAY - timedelta(days=1)).isoformat())
    activity(admin_client, customer_id=cid, title="Due today")
    done = activity(admin_client, customer_id=cid, title="Done late", due_date=(TODAY - timedelta(days=3)).isoformat())
    admin_client.post(f"/api/crm/activities/{done['id']}/complete")
    rows, total = queue(admin_client, "overdue")
    assert total == 2 and [r["activity"]["id"] for r in rows] == [week["id"], day["id"]]
    assert rows[0]["signals"][0]["label"] == "Overdue by 7 days"
    rows, total = queue(admin_client, "overdue", limit=1, offset=1)
    assert total == 2 and [r["activity"]["id"] for r in rows] == [day["id"]]


def _billing_trouble(app, tenant, cid):
    with app.app_context():
        db.session.add_all([
            Invoice(tenant_id=tenant.id, customer_id=cid, number=f"INV-{cid}", amount_cents=250_000, currency="EUR",
                    status="open", issued_at=utcnow() - timedelta(days=45)),
            Subscription(tenant_id=tenant.id, customer_id=cid, product="Meridian", plan="pro", status="active"),
        ])
        db.session.commit()


def test_billing_context_only_for_viewers_who_may_see_billing(app, admin_client, make_user, tenant):
    cid = customer(admin_client, "Owing Co")
    deal(admin_client, "Upsell", customer_id=cid)
    activity(admin_client, customer_id=cid)
    _billing_trouble(app, tenant, cid)
    finance = app.test_client().login(make_user(tenant, "ADMIN", grants=("billing.view",)))
    admin_id = admin_client.get("/api/crm/activities").get_json()[0]["owner_id"]
    seen = queue(finance, owner_id=admin_id)[0][0]
    unseen = queue(admin_client)[0][0]
    seen_labels = [s["label"] for s in seen["signals"]]
    assert "Past-due AR 2,500.00 EUR" in seen_labels
    assert seen["sequence"]["blockers"] == ["already contracted", "billing trouble"]  # the active subscription
    assert seen["next_best_action"].startswith("Billing first")
    assert not [label for label in (s["label"] for s in unseen["signals"]) if "AR" in label or "subscription" in label]
    assert unseen["sequence"] == {"eligible": True, "blockers": []}
    assert seen["priority"]["fit"] < unseen["priority"]["fit"]


def test_queue_and_overdue_cost_constant_queries_and_write_nothing(app, admin_client, count_queries):
    def fill(n, tag):
        for i in range(n):
            cid = customer(admin_client, f"Load {tag} {i}")
            d = deal(admin_client, f"Load deal {tag} {i}", customer_id=cid)
            activity(admin_client, deal_id=d["id"], due_date=(TODAY - timedelta(days=i + 1)).isoformat())
            admin_client.post(f"/api/crm/customers/{cid}/communications", json={"subject": "hi"})

    fill(1, "a")
    with count_queries() as small_queue:
        assert queue(admin_client)[1] == 1
    with count_queries() as small_overdue:
        queue(admin_client, "overdue")
    fill(12, "b")
    with count_queries() as big_queue:
        rows, total = queue(admin_client)
    with count_queries() as big_overdue:
        queue(admin_client, "overdue")
    assert total == 13 and len(rows) == 13
    assert len(big_queue) == len(small_queue) and len(big_overdue) == len(small_overdue)
    writes = [s for s in big_queue + big_overdue if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    # the fact queries are bound to the candidates' ids, never to a subquery re-reading the
    # activities (on never-analysed PostgreSQL tables that subquery planned as a ten-minute loop)
    reading_activities = [s for s in big_queue if "crm_activities" in s.split("FROM", 1)[-1]]
    assert len(reading_activities) == 1, reading_activities
    # ... and on PostgreSQL planned for the ids they carry, even once psycopg has prepared them
    # (a generic plan for an id array read the whole tenant: 0.15 s became 1.2 s)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    for statements in (big_queue, big_overdue):
        custom = [i for i, s in enumerate(statements) if "plan_cache_mode = force_custom_plan" in s]
        facts = [i for i, s in enumerate(statements) if "crm_communications" in s or "crm_audit_events" in s]
        assert (bool(custom) and custom[0] < min(facts)) if postgres else custom == []
