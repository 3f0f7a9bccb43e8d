"""The forecast (contract 8.3) against an independent computation in Python on generated deals:
owners, three currencies, creation dates across every aging bucket, closed dates across and
outside the window, overdue and stale deals, archived deals and another tenant's deals that must
not count. Runs on whichever database the suite runs on (SQLite and PostgreSQL in CI)."""
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from bs4 import BeautifulSoup

from kw_crm.db import utcnow
from kw_crm.models import Deal
from kw_crm.services import stages as stage_service

CURRENCIES = ("EUR", "GBP", "USD")
BUCKET_NAMES = ("0-30", "31-60", "61-90", "90+")


def round_cents(value_times_probability: int) -> int:
    return int((Decimal(value_times_probability) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def set_thresholds(crm_scope, tenant, thresholds: dict[str, int]):
    with crm_scope(tenant) as session:
        for stage in stage_service.list_stages():
            stage.stale_after_days = thresholds.get(stage.key)
        session.commit()


def generate(crm_scope, tenant, owners, *, count=240, seed=15):
    """Deals with every attribute the forecast reads spread at random; returns plain dicts of
    what was stored (the test's own record, not read back through the product)."""
    rng = random.Random(seed)
    now = utcnow()
    stored = []
    with crm_scope(tenant) as session:
        stages = stage_service.list_stages()
        for i in range(count):
            stage = rng.choice(stages)
            created = now - timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
            # away from the exact stale cut-off, so the test's clock and the server's agree
            in_stage = timedelta(days=rng.randint(0, 40), hours=rng.choice((2, 20)))
            changed = max(created, now - in_stage)
            closed = None
            if stage.outcome:
                closed = now - timedelta(days=rng.randint(0, 400), hours=rng.randint(0, 23))
            deal = Deal(title=f"Generated {i}", value_cents=rng.choice((0, 1, 99, 12_345, 1_000_000, rng.randint(0, 10**9))),
                        currency=rng.choice(CURRENCIES), stage=stage, owner_id=rng.choice([*owners, None]),
                        expected_close_date=rng.choice([None, now.date() + timedelta(days=rng.randint(-60, 60))]),
                        created_at=created, stage_changed_at=changed, closed_at=closed,
                        archived_at=now if rng.random() < 0.08 else None)
            session.add(deal)
            stored.append({"value": deal.value_cents, "currency": deal.currency, "owner": deal.owner_id,
                           "probability": stage.probability, "outcome": stage.outcome, "created": created,
                           "changed": changed, "closed": closed, "expected": deal.expected_close_date,
                           "archived": deal.archived_at is not None, "stale_after": stage.stale_after_days})
        session.commit()
    return stored


def expected(stored, *, window=90, owner=None, now=None):
    now = now or utcnow()
    today = now.date()
    summary = defaultdict(lambda: {"open_count": 0, "open_value_cents": 0, "vp": 0, "overdue_count": 0, "stale_count": 0})
    by_owner = defaultdict(lambda: {"open_count": 0, "open_value_cents": 0, "vp": 0, "overdue_count": 0, "stale_count": 0})
    aging = defaultdict(lambda: {"count": 0, "value_cents": 0})
    trend = {today - timedelta(days=i): {"won_count": 0, "lost_count": 0, "won_value_cents_by_currency": {}}
             for i in range(window)}
    for d in stored:
        if d["archived"] or (owner is not None and d["owner"] != owner):
            continue
        if d["outcome"] is None:
            overdue = d["expected"] is not None and d["expected"] < today
            stale = d["stale_after"] is not None and now - d["changed"] > timedelta(days=d["stale_after"])
            for row in (summary[d["currency"]], by_owner[(d["owner"], d["currency"])]):
                row["open_count"] += 1
                row["open_value_cents"] += d["value"]
                row["vp"] += d["value"] * d["probability"]
                row["overdue_count"] += overdue
                row["stale_count"] += stale
            age = (today - d["created"].date()).days
            bucket = BUCKET_NAMES[0 if age <= 30 else 1 if age <= 60 else 2 if age <= 90 else 3]
            aging[(bucket, d["currency"])]["count"] += 1
            aging[(bucket, d["currency"])]["value_cents"] += d["value"]
        elif d["closed"].date() in trend:
            row = trend[d["closed"].date()]
            row[f"{d['outcome']}_count"] += 1
            if d["outcome"] == "won":
                row["won_value_cents_by_currency"][d["currency"]] = (
                    row["won_value_cents_by_currency"].get(d["currency"], 0) + d["value"])
    return {
        "summary": {cur: {**{k: v for k, v in row.items() if k != "vp"}, "weighted_value_cents": round_cents(row["vp"])}
                    for cur, row in summary.items()},
        "by_owner": {key: {**{k: v for k, v in row.items() if k != "vp"}, "weighted_value_cents": round_cents(row["vp"])}
                     for key, row in by_owner.items()},
        "aging": {key: dict(v) for key, v in aging.items()},
        "trend": {day.isoformat(): row for day, row in trend.items()},
    }


def as_maps(body):
    return {
        "summary": {s["currency"]: {k: s[k] for k in ("open_count", "open_value_cents", "weighted_value_cents",
                                                      "overdue_count", "stale_count")} for s in body["summary"]},
        "by_owner": {(o["owner_id"], o["currency"]): {k: o[k] for k in (
            "open_count", "open_value_cents", "weighted_value_cents", "overdue_count", "stale_count")}
            for o in body["by_owner"]},
        "aging": {(a["bucket"], a["currency"]): {"count": a["count"], "value_cents": a["value_cents"]}
                  for a in body["aging"] if a["count"]},
        "trend": {t["date"]: {k: t[k] for k in ("won_count", "lost_count", "won_value_cents_by_currency")}
                  for t in body["trend"]},
    }


@pytest.fixture
def owners(make_user, tenant):
    return [make_user(tenant, "ADMIN", name=f"Owner {letter}") for letter in "ABCD"]


@pytest.fixture
def generated(crm_scope, tenant, owners, other_tenant, make_user):
    set_thresholds(crm_scope, tenant, {"LEAD": 7, "PROPOSAL": 20})
    stored = generate(crm_scope, tenant, [o.id for o in owners])
    other = make_user(other_tenant, "ADMIN")
    generate(crm_scope, other_tenant, [other.id], count=60, seed=99)  # must never count
    return stored


@pytest.mark.parametrize("window", [30, 90, 180, 365])
def test_forecast_matches_an_independent_computation(admin_client, generated, window):
    response = admin_client.get(f"/api/crm/forecast?window={window}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["window"] == window and len(body["trend"]) == window
    assert body["trend"][-1]["date"] == utcnow().date().isoformat()
    assert as_maps(body) == expected(generated, window=window)
    assert body["overdue"]["total"] == sum(r["overdue_count"] for r in body["summary"]) > 0
    assert body["stale"]["total"] > 0
    assert {a["bucket"] for a in body["aging"]} == set(BUCKET_NAMES)


def test_owner_filter_changes_the_server_side_report(admin_client, generated, owners):
    owner = owners[1]
    body = admin_client.get(f"/api/crm/forecast?owner_id={owner.id}&window=365").get_json()
    assert body["owner_id"] == owner.id
    assert as_maps(body) == expected(generated, window=365, owner=owner.id)
    assert {o["owner_id"] for o in body["by_owner"]} == {owner.id}
    assert all(d["owner_id"] == owner.id for d in body["overdue"]["deals"])
    assert {o["owner_name"] for o in body["by_owner"]} == {"Owner B"}


def test_overdue_deals_are_listed_most_overdue_first(admin_client, generated):
    deals = admin_client.get("/api/crm/forecast").get_json()["overdue"]["deals"]
    today = utcnow().date()
    assert deals and all(date.fromisoformat(d["expected_close_date"]) < today for d in deals)
    assert [d["days_overdue"] for d in deals] == sorted((d["days_overdue"] for d in deals), reverse=True)
    assert deals[0]["days_overdue"] == (today - date.fromisoformat(deals[0]["expected_close_date"])).days


def test_aging_bucket_edges_count_calendar_days(crm_scope, tenant, admin, app):
    """30 days open is still 0-30, 31 is 31-60; 90 is 61-90, 91 is 90+ (UTC calendar days)."""
    from kw_crm.services import forecast

    now = datetime(2026, 6, 15, 12, 0)
    with crm_scope(tenant) as session:
        stage = stage_service.first_open_stage()
        for days, hour in ((0, 0), (30, 0), (31, 23), (60, 0), (61, 0), (90, 0), (91, 23), (400, 0)):
            created = datetime.combine(now.date() - timedelta(days=days), datetime.min.time()) + timedelta(hours=hour)
            session.add(Deal(title=f"age {days}", value_cents=days, currency="USD", stage=stage, owner_id=admin.id,
                             created_at=created, stage_changed_at=created))
        session.commit()
        report = forecast.report(now=now)
    counts = {a["bucket"]: (a["count"], a["value_cents"]) for a in report["aging"]}
    assert counts == {"0-30": (2, 30), "31-60": (2, 91), "61-90": (2, 151), "90+": (2, 491)}


def test_a_window_without_closed_deals_is_a_row_of_zeros(admin_client):
    body = admin_client.get("/api/crm/forecast?window=30").get_json()
    assert len(body["trend"]) == 30
    assert all(t["won_count"] == t["lost_count"] == 0 and t["won_value_cents_by_currency"] == {} for t in body["trend"])
    assert body["summary"] == [] and body["by_owner"] == [] and body["overdue"] == {"total": 0, "deals": []}


@pytest.mark.parametrize("query, field", [
    ("window=7", "window"), ("window=abc", "window"), ("window=-30", "window"), ("window=99999999999", "window"),
    ("owner_id=abc", "owner_id"), ("owner_id=0", "owner_id"), ("owner_id=99999999999", "owner_id"),
    ("owner_id=-1", "owner_id"),
])
def test_bad_filters_are_a_422_naming_the_field(admin_client, query, field):
    response = admin_client.get(f"/api/crm/forecast?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_an_owner_of_another_tenant_is_refused(admin_client, other_admin):
    response = admin_client.get(f"/api/crm/forecast?owner_id={other_admin.id}")
    assert response.status_code == 422
    assert "owner_id" in response.get_json()["error"]["fields"]
    page = admin_client.get(f"/crm/forecast?owner_id={other_admin.id}&window=365")
    assert page.status_code == 422 and b"No user" in page.data
    assert b"in 365 days" in page.data  # the window asked for still applies, for everyone


def test_constant_number_of_queries(admin_client, crm_scope, tenant, owners, count_queries):
    def queries(url):
        with count_queries() as statements:
            assert admin_client.get(url).status_code == 200
        return len(statements)

    admin_client.get("/api/crm/forecast")  # stages created, login warmed
    few = [queries("/api/crm/forecast?window=365"), queries("/crm/forecast?window=365")]
    generate(crm_scope, tenant, [o.id for o in owners], count=150, seed=3)
    many = [queries("/api/crm/forecast?window=365"), queries(f"/crm/forecast?window=365&owner_id={owners[0].id}")]
    assert many[0] == few[0] <= 8
    assert many[1] == few[1]  # the owner filter is checked against the users read anyway


def test_page_draws_the_charts_with_labels_and_tables(admin_client, generated, owners):
    body = admin_client.get("/api/crm/forecast?window=90").get_json()
    soup = BeautifulSoup(admin_client.get("/crm/forecast?window=90").data, "html.parser")
    for currency in CURRENCIES:
        owners_chart = soup.select_one(f"#chart-owners-{currency.lower()} svg")
        rows = [o for o in body["by_owner"] if o["currency"] == currency]
        assert owners_chart["role"] == "img" and owners_chart.title.string and owners_chart.desc.string
        assert len(owners_chart.select("rect.chart-bar")) == 2 * len(rows)
        labels = [t.string for t in owners_chart.select("text.chart-label")]
        assert sorted(labels) == sorted(o["owner_name"] or "Unassigned" for o in rows)
        aging = soup.select_one(f"#chart-aging-{currency.lower()}")
        assert len(aging.select("rect.chart-bar")) == 4
        assert [t.string for t in aging.select("text.chart-label")] == [f"{b} days" for b in BUCKET_NAMES]
        assert len(aging.select("table.chart-table tbody tr")) == 4
    trend = soup.select_one("#chart-trend")
    bars = sum(bool(t["won_count"]) + bool(t["lost_count"]) for t in body["trend"])
    assert len(trend.select("rect.chart-bar")) == bars > 0
    assert len(trend.select("rect.chart-won")) == sum(bool(t["won_count"]) for t in body["trend"])
    assert len(trend.select("table.chart-table tbody tr")) == sum(
        bool(t["won_count"] or t["lost_count"]) for t in body["trend"])
    overdue = soup.select("#overdue-deals tbody tr")
    assert [int(r["data-deal-id"]) for r in overdue] == [d["id"] for d in body["overdue"]["deals"]]


def test_page_owner_filter_narrows_every_section(admin_client, generated, owners):
    owner = owners[2]
    soup = BeautifulSoup(admin_client.get(f"/crm/forecast?owner_id={owner.id}").data, "html.parser")
    assert soup.select_one("#forecast-owner option[selected]")["value"] == str(owner.id)
    assert {r["data-owner"] for r in soup.select("#by-owner tbody tr")} == {str(owner.id)}
    assert "Owner C" in soup.h1.get_text()


def test_forecast_follows_the_access_rules(app, staff_client, make_tenant, make_user):
    assert staff_client.get("/api/crm/forecast").status_code == 403
    assert staff_client.get("/crm/forecast").status_code == 403
    assert app.test_client().get("/api/crm/forecast").status_code == 401
    no_crm = make_tenant(features=())
    assert app.test_client().login(make_user(no_crm)).get("/crm/forecast").status_code == 404


def test_chart_text_is_escaped(admin_client, make_user, tenant):
    owner = make_user(tenant, "ADMIN", name='<img src=x onerror="boom()"> & Co')
    assert admin_client.post("/api/crm/deals", json={"title": "Escaped", "value_cents": 100,
                                                     "owner_id": owner.id}).status_code == 201
    html = admin_client.get("/crm/forecast").get_data(as_text=True)
    assert "<img src=x" not in html
    chart = BeautifulSoup(html, "html.parser").select_one("#chart-owners-usd")
    assert [t.string for t in chart.select("text.chart-label")] == [owner.name[:21] + "…"]  # text, not markup
