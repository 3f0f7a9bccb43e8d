"""The ranked next-action queue and the overdue queue: product figure beside raw SQL, same run.

    python benchmarks/activities_queue.py [--activities 100000] [--deals 20000] [--owners 20] [--url URL]

Builds a scratch database through the real migrations and fills one tenant by bulk inserts:
``--activities`` activities (40 % open, 60 % linked to a deal) spread over ``--owners`` owners,
``--deals`` deals over the tenant's stages, 5,000 customers with profiles, 30,000
communications, a stage-change audit event per deal, and host invoices and subscriptions. Then
it times (median of 7) one owner's

- queue: every open activity of the owner ranked (the API's first page of 50, and the service);
- overdue: the owner's open activities due before today, oldest first, one page of 50, ranked;

beside hand-written SQL that fetches the same rows and facts, followed by the same pure
``priority.rank`` and sort - "raw SQL, ranking included". The viewer holds ``billing.view``, so
the billing queries are in both figures. On PostgreSQL the figures are taken twice: on the fresh,
never-analysed tables right after the load, and after ``ANALYZE``."""
import argparse
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from host_stub import create_app  # noqa: E402
from host_stub.models import Invoice, PortalCustomer, Subscription, Tenant, User, db  # noqa: E402
from kw_crm.db import utcnow  # noqa: E402
from kw_crm.models import Activity, AuditEvent, Communication, CustomerProfile, Deal, Stage  # noqa: E402
from kw_crm.services import priority, queue  # noqa: E402
from kw_crm.tenancy import tenant_scope  # noqa: E402

CUSTOMERS, COMMUNICATIONS = 5_000, 30_000
STAGES = [("LEAD", 10, None), ("QUALIFIED", 20, None), ("PROPOSAL", 60, None), ("NEGOTIATION", 80, None),
          ("WON", 100, "won"), ("LOST", 0, "lost")]

RAW_CANDIDATES = """
SELECT a.id, a.type, a.title, a.description, a.due_date, a.owner_id, a.contact_id, a.customer_id, a.deal_id,
       a.completed_at, a.created_at, d.title AS deal_title, s.label AS stage_label,
       d.value_cents, d.currency, d.archived_at AS deal_archived_at,
       d.created_at AS deal_created_at, s.probability, s.outcome, p.lifecycle_stage, p.health_score,
       p.last_contacted_at
FROM crm_activities a
LEFT JOIN crm_deals d ON d.id = a.deal_id AND d.tenant_id = :t
LEFT JOIN crm_stages s ON s.id = d.stage_id AND s.tenant_id = :t
LEFT JOIN crm_customer_profiles p ON p.customer_id = a.customer_id AND p.tenant_id = :t
WHERE a.tenant_id = :t AND a.owner_id = :o AND a.completed_at IS NULL {extra}"""
RAW_AVERAGES = """SELECT d.currency, avg(d.value_cents) FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
WHERE d.tenant_id = :t AND s.outcome IS NULL AND d.archived_at IS NULL GROUP BY d.currency"""
RAW_BEST = """SELECT d.customer_id, d.currency, max(d.value_cents), max(s.probability)
FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
WHERE d.tenant_id = :t AND s.outcome IS NULL AND d.archived_at IS NULL AND d.customer_id IN ({ids})
GROUP BY d.customer_id, d.currency"""
RAW_COMMS = """SELECT m.customer_id, sum(CASE WHEN m.occurred_at >= :since THEN 1 ELSE 0 END), max(m.occurred_at)
FROM crm_communications m WHERE m.tenant_id = :t AND m.customer_id IN ({ids}) GROUP BY m.customer_id"""
RAW_MOVES = """SELECT e.entity_id, max(e.created_at) FROM crm_audit_events e
WHERE e.tenant_id = :t AND e.entity_type = 'deal' AND e.action = 'stage_changed' AND e.entity_id IN ({ids})
GROUP BY e.entity_id"""
RAW_INVOICES = """SELECT i.customer_id, i.currency, sum(i.amount_cents),
       sum(CASE WHEN i.issued_at < :past_due THEN i.amount_cents ELSE 0 END)
FROM invoices i WHERE i.tenant_id = :t AND i.status = 'open' AND i.customer_id IN ({ids})
GROUP BY i.customer_id, i.currency"""
RAW_SUBSCRIPTIONS = """SELECT s.customer_id, s.product, s.status FROM subscriptions s
WHERE s.tenant_id = :t AND s.customer_id IN ({ids}) ORDER BY s.customer_id, s.id"""
RAW_CUSTOMER_NAMES = "SELECT id, name FROM portal_customers WHERE tenant_id = :t AND id IN ({ids})"
RAW_CONTACT_NAMES = "SELECT id, first_name, last_name FROM crm_contacts WHERE tenant_id = :t AND id IN ({ids})"
RAW_OWNERS = "SELECT id, name, email FROM users WHERE tenant_id = :t AND id IN ({ids})"
OPEN_SUB = "SELECT a.{col} FROM crm_activities a WHERE a.tenant_id = :t AND a.owner_id = :o AND a.completed_at IS NULL {extra}"


