"""Customer directory and dashboard: product figure beside a raw-SQL figure, same run.

    python benchmarks/customers.py [--customers 20000] [--url sqlite:////tmp/bench.db]

Builds a scratch database through the real migrations, fills one tenant with customers (80 %
with a CRM profile), deals and communications by bulk inserts, then times (median of 7) the
directory page (count + 50 rows, with a search), the dashboard, and hand-written SQL for the
same answers."""
import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from host_stub import create_app  # noqa: E402
from host_stub.models import PortalCustomer, Tenant, User, db  # noqa: E402
from kw_crm.db import utcnow  # noqa: E402
from kw_crm.models import Communication, CustomerProfile, Deal, Stage  # noqa: E402
from kw_crm.services import customers, dashboard  # noqa: E402
from kw_crm.tenancy import tenant_scope  # noqa: E402

RAW_PAGE = """
SELECT c.id, c.name, coalesce(p.lifecycle_stage, 'prospect'), p.health_score, u.name
FROM portal_customers c
LEFT JOIN crm_customer_profiles p ON p.customer_id = c.id AND p.tenant_id = :t
LEFT JOIN users u ON u.id = p.owner_id
WHERE c.tenant_id = :t AND p.archived_at IS NULL AND lower(c.name) LIKE :q
ORDER BY lower(c.name), c.id LIMIT 50"""
RAW_COUNT = """
SELECT count(*) FROM portal_customers c
LEFT JOIN crm_customer_profiles p ON p.customer_id = c.id AND p.tenant_id = :t
WHERE c.tenant_id = :t AND p.archived_at IS NULL AND lower(c.name) LIKE :q"""
RAW_DASHBOARD = [
    """SELECT coalesce(p.lifecycle_stage, 'prospect'), count(*), sum(CASE WHEN p.health_score < 30 THEN 1 ELSE 0 END)
       FROM portal_customers c LEFT JOIN crm_customer_profiles p ON p.customer_id = c.id AND p.tenant_id = :t
       WHERE c.tenant_id = :t AND p.archived_at IS NULL GROUP BY 1""",
    """SELECT d.currency, count(*), sum(d.value_cents), sum(d.value_cents * s.probability)
       FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
       WHERE d.tenant_id = :t AND s.outcome IS NULL AND d.archived_at IS NULL AND NOT EXISTS (
             SELECT 1 FROM crm_customer_profiles p WHERE p.tenant_id = :t AND p.customer_id = d.customer_id
             AND p.archived_at IS NOT NULL)
       GROUP BY d.currency""",
    """SELECT count(*) FROM crm_communications m WHERE m.tenant_id = :t AND m.occurred_at >= :since
       AND NOT EXISTS (SELECT 1 FROM crm_customer_profiles p WHERE p.tenant_id = :t
                       AND p.customer_id = m.customer_id AND p.archived_at IS NOT NULL)""",
    """SELECT c.id, c.name, p.health_score, p.lifecycle_stage, u.name FROM portal_customers c
       JOIN crm_customer_profiles p ON p.customer_id = c.id AND p.tenant_id = :t
       LEFT JOIN users u ON u.id = p.owner_id
       WHERE c.tenant_id = :t AND p.archived_at IS NULL AND p.health_score < 30
       ORDER BY p.health_score, lower(c.name), c.id LIMIT 20""",
]


def median_ms(fn, runs=7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def fill(n: int, tenant_id: int, owner_id: int) -> None:
    rng = random.Random(1)
    conn = db.session.connection()
    conn.execute(sa.insert(PortalCustomer), [{"tenant_id": tenant_id, "name": f"Company {i:06d} {rng.choice('ABCDEFGH')}"}
                                            for i in range(n)])
    ids = list(db.session.scalars(sa.select(PortalCustomer.id).where(PortalCustomer.tenant_id == tenant_id)))
    conn.execute(sa.insert(CustomerProfile), [
        {"tenant_id": tenant_id, "customer_id": cid, "owner_id": owner_id,
         "lifecycle_stage": rng.choice(["prospect", "qualified", "customer", "churned"]),
         "health_score": rng.randint(0, 100), "archived_at": utcnow() if rng.random() < 0.05 else None}
        for cid in ids if rng.random() < 0.8])
    stage_ids = []
    for pos, (key, prob, outcome) in enumerate([("LEAD", 10, None), ("PROPOSAL", 60, None), ("WON", 100, "won")]):
        stage = Stage(tenant_id=tenant_id, key=key, label=key, probability=prob, position=pos, outcome=outcome)
        db.session.add(stage)
        db.session.flush()
        stage_ids.append(stage.id)
    conn.execute(sa.insert(Deal), [{"tenant_id": tenant_id, "title": "d", "value_cents": rng.randint(0, 10**6),
                                    "currency": "USD", "stage_id": rng.choice(stage_ids),
                                    "customer_id": rng.choice(ids), "version": 1} for _ in range(n)])
    conn.execute(sa.insert(Communication), [{"tenant_id": tenant_id, "customer_id": rng.choice(ids), "subject": "s",
                                             "channel": "call", "occurred_at": utcnow()} for _ in range(n)])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # what autovacuum would have done by now
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(sa.text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{scratch_dir()}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
        tenant = Tenant(name=f"bench-{time.time_ns()}")
        db.session.add(tenant)
        db.session.flush()
        user = User(tenant_id=tenant.id, email=f"{tenant.name}@bench.test", name="Bench", role="ADMIN", password_hash="x")
        db.session.add(user)
        db.session.commit()
        fill(args.customers, tenant.id, user.id)
        with app.test_request_context(), tenant_scope(tenant.id):
            filters = customers.CustomerFilters(search="00 b")
            since = utcnow().replace(year=2000)
            params = {"t": tenant.id, "q": "%00 b%", "since": since}
            rows = [
                ("directory page (count + 50 rows, search)",
                 lambda: customers.list_customers(filters, 50, 0),
                 lambda: (db.session.execute(sa.text(RAW_COUNT), params).scalar(),
                          db.session.execute(sa.text(RAW_PAGE), params).all())),
                ("dashboard (all aggregates + churn panel)", dashboard.summary,
                 lambda: [db.session.execute(sa.text(q), params).all() for q in RAW_DASHBOARD]),
            ]
            print(f"{args.customers} customers on {sa.make_url(url).get_backend_name()}")
            for label, product, raw in rows:
                print(f"{label:45s} product {median_ms(product):8.2f} ms   raw SQL {median_ms(raw):8.2f} ms")


if __name__ == "__main__":
    main()
