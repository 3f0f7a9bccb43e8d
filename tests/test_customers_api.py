"""Customers through the JSON API: create, list with filters, update, archive, delete."""
import csv
import io

import pytest
from sqlalchemy import func, select

from host_stub.models import Invoice, PortalCustomer, Subscription, db
from kw_crm.models import AuditEvent, Communication, CustomerProfile, Deal, Stage
from kw_crm.services import lifecycle


def make_stage(key="LEAD", probability=10, outcome=None, position=0):
    stage = Stage(key=key, label=key.title(), probability=probability, outcome=outcome, position=position)
    db.session.add(stage)
    db.session.flush()
    return stage


def create(client, name, **fields):
    response = client.post("/api/crm/customers", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def host_customer(crm_scope, tenant, name):
    """A PortalCustomer made by the host itself (no CRM profile row)."""
    with crm_scope(tenant) as s:
        customer = PortalCustomer(tenant_id=tenant.id, name=name)
        s.add(customer)
        s.commit()
        return customer.id


def test_create_defaults_to_prospect_owned_by_creator(admin_client, admin):
    body = create(admin_client, "Acme Ltd", lead_source="fair", billing_email="ap@acme.test")
    assert body["lifecycle_stage"] == "prospect"
    assert body["owner_id"] == admin.id
    assert body["health_score"] is None
    assert body["billing_email"] == "ap@acme.test"
    assert admin_client.get(f"/api/crm/customers/{body['id']}").get_json()["name"] == "Acme Ltd"


def test_create_refuses_duplicates_bad_fields_and_health(admin_client):
    create(admin_client, "Acme Ltd")
    dup = admin_client.post("/api/crm/customers", json={"name": "  ACME ltd "})
    assert dup.status_code == 409
    assert "already exists" in dup.get_json()["error"]["fields"]["name"][0]
    bad = admin_client.post("/api/crm/customers", json={
        "name": "", "lifecycle_stage": "whale", "billing_email": "nope", "owner_id": 2_000_000_000,
        "health_score": 50})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"name", "lifecycle_stage", "billing_email", "owner_id",
                                                        "health_score"}
    assert admin_client.post("/api/crm/customers", data="x", content_type="text/plain").status_code == 400


def test_owner_must_be_an_active_user_of_the_tenant(admin_client, make_user, tenant, other_admin):
    colleague = make_user(tenant, "ADMIN", name="Colleague Carla")
    retired = make_user(tenant, "ADMIN", active=False)
    assert create(admin_client, "A", owner_id=colleague.id)["owner_name"] == "Colleague Carla"
    for owner in (retired.id, other_admin.id, "abc"):
        response = admin_client.post("/api/crm/customers", json={"name": f"B{owner}", "owner_id": owner})
        assert response.status_code == 422, owner
    found = admin_client.get("/api/crm/users?q=carla").get_json()
    assert [u["id"] for u in found] == [colleague.id]
    assert retired.id not in [u["id"] for u in admin_client.get("/api/crm/users").get_json()]


def test_list_left_joins_host_customers_without_profile(admin_client, crm_scope, tenant, other_admin_client):
    host_id = host_customer(crm_scope, tenant, "Host Made Inc")
    create(admin_client, "Zeta Corp")
    response = admin_client.get("/api/crm/customers")
    assert response.headers["X-Total-Count"] == "2"
    rows = {r["name"]: r for r in response.get_json()}
    assert rows["Host Made Inc"]["id"] == host_id
    assert rows["Host Made Inc"]["lifecycle_stage"] == "prospect"
    assert rows["Host Made Inc"]["health_score"] is None
    assert other_admin_client.get("/api/crm/customers").headers["X-Total-Count"] == "0"
    assert other_admin_client.get(f"/api/crm/customers/{host_id}").status_code == 404