def median_ms(fn, runs=7) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fill(tenant_id: int, owners: list[int], n_activities: int, n_deals: int) -> None:
    rng = random.Random(13)
    conn = db.session.connection()
    now, today = utcnow(), utcnow().date()
    conn.execute(sa.insert(PortalCustomer), [{"tenant_id": tenant_id, "name": f"Customer {i:05d}"}
                                             for i in range(CUSTOMERS)])
    customers = list(db.session.scalars(sa.select(PortalCustomer.id).where(PortalCustomer.tenant_id == tenant_id)))
    conn.execute(sa.insert(CustomerProfile), [
        {"tenant_id": tenant_id, "customer_id": cid, "owner_id": rng.choice(owners),
         "lifecycle_stage": rng.choice(["prospect", "qualified", "customer", "churned"]),
         "health_score": rng.choice([None, rng.randint(0, 100)]),
         "last_contacted_at": now - timedelta(days=rng.randint(0, 90))} for cid in customers])
    stage_ids = []
    for position, (key, probability, outcome) in enumerate(STAGES):
        stage = Stage(tenant_id=tenant_id, key=key, label=key.title(), probability=probability, position=position,
                      outcome=outcome)
        db.session.add(stage)
        db.session.flush()
        stage_ids.append(stage.id)
    conn.execute(sa.insert(Deal), [
        {"tenant_id": tenant_id, "title": f"Deal {i}", "value_cents": rng.randint(1_000, 5_000_000),
         "currency": rng.choice(["USD", "USD", "USD", "EUR"]), "stage_id": rng.choice(stage_ids),
         "customer_id": rng.choice(customers), "owner_id": rng.choice(owners), "version": 1,
         "created_at": now - timedelta(days=rng.randint(0, 200))} for i in range(n_deals)])
    deals = db.session.execute(sa.select(Deal.id, Deal.customer_id).where(Deal.tenant_id == tenant_id)).all()
    conn.execute(sa.insert(AuditEvent), [
        {"tenant_id": tenant_id, "entity_type": "deal", "entity_id": deal_id, "action": "stage_changed",
         "changes": {}, "created_at": now - timedelta(days=rng.randint(0, 120))} for deal_id, _ in deals])
    conn.execute(sa.insert(Communication), [
        {"tenant_id": tenant_id, "customer_id": rng.choice(customers), "subject": "s", "channel": "call",
         "source": "manual", "occurred_at": now - timedelta(days=rng.randint(0, 60))} for _ in range(COMMUNICATIONS)])
    batch = []
    for i in range(n_activities):
        deal_id, customer_id = rng.choice(deals) if rng.random() < 0.6 else (None, rng.choice(customers))
        batch.append({"tenant_id": tenant_id, "type": rng.choice(["call", "email", "meeting", "task"]),
                      "title": f"Activity {i}", "due_date": today + timedelta(days=rng.randint(-30, 30)),
                      "deal_id": deal_id, "customer_id": customer_id, "owner_id": rng.choice(owners),
                      "completed_at": None if rng.random() < 0.4 else now, "created_at": now})
        if len(batch) == 10_000:
            conn.execute(sa.insert(Activity), batch)
            batch = []
    if batch:
        conn.execute(sa.insert(Activity), batch)
    conn.execute(sa.insert(Invoice), [
        {"tenant_id": tenant_id, "customer_id": cid, "number": f"INV-{tenant_id}-{cid}", "currency": "USD",
         "amount_cents": rng.randint(1_000, 100_000), "status": rng.choice(["open", "paid"]),
         "issued_at": now - timedelta(days=rng.randint(0, 90))} for cid in customers[::3]])
    conn.execute(sa.insert(Subscription), [
        {"tenant_id": tenant_id, "customer_id": cid, "product": "Meridian", "plan": "pro", "amount_cents": 9_900,
         "currency": "USD", "status": rng.choice(["active", "trial", "cancelled"])} for cid in customers[::4]])
    db.session.commit()


