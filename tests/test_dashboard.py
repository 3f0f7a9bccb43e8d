"""Dashboard numbers against an independent Python calculation on generated data."""
import random
from datetime import timedelta

from bs4 import BeautifulSoup
from sqlalchemy import select

from host_stub.models import PortalCustomer
from kw_crm.db import utcnow
from kw_crm.models import Communication, CustomerProfile, Deal, Stage

STAGES = [("LEAD", 10, None), ("QUALIFIED", 20, None), ("PROPOSAL", 60, None), ("NEGOTIATION", 80, None),
          ("WON", 100, "won"), ("LOST", 0, "lost")]


def generate(s, tenant, owner_id, seed):
    """Random customers (some without profile, some archived), deals and communications; returns
    plain-Python records for the independent calculation."""
    rng = random.Random(seed)
    stages = []
    for position, (key, probability, outcome) in enumerate(STAGES):
        stage = Stage(key=key, label=key.title(), probability=probability, outcome=outcome, position=position)
        s.add(stage)
        stages.append(stage)
    customers, deals, comms = [], [], []
    for i in range(60):
        c = PortalCustomer(tenant_id=tenant.id, name=f"Gen {seed}-{i}")
        s.add(c)
        s.flush()
        record = {"id": c.id, "name": c.name, "stage": "prospect", "health": None, "archived": False}
        if rng.random() < 0.8:
            record.update(stage=rng.choice(["prospect", "qualified", "customer", "churned"]),
                          health=rng.choice([None, rng.randint(0, 100), rng.randint(0, 35)]),
                          archived=rng.random() < 0.15)
            s.add(CustomerProfile(customer_id=c.id, lifecycle_stage=record["stage"], health_score=record["health"],
                                  owner_id=owner_id, archived_at=utcnow() if record["archived"] else None))
        customers.append(record)
    s.flush()
    for _ in range(120):
        customer = rng.choice(customers + [None])
        stage = rng.choice(stages)
        value = rng.choice([0, rng.randint(1, 10**7)])
        currency = rng.choice(["USD", "USD", "EUR"])
        archived = rng.random() < 0.1
        s.add(Deal(title="d", value_cents=value, currency=currency, stage_id=stage.id,
                   customer_id=customer and customer["id"], archived_at=utcnow() if archived else None))
        deals.append({"customer": customer, "probability": stage.probability, "open": stage.outcome is None,
                      "value": value, "currency": currency, "archived": archived})
    now = utcnow()
    for _ in range(80):
        customer = rng.choice(customers)
        when = now - timedelta(days=rng.choice([0, 1, 3, 6, 8, 30]), hours=rng.randint(0, 12))
        s.add(Communication(customer_id=customer["id"], subject="s", occurred_at=when))
        comms.append({"customer": customer, "when": when})
    s.commit()
    return customers, deals, comms, now