def test_filters_and_total_count_match_an_independent_count(admin_client, crm_scope, tenant):
    specs = [("Alpha", "prospect", None), ("Beta", "qualified", 10), ("Gamma", "customer", 80),
             ("Delta", "customer", 25), ("Epsilon", "churned", 5), ("100% Pure_Co", "customer", 50),
             ("O'Brien & Sons", "qualified", 70)]
    ids = {}
    for name, stage, health in specs:
        ids[name] = create(admin_client, name, lifecycle_stage=stage)["id"]
        if health is not None:
            assert admin_client.patch(f"/api/crm/customers/{ids[name]}", json={"health_score": health}).status_code == 200
    admin_client.post(f"/api/crm/customers/{ids['Delta']}/archive", json={"reason": "gone"})

    def names(**params):
        response = admin_client.get("/api/crm/customers", query_string=params)
        assert response.status_code == 200, response.get_json()
        return int(response.headers["X-Total-Count"]), sorted(r["name"] for r in response.get_json())

    assert names(lifecycle_stage="customer") == (2, ["100% Pure_Co", "Gamma"])
    assert names(lifecycle_stage="customer", include_inactive="true")[0] == 3
    assert names(health_min=10, health_max=70) == (3, ["100% Pure_Co", "Beta", "O'Brien & Sons"])
    assert names(search="%") == (1, ["100% Pure_Co"])
    assert names(search="_") == (1, ["100% Pure_Co"])
    assert names(search="o'b") == (1, ["O'Brien & Sons"])
    assert names(search="ET") == (1, ["Beta"])

    with crm_scope(tenant) as s:
        independent = s.scalar(select(func.count()).select_from(PortalCustomer).where(
            PortalCustomer.tenant_id == tenant.id,
            ~PortalCustomer.id.in_(select(CustomerProfile.customer_id).where(CustomerProfile.archived_at.is_not(None)))))
    page = admin_client.get("/api/crm/customers?limit=2&offset=2")
    assert page.headers["X-Total-Count"] == str(independent) == "6"
    assert len(page.get_json()) == 2


@pytest.mark.parametrize("query", [
    "limit=0", "limit=-1", "limit=201", "limit=abc", "offset=-1", "health_min=-1", "health_max=101",
    "health_min=abc", "health_min=60&health_max=40", "lifecycle_stage=whale", "include_inactive=maybe"])
def test_bad_list_parameters_are_422(admin_client, query):
    response = admin_client.get(f"/api/crm/customers?{query}")
    assert response.status_code == 422, query
    assert response.get_json()["error"]["fields"]
    if not query.startswith(("limit", "offset")):  # the export takes the filters, not paging
        assert admin_client.get(f"/api/crm/customers/export.csv?{query}").status_code == 422, query


def test_list_uses_a_constant_number_of_queries(admin_client, count_queries):
    create(admin_client, "Seed")
    with count_queries() as few:
        admin_client.get("/api/crm/customers")
    for i in range(15):
        create(admin_client, f"Customer {i}")
    with count_queries() as many:
        assert len(admin_client.get("/api/crm/customers").get_json()) == 16
    assert len(many) == len(few)


def test_update_changes_stage_with_audit_and_signal(app, admin_client, admin, crm_scope, tenant):
    from kw_crm import signals

    seen = []
    def receiver(sender, **kw):
        seen.append((sender.customer_id, kw["old_stage"], kw["new_stage"]))
    signals.customer_lifecycle_changed.connect(receiver)
    try:
        cid = create(admin_client, "Acme")["id"]
        response = admin_client.patch(f"/api/crm/customers/{cid}", json={
            "lifecycle_stage": "churned", "health_score": 12, "reason": "stopped paying"})
        assert response.status_code == 200
        assert response.get_json()["lifecycle_stage"] == "churned"
        assert response.get_json()["health_score"] == 12
    finally:
        signals.customer_lifecycle_changed.disconnect(receiver)
    assert seen == [(cid, "prospect", "churned")]
    trail = admin_client.get(f"/api/crm/customers/{cid}/workspace").get_json()["audit"]
    change = next(e for e in trail if e["action"] == "lifecycle_changed")
    assert change["actor_id"] == admin.id
    assert change["reason"] == "stopped paying"
    assert change["changes"] == {"lifecycle_stage": ["prospect", "churned"]}
    for bad in ({"health_score": 101}, {"health_score": -1}, {"health_score": "x"}, {"lifecycle_stage": "vip"},
                {"name": "Renamed"}, {"billing_email": "a@"}):
        assert admin_client.patch(f"/api/crm/customers/{cid}", json=bad).status_code == 422, bad