def _id_list(values) -> str:
    return ",".join(str(int(v)) for v in sorted({v for v in values if v is not None})) or "NULL"


def raw_rank(tenant_id: int, owner_id: int, extra: str, order_sql: str, limit: int, ranked_page_only: bool):
    """The same work by hand: rows and facts in plain SQL, then the same pure ranking."""
    conn = db.session.connection()
    today = utcnow().date()
    p = {"t": tenant_id, "o": owner_id, "today": today}
    if ranked_page_only:
        rows = conn.execute(sa.text(RAW_CANDIDATES.format(extra=extra) + f" {order_sql} LIMIT {limit}"), p).mappings().all()
        conn.execute(sa.text(OPEN_SUB.format(col="id", extra=extra).replace("a.id", "count(*)", 1)), p).scalar()
    else:
        rows = conn.execute(sa.text(RAW_CANDIDATES.format(extra=extra)), p).mappings().all()
    # the fetched rows' ids written into the SQL: a subquery of the candidates instead lets
    # PostgreSQL plan a nested loop of minutes on never-analysed tables
    customer_ids, deal_ids = _id_list(r["customer_id"] for r in rows), _id_list(r["deal_id"] for r in rows)
    since = datetime.combine(today - timedelta(days=priority.COMMS_WINDOW_DAYS), datetime.min.time())
    averages = {c: float(a) for c, a in conn.execute(sa.text(RAW_AVERAGES), p)}
    best: dict = {}
    for cid, currency, top, probability in conn.execute(sa.text(RAW_BEST.format(ids=customer_ids)), p):
        ratio = top / averages[currency] if averages.get(currency) else 1.0
        old = best.get(cid, (0.0, 0))
        best[cid] = (max(old[0], ratio), max(old[1], probability))
    comms = {cid: (int(n or 0), last) for cid, n, last in
             conn.execute(sa.text(RAW_COMMS.format(ids=customer_ids)), dict(p, since=since))}
    moves = dict(conn.execute(sa.text(RAW_MOVES.format(ids=deal_ids)), p).all())
    listed = _id_list(r["customer_id"] for r in rows)
    billing: dict = {}
    for cid, currency, outstanding, past_due in conn.execute(
            sa.text(RAW_INVOICES.format(ids=listed)), dict(p, past_due=utcnow() - timedelta(days=30))):
        entry = billing.setdefault(cid, {"past": {}, "out": {}, "active": [], "trial": []})
        entry["out"][currency] = int(outstanding)
        if past_due:
            entry["past"][currency] = int(past_due)
    for cid, product, status in conn.execute(sa.text(RAW_SUBSCRIPTIONS.format(ids=listed)), p):
        entry = billing.setdefault(cid, {"past": {}, "out": {}, "active": [], "trial": []})
        if status in ("active", "trial"):
            entry[status].append(product)
    conn.execute(sa.text(RAW_OWNERS.format(ids=_id_list(r["owner_id"] for r in rows))), p).all()

    def days(moment):
        if moment is None:
            return None
        moment = date.fromisoformat(moment[:10]) if isinstance(moment, str) else moment
        return max(0, (today - (moment.date() if isinstance(moment, datetime) else moment)).days)

    ranked = []
    for r in rows:
        linked = r["deal_id"] is not None and r["outcome"] is None and r["deal_archived_at"] is None
        cid = r["customer_id"]
        if linked:
            ratio = r["value_cents"] / averages[r["currency"]] if averages.get(r["currency"]) else 1.0
            probability, moved = r["probability"], max(m for m in (moves.get(r["deal_id"]), r["deal_created_at"]) if m)
        elif cid in best:
            (ratio, probability), moved = best[cid], None
        else:
            ratio = probability = moved = None
        recent, last = comms.get(cid, (0, None))
        contacted = [d for d in (days(last), days(r["last_contacted_at"])) if d is not None]
        b = billing.get(cid)
        due = r["due_date"] if not isinstance(r["due_date"], str) else date.fromisoformat(r["due_date"])
        facts = priority.Facts(
            today=today, activity_type=r["type"], due_date=due, has_customer=cid is not None,
            lifecycle_stage=r["lifecycle_stage"] or "prospect", health_score=r["health_score"],
            deal_title=r["deal_title"], deal_linked=linked, value_ratio=ratio, probability=probability,
            stage_label=r["stage_label"], days_since_stage_move=days(moved), communications_14d=recent,
            days_since_contact=min(contacted) if contacted else None,
            billing=priority.Billing(past_due_ar_cents=b["past"], outstanding_ar_cents=b["out"],
                                     active_products=tuple(b["active"]), trial_products=tuple(b["trial"]))
            if b else priority.Billing())
        ranked.append((priority.rank(facts), r))
    if not ranked_page_only:
        ranked.sort(key=lambda pair: (-pair[0].score, pair[1]["due_date"] is None, pair[1]["due_date"], pair[1]["id"]))
    page = ranked[:limit]
    # names of the shown page only, by primary key (joined into every candidate row they cost
    # seconds on never-analysed tables)
    conn.execute(sa.text(RAW_CUSTOMER_NAMES.format(ids=_id_list(r["customer_id"] for _, r in page))), p).all()
    conn.execute(sa.text(RAW_CONTACT_NAMES.format(ids=_id_list(r["contact_id"] for _, r in page))), p).all()
    return page