def expected(customers, deals, comms, now):
    active = [c for c in customers if not c["archived"]]
    live = [d for d in deals if d["open"] and not d["archived"] and not (d["customer"] and d["customer"]["archived"])]
    value, weighted = {}, {}
    for d in live:
        value[d["currency"]] = value.get(d["currency"], 0) + d["value"]
        weighted[d["currency"]] = weighted.get(d["currency"], 0) + d["value"] * d["probability"]
    weighted = {k: (v + 50) // 100 for k, v in weighted.items()}
    risky = sorted((c for c in active if c["health"] is not None and c["health"] < 30),
                   key=lambda c: (c["health"], c["name"].lower(), c["id"]))
    return {
        "total_customers": len(active),
        "by_lifecycle_stage": {stage: sum(1 for c in active if c["stage"] == stage)
                               for stage in ("prospect", "qualified", "customer", "churned")},
        "at_churn_risk": len(risky),
        "pipeline_value_cents": value.get("USD", 0),
        "weighted_pipeline_value_cents": weighted.get("USD", 0),
        "pipeline_value_cents_by_currency": value,
        "weighted_pipeline_value_cents_by_currency": weighted,
        "active_deals": len(live),
        "recent_communications": sum(1 for m in comms if not m["customer"]["archived"]
                                     and m["when"] >= now - timedelta(days=7, minutes=1)),
        "churn_ids": [c["id"] for c in risky[:20]],
    }


def test_dashboard_matches_an_independent_calculation(admin_client, admin, crm_scope, tenant, other_admin_client):
    with crm_scope(tenant) as s:
        data = generate(s, tenant, admin.id, seed=tenant.id)
    want = expected(*data)
    got = admin_client.get("/api/crm/dashboard").get_json()
    for key, value in want.items():
        if key != "churn_ids":
            assert got[key] == value, key
    assert [row["id"] for row in got["churn_risk"]] == want["churn_ids"]
    assert all(row["owner_name"] == admin.name for row in got["churn_risk"])
    assert got["currency"] == "USD"
    empty = other_admin_client.get("/api/crm/dashboard").get_json()
    assert empty["total_customers"] == 0 and empty["active_deals"] == 0 and empty["churn_risk"] == []


def test_dashboard_query_count_does_not_grow_with_data(admin_client, admin, crm_scope, tenant, count_queries):
    with count_queries() as empty:
        admin_client.get("/api/crm/dashboard")
    with crm_scope(tenant) as s:
        generate(s, tenant, admin.id, seed=7)
    with count_queries() as full:
        admin_client.get("/api/crm/dashboard")
    assert len(full) == len(empty)
    with count_queries() as page:
        assert admin_client.get("/crm/dashboard").status_code == 200
    assert len(page) <= len(full) + 4  # + the layout, the stages and the per-stage chart's GROUP BY
    with crm_scope(tenant) as s:
        s.add_all(Deal(title=f"More {i}", value_cents=i, currency="USD", stage_id=s.scalar(
            select(Stage.id).where(Stage.outcome.is_(None)).limit(1))) for i in range(40))
        s.commit()
    with count_queries() as more:
        assert admin_client.get("/crm/dashboard").status_code == 200
    assert len(more) == len(page)


def test_dashboard_draws_pipeline_by_stage_and_lifecycle_charts(admin_client):
    for title, cents, currency, stage in (("A", 1000, "USD", "LEAD"), ("B", 500, "USD", "PROPOSAL"),
                                          ("C", 700, "EUR", "PROPOSAL")):
        assert admin_client.post("/api/crm/deals", json={"title": title, "value_cents": cents, "currency": currency,
                                                         "stage": stage}).status_code == 201
    page = BeautifulSoup(admin_client.get("/crm/dashboard").data, "html.parser")
    open_stages = ["Lead", "Qualified", "Proposal", "Negotiation"]
    for currency in ("eur", "usd"):
        chart = page.select_one(f"#chart-stages-{currency} svg")
        assert chart["role"] == "img" and chart.title.string and chart.desc.string
        assert [t.string for t in chart.select("text.chart-label")] == open_stages
        assert len(chart.select("rect.chart-bar")) == 2 * len(open_stages)
    usd = page.select_one("#chart-stages-usd table.chart-table")
    assert [r.th.string for r in usd.select("tbody tr")] == open_stages
    assert "1 · 10.00 USD" in usd.get_text() and "1 · 5.00 USD" in usd.get_text()
    lifecycle = page.select_one("#chart-lifecycle")
    assert [t.string for t in lifecycle.select("text.chart-label")] == ["Prospect", "Qualified", "Customer", "Churned"]
    assert len(lifecycle.select("rect.chart-bar")) == 4


def test_dashboard_shows_one_pipeline_figure_per_currency_never_a_sum(admin_client):
    """Money in two currencies is two figures side by side, each named by its currency, not
    "A USD + B EUR" (which reads like a sum)."""
    for value, currency in ((1_250_050, "USD"), (300_000, "EUR"), (50_000, "EUR")):
        assert admin_client.post("/api/crm/deals", json={"title": "D", "value_cents": value,
                                                         "currency": currency}).status_code == 201
    page = BeautifulSoup(admin_client.get("/crm/dashboard").data, "html.parser")
    metrics = " ".join(page.select_one(".crm-metrics").get_text(" ").split())
    assert "+" not in metrics
    figures = {(m["data-metric"], m["data-currency"]): " ".join(m.get_text(" ").split())
               for m in page.select(".crm-metric[data-currency]")}
    assert figures[("pipeline_value", "USD")] == "Pipeline, USD 12,500.50 USD"
    assert figures[("pipeline_value", "EUR")] == "Pipeline, EUR 3,500.00 EUR"
    assert ("weighted_pipeline_value", "USD") in figures and ("weighted_pipeline_value", "EUR") in figures
    currencies = [m["data-currency"] for m in page.select('.crm-metric[data-metric="pipeline_value"]')]
    assert currencies == ["USD", "EUR"]  # the default currency first