def test_archive_rules(admin_client, app, make_user, tenant, crm_scope):
    cid = create(admin_client, "Acme")["id"]
    no_delete = app.test_client().login(make_user(tenant, "ADMIN"))
    assert no_delete.post(f"/api/crm/customers/{cid}/archive", json={"reason": "x"}).status_code == 403
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", json={}).status_code == 422
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "  "}).status_code == 422

    with crm_scope(tenant) as s:
        lead, won = make_stage("LEAD", 10), make_stage("WON", 100, "won", 5)
        deal = Deal(title="Open one", value_cents=100, currency="USD", stage_id=lead.id, customer_id=cid)
        sub = Subscription(tenant_id=tenant.id, customer_id=cid, product="P", plan="basic", status="active")
        s.add_all([deal, sub])
        s.commit()
        deal_id, sub_id, won_id = deal.id, sub.id, won.id
    blocked = admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "done"})
    assert blocked.status_code == 409 and "open deal" in blocked.get_json()["error"]["message"]
    with crm_scope(tenant) as s:
        s.get(Deal, deal_id).stage_id = won_id
        s.commit()
    blocked = admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "done"})
    assert blocked.status_code == 409 and "subscription" in blocked.get_json()["error"]["message"]
    with crm_scope(tenant) as s:
        s.get(Subscription, sub_id).status = "cancelled"
        s.commit()
    archived = admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "moved to competitor"})
    assert archived.status_code == 200
    assert archived.get_json()["archive_reason"] == "moved to competitor"
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "again"}).status_code == 409
    assert admin_client.get("/api/crm/customers").headers["X-Total-Count"] == "0"
    assert admin_client.get(f"/api/crm/customers/{cid}").status_code == 200  # history stays reachable
    assert admin_client.patch(f"/api/crm/customers/{cid}", json={"health_score": 3}).status_code == 409
    refused = admin_client.post(f"/api/crm/customers/{cid}/communications", json={"subject": "hi"})
    assert refused.status_code == 409
    with crm_scope(tenant):
        with pytest.raises(Exception) as error:
            lifecycle.ensure_customer_open(cid, "deals")
        assert getattr(error.value, "status", None) == 409


def test_delete_rules(admin_client, app, make_user, tenant, crm_scope):
    cid = create(admin_client, "Temp Co")["id"]
    assert admin_client.delete(f"/api/crm/customers/{cid}").status_code == 409  # not archived
    assert admin_client.post(f"/api/crm/customers/{cid}/communications", json={"subject": "Intro"}).status_code == 201
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", json={"reason": "dup"}).status_code == 200
    no_delete = app.test_client().login(make_user(tenant, "ADMIN"))
    assert no_delete.delete(f"/api/crm/customers/{cid}").status_code == 403
    blocked = admin_client.delete(f"/api/crm/customers/{cid}")
    assert blocked.status_code == 409 and "communications" in blocked.get_json()["error"]["message"]

    clean = create(admin_client, "Clean Co")["id"]
    admin_client.post(f"/api/crm/customers/{clean}/archive", json={"reason": "typo"})
    with crm_scope(tenant) as s:
        s.add(Invoice(tenant_id=tenant.id, customer_id=clean, number=f"INV-{clean}", amount_cents=5))
        s.commit()
    blocked = admin_client.delete(f"/api/crm/customers/{clean}")
    assert blocked.status_code == 409 and "finance" in blocked.get_json()["error"]["message"]

    gone = create(admin_client, "Gone Co")["id"]
    admin_client.post(f"/api/crm/customers/{gone}/archive", json={"reason": "typo"})
    assert admin_client.delete(f"/api/crm/customers/{gone}").status_code == 204
    assert admin_client.get(f"/api/crm/customers/{gone}").status_code == 404
    with crm_scope(tenant) as s:
        assert s.get(PortalCustomer, gone) is None
        assert s.scalar(select(CustomerProfile).where(CustomerProfile.customer_id == gone)) is None
        assert s.scalar(select(AuditEvent).where(AuditEvent.entity_id == gone, AuditEvent.action == "deleted"))