def measure(app, tenant_id: int, viewer, label: str) -> None:
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = str(viewer.id)
        s["_fresh"] = True
    with app.test_request_context(), tenant_scope(tenant_id):
        owner = viewer.id
        product_queue = lambda: queue.queue(owner, viewer=viewer, limit=50)  # noqa: E731
        product_overdue = lambda: queue.overdue(owner, viewer=viewer, limit=50)  # noqa: E731
        api_queue = lambda: client.get("/api/crm/activities/queue?limit=50")  # noqa: E731
        api_overdue = lambda: client.get("/api/crm/activities/overdue?limit=50")  # noqa: E731
        raw_queue = lambda: raw_rank(tenant_id, owner, "", "", 50, False)  # noqa: E731
        raw_overdue = lambda: raw_rank(tenant_id, owner, "AND a.due_date < :today",  # noqa: E731
                                       "ORDER BY a.due_date, a.id", 50, True)
        rows, total = product_queue()
        _, overdue_total = product_overdue()
        assert api_queue().status_code == 200
        assert [r["activity"]["id"] for r in rows] == [r["id"] for _, r in raw_queue()], "raw and product disagree"
        print(f"-- {label}: owner's open queue {total:,} rows, overdue {overdue_total:,}")
        for name, product, api, raw in (("queue (rank all open, page of 50)", product_queue, api_queue, raw_queue),
                                        ("overdue (page of 50, ranked)", product_overdue, api_overdue, raw_overdue)):
            p_ms, a_ms, r_ms = median_ms(product), median_ms(api), median_ms(raw)
            print(f"{name:38s} service {p_ms:8.1f} ms   API {a_ms:8.1f} ms   raw SQL + rank {r_ms:8.1f} ms"
                  f"   ratio API/raw {a_ms / r_ms:4.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--owners", type=int, default=20)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{scratch_dir()}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        tenant = Tenant(name=f"bench-{time.time_ns()}")
        db.session.add(tenant)
        db.session.flush()
        from host_stub.features import set_feature
        set_feature(tenant, "crm", True)
        users = [User(tenant_id=tenant.id, email=f"o{i}-{tenant.name}@bench.test", name=f"Owner {i}", role="ADMIN",
                      password_hash="x", permissions=["billing.view"]) for i in range(args.owners)]
        db.session.add_all(users)
        db.session.commit()
        started = time.perf_counter()
        with tenant_scope(tenant.id):
            fill(tenant.id, [u.id for u in users], args.activities, args.deals)
        print(f"{args.activities:,} activities, {args.deals:,} deals, {CUSTOMERS:,} customers, {args.owners} owners "
              f"on {sa.make_url(url).get_backend_name()} (loaded in {time.perf_counter() - started:.0f} s)")
        viewer = db.session.get(User, users[0].id)
        if db.engine.dialect.name == "postgresql":
            measure(app, tenant.id, viewer, "fresh tables, never analysed")
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("ANALYZE"))
            measure(app, tenant.id, viewer, "after ANALYZE")
        else:
            measure(app, tenant.id, viewer, "SQLite")


if __name__ == "__main__":
    main()