def test_other_tenant_cannot_touch_customers(admin_client, other_admin_client):
    cid = create(admin_client, "Mine")["id"]
    for method, url, body in (("GET", f"/api/crm/customers/{cid}", None),
                              ("PATCH", f"/api/crm/customers/{cid}", {"health_score": 1}),
                              ("POST", f"/api/crm/customers/{cid}/archive", {"reason": "x"}),
                              ("DELETE", f"/api/crm/customers/{cid}", None),
                              ("GET", f"/api/crm/customers/{cid}/workspace", None),
                              ("POST", f"/api/crm/customers/{cid}/communications", {"subject": "x"})):
        assert other_admin_client.open(url, method=method, json=body).status_code == 404, (method, url)


def test_communication_updates_last_contacted(admin_client, crm_scope, tenant):
    cid = create(admin_client, "Talky")["id"]
    for bad in ({}, {"subject": ""}, {"subject": "x", "channel": "pigeon"}, {"subject": "x" * 300},
                {"subject": "x", "occurred_at": "yesterday"}):
        assert admin_client.post(f"/api/crm/customers/{cid}/communications", json=bad).status_code == 422, bad
    made = admin_client.post(f"/api/crm/customers/{cid}/communications",
                             json={"subject": "=cmd()", "summary": "<b>hi</b>", "channel": "call"})
    assert made.status_code == 201
    customer = admin_client.get(f"/api/crm/customers/{cid}").get_json()
    assert customer["last_contacted_at"][:19] == made.get_json()["occurred_at"][:19]
    listed = admin_client.get(f"/api/crm/customers/{cid}/communications")
    assert listed.headers["X-Total-Count"] == "1"
    assert listed.get_json()[0]["summary"] == "<b>hi</b>"


def test_export_is_filtered_and_formula_safe(admin_client):
    create(admin_client, "=HYPERLINK(\"http://evil\")", lifecycle_stage="customer", lead_source="+1 555")
    create(admin_client, "Plain Customer", lifecycle_stage="customer", lead_source="@mention")
    create(admin_client, "Prospect Only")
    response = admin_client.get("/api/crm/customers/export.csv?lifecycle_stage=customer")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert sorted(r["name"] for r in rows) == ["'=HYPERLINK(\"http://evil\")", "Plain Customer"]
    assert {r["lead_source"] for r in rows} == {"'+1 555", "'@mention"}
    searched = admin_client.get("/api/crm/customers/export.csv?search=prospect").get_data(as_text=True)
    assert [r["name"] for r in csv.DictReader(io.StringIO(searched))] == ["Prospect Only"]


def test_export_streams_more_rows_than_a_batch(admin_client, crm_scope, tenant):
    from kw_crm.services.customers import EXPORT_BATCH

    with crm_scope(tenant) as s:
        s.add_all([PortalCustomer(tenant_id=tenant.id, name=f"Bulk {i:04d}") for i in range(EXPORT_BATCH + 20)])
        s.commit()
    response = admin_client.get("/api/crm/customers/export.csv")
    assert response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == EXPORT_BATCH + 20
    assert rows[0]["name"] == "Bulk 0000"


def test_communications_of_unknown_customers_404(admin_client):
    assert admin_client.post("/api/crm/customers/2000000000/communications", json={"subject": "x"}).status_code == 404
    assert Communication.__tablename__ == "crm_communications"


def test_huge_and_malformed_input_gets_a_clear_4xx(admin_client):
    assert admin_client.post("/api/crm/customers", json={"name": "x" * 10_000}).status_code == 422
    assert admin_client.post("/api/crm/customers", json={"name": "ok", "lead_source": "y" * 1000}).status_code == 422
    assert admin_client.post("/api/crm/customers", json={"name": ["a"]}).status_code == 422
    assert admin_client.get("/api/crm/customers", query_string={"search": "z" * 5000}).status_code == 422
    broken = admin_client.post("/api/crm/customers", data=b'{"name": "\xff\xfe"}', content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["error"]["code"] == "bad_request"
    cid = create(admin_client, "Fine Co")["id"]
    assert admin_client.post(f"/api/crm/customers/{cid}/archive", data=b"\xff", content_type="application/json").status_code == 400
    assert admin_client.get("/api/crm/customers").headers["X-Total-Count"] == "1"  # nothing half-written
