"""Forecast, board and deal table at scale: each request through the whole app (test client:
guard, service, template or JSON) beside hand-written SQL computing the same numbers, same run.

    python benchmarks/forecast.py [--deals 100000] [--db sqlite|postgresql|both]
                                  [--pg-url postgresql+psycopg://postgres@127.0.0.1/test] [--runs 7]

Builds a scratch database through the real migrations (PostgreSQL: a ``kw_bench_*`` database
created next to ``--pg-url`` and dropped afterwards), fills a tenant with N deals over 20 owners
and 3 currencies (creation and close dates over 400 days, 30 % closed, 3 % archived, contacts
and customers linked, stale thresholds on two stages), ANALYZEs it as autovacuum would, then adds
a second tenant of the same size that is never analysed (the planner knows nothing of it). For
both tenants it prints the median time of each page or endpoint and of the raw SQL of the same
work (measured alternately, so a busy machine slows both alike),
their ratio and the number of SQL statements the request sent."""
# ruff: noqa: S608 - the only interpolated values are integer ids read from the database
import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as dtime
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from host_stub import create_app  # noqa: E402
from host_stub.features import set_feature  # noqa: E402
from host_stub.models import PortalCustomer, Tenant, User, db  # noqa: E402
from kw_crm.db import utcnow  # noqa: E402
from kw_crm.models import Contact, Deal  # noqa: E402
from kw_crm.services import stages as stage_service  # noqa: E402
from kw_crm.tenancy import tenant_scope  # noqa: E402

CURRENCIES = ("USD", "EUR", "GBP")
OWNERS = 20


def fill(n: int, name: str) -> dict:
    """A tenant with an admin, 20 owners, stages (two with stale thresholds), 5k contacts, 2k
    customers and ``n`` deals, inserted in bulk."""
    rng = random.Random(15)
    tenant = Tenant(name=name)
    db.session.add(tenant)
    db.session.flush()
    set_feature(tenant, "crm", True)
    users = [User(tenant_id=tenant.id, email=f"{name}-{i}@bench.test", name=f"Owner {i:02d}", role="ADMIN",
                  password_hash="x", active=True, permissions=[]) for i in range(OWNERS)]
    db.session.add_all(users)
    db.session.commit()
    conn = db.session.connection()
    with tenant_scope(tenant.id):
        stages = stage_service.list_stages()
        for s in stages:
            s.stale_after_days = {"LEAD": 30, "PROPOSAL": 21}.get(s.key)
        db.session.commit()
        conn = db.session.connection()
        conn.execute(sa.insert(PortalCustomer), [{"tenant_id": tenant.id, "name": f"Customer {i:05d}"}
                                                for i in range(2_000)])
        customers = list(db.session.scalars(sa.select(PortalCustomer.id).where(PortalCustomer.tenant_id == tenant.id)))
        conn.execute(sa.insert(Contact), [{"tenant_id": tenant.id, "first_name": f"First{i}", "last_name": f"Last{i}",
                                           "email": f"c{i}@{name}.test", "type": "customer", "status": "lead",
                                           "is_decision_maker": False} for i in range(5_000)])
        contacts = list(db.session.scalars(sa.select(Contact.id)))
        now = utcnow()
        rows = []
        for i in range(n):
            stage = rng.choices(stages, weights=[5, 4, 3, 2, 2, 1])[0]
            created = now - timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86_399))
            rows.append({
                "tenant_id": tenant.id, "title": f"Deal {i} {rng.choice(('renewal', 'upgrade', 'pilot', 'rollout'))}",
                "value_cents": rng.randint(0, 5_000_000), "currency": rng.choice(CURRENCIES), "stage_id": stage.id,
                "owner_id": rng.choice(users).id, "created_at": created, "updated_at": created, "version": 1,
                "stage_changed_at": created + (now - created) * rng.random() / 2,
                "closed_at": created + (now - created) * rng.random() if stage.outcome else None,
                "expected_close_date": (now + timedelta(days=rng.randint(-90, 120))).date() if rng.random() < .8 else None,
                "contact_id": rng.choice(contacts) if rng.random() < .5 else None,
                "customer_id": rng.choice(customers) if rng.random() < .4 else None,
                "archived_at": now if rng.random() < .03 else None})
            if len(rows) == 10_000:
                conn.execute(sa.insert(Deal), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(Deal), rows)
        plain = [SimpleNamespace(id=s.id, outcome=s.outcome, stale_after_days=s.stale_after_days) for s in stages]
        db.session.commit()
    return {"tenant": tenant.id, "admin": users[0].id, "owner": users[3].id, "stages": plain}


def raw_forecast(ids: dict, owner: bool):
    """The forecast's numbers in hand-written SQL: stages, users, open deals by owner x currency
    x aging bucket (value, weighted, overdue, stale), closed deals by day x outcome x currency,
    the 50 most overdue deals."""
    now = utcnow()
    today = now.date()
    cut = {d: datetime.combine(today - timedelta(days=d), dtime()) for d in (30, 60, 90)}
    stale = " OR ".join(f"(d.stage_id = {s.id} AND d.stage_changed_at < :stale{s.id})"
                        for s in ids["stages"] if s.stale_after_days) or "0 = 1"
    params = {"t": ids["tenant"], "today": today, "c30": cut[30], "c60": cut[60], "c90": cut[90],
              "first": datetime.combine(today - timedelta(days=364), dtime()),
              "end": datetime.combine(today + timedelta(days=1), dtime()), "o": ids["owner"],
              **{f"stale{s.id}": now - timedelta(days=s.stale_after_days) for s in ids["stages"] if s.stale_after_days}}
    where_owner = " AND d.owner_id = :o" if owner else ""
    statements = [
        "SELECT id, key, label, probability, outcome, stale_after_days FROM crm_stages WHERE tenant_id = :t "
        "ORDER BY position, id",
        "SELECT id, name FROM users WHERE tenant_id = :t ORDER BY name, id",
        f"""SELECT d.owner_id, d.currency,
                   CASE WHEN d.created_at >= :c30 THEN 0 WHEN d.created_at >= :c60 THEN 1
                        WHEN d.created_at >= :c90 THEN 2 ELSE 3 END AS bucket,
                   count(*), sum(d.value_cents), sum(d.value_cents * s.probability),
                   sum(CASE WHEN d.expected_close_date < :today THEN 1 ELSE 0 END),
                   sum(CASE WHEN {stale} THEN 1 ELSE 0 END)
            FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
            WHERE d.tenant_id = :t AND s.outcome IS NULL AND d.archived_at IS NULL{where_owner}
            GROUP BY 1, 2, 3""",
        f"""SELECT date(d.closed_at), s.outcome, d.currency, count(*), sum(d.value_cents)
            FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
            WHERE d.tenant_id = :t AND s.outcome IS NOT NULL AND d.archived_at IS NULL
              AND d.closed_at >= :first AND d.closed_at < :end{where_owner}
            GROUP BY 1, 2, 3""",
        f"""SELECT d.id, d.title, d.value_cents, d.currency, d.expected_close_date, d.owner_id, s.key, s.label
            FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
            WHERE d.tenant_id = :t AND s.outcome IS NULL AND d.archived_at IS NULL
              AND d.expected_close_date < :today{where_owner}
            ORDER BY d.expected_close_date, d.id LIMIT 50""",
    ]
    return lambda: [db.session.execute(sa.text(q), params).all() for q in statements]


CARD_COLUMNS = """SELECT n.*, c.first_name || ' ' || c.last_name, u.name, pc.name FROM ({union}) n
    LEFT JOIN crm_contacts c ON c.id = n.contact_id AND c.tenant_id = :t
    LEFT JOIN users u ON u.id = n.owner_id AND u.tenant_id = :t
    LEFT JOIN portal_customers pc ON pc.id = n.customer_id AND pc.tenant_id = :t
    ORDER BY n.stage_id, n.id DESC"""
SEARCH = """ AND (lower(d.title) LIKE :q OR d.contact_id IN (SELECT id FROM crm_contacts WHERE tenant_id = :t
             AND lower(first_name || ' ' || last_name || '\n' || coalesce(email, '') || '\n' || coalesce(company, ''))
             LIKE :q) OR d.customer_id IN (SELECT id FROM portal_customers WHERE tenant_id = :t AND lower(name) LIKE :q))"""


def raw_board(ids: dict, q: str | None):
    """Stages, users, totals per stage x currency, the newest 25 cards of each open stage with
    contact, owner and customer names."""
    search = SEARCH if q else ""
    params = {"t": ids["tenant"], "q": f"%{q}%"}
    opened = [s for s in ids["stages"] if s.outcome is None]
    union = " UNION ALL ".join(
        f"SELECT * FROM (SELECT d.id, d.title, d.value_cents, d.currency, d.stage_id, d.contact_id, d.owner_id, "
        f"d.customer_id, d.expected_close_date, d.stage_changed_at FROM crm_deals d WHERE d.tenant_id = :t "
        f"AND d.stage_id = {s.id} AND d.archived_at IS NULL{search} ORDER BY d.id DESC LIMIT 25) AS s{s.id}"
        for s in opened)
    statements = [
        "SELECT id, key, label, probability, outcome, stale_after_days FROM crm_stages WHERE tenant_id = :t "
        "ORDER BY position, id",
        "SELECT id, name FROM users WHERE tenant_id = :t ORDER BY name, id",
        f"SELECT d.stage_id, d.currency, count(*), sum(d.value_cents) FROM crm_deals d WHERE d.tenant_id = :t "
        f"AND d.archived_at IS NULL{search} GROUP BY 1, 2",
        CARD_COLUMNS.format(union=union),
    ]
    return lambda: [db.session.execute(sa.text(s), params).all() for s in statements]


def raw_table(ids: dict):
    """Stages, users, the count of open deals and page 3 by expected close date, then the names of
    the page's contacts and customers by primary key. (Joining the names into the page scan made
    PostgreSQL read every contact of a never-analysed tenant once per deal: 28 s a page.)"""
    opened = ", ".join(str(s.id) for s in ids["stages"] if s.outcome is None)
    params = {"t": ids["tenant"]}
    statements = [
        "SELECT id, key, label, probability, outcome, stale_after_days FROM crm_stages WHERE tenant_id = :t "
        "ORDER BY position, id",
        "SELECT id, name FROM users WHERE tenant_id = :t ORDER BY name, id",
        f"SELECT count(*) FROM crm_deals d WHERE d.tenant_id = :t AND d.archived_at IS NULL AND d.stage_id IN ({opened})",
    ]
    page = f"""SELECT d.id, d.title, d.value_cents, d.currency, d.expected_close_date, d.owner_id, d.created_at,
                   d.stage_changed_at, d.contact_id, d.customer_id, s.key, s.label, s.outcome
            FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
            WHERE d.tenant_id = :t AND d.archived_at IS NULL AND d.stage_id IN ({opened})
            ORDER BY d.expected_close_date IS NULL, d.expected_close_date, d.id LIMIT 50 OFFSET 100"""

    def run():
        for statement in statements:
            db.session.execute(sa.text(statement), params).all()
        rows = db.session.execute(sa.text(page), params).all()
        contacts = ",".join(str(r.contact_id) for r in rows if r.contact_id) or "NULL"
        customers = ",".join(str(r.customer_id) for r in rows if r.customer_id) or "NULL"
        db.session.execute(sa.text(f"SELECT id, first_name || ' ' || last_name FROM crm_contacts "
                                   f"WHERE tenant_id = :t AND id IN ({contacts})"), params).all()
        db.session.execute(sa.text(f"SELECT id, name FROM portal_customers WHERE tenant_id = :t "
                                   f"AND id IN ({customers})"), params).all()
    return run


def paired_medians(product, raw, runs: int) -> tuple[float, float]:
    """Median ms of each, measured alternately so a busy machine slows both alike."""
    product()
    raw()  # warm both
    times: tuple[list, list] = ([], [])
    for _ in range(runs):
        for fn, bucket in ((raw, times[1]), (product, times[0])):
            start = time.perf_counter()
            fn()
            bucket.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def measure(app, ids: dict, label: str, runs: int) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(ids["admin"])
        session["_fresh"] = True
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def get(url):
        def run():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return run

    cases = [
        ("forecast API, 365 days", "/api/crm/forecast?window=365", raw_forecast(ids, owner=False)),
        ("forecast page, 365 days", "/crm/forecast?window=365", raw_forecast(ids, owner=False)),
        ("forecast API, one owner", f"/api/crm/forecast?window=90&owner_id={ids['owner']}", raw_forecast(ids, owner=True)),
        ("board page", "/crm/deals", raw_board(ids, None)),
        ("board page, search 'renewal'", "/crm/deals?q=renewal", raw_board(ids, "renewal")),
        ("deal table, by close date, page 3", "/crm/deals/table?sort=close&page=3", raw_table(ids)),
    ]
    print(f"\n{label}")
    print(f"{'':38s} {'product':>10s} {'raw SQL':>10s} {'ratio':>6s} {'queries':>8s}")
    for name, url, raw_sql in cases:
        def raw(raw_sql=raw_sql):
            with app.app_context(), tenant_scope(ids["tenant"]):
                raw_sql()
        product_ms, raw_ms = paired_medians(get(url), raw, runs)
        statements.clear()
        get(url)()
        print(f"{name:38s} {product_ms:8.1f}ms {raw_ms:8.1f}ms {product_ms / raw_ms:6.2f} {len(statements):8d}")


def run(url: str, deals: int, runs: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        big = fill(deals, f"bench-{uuid.uuid4().hex[:6]}")
        if db.engine.dialect.name == "postgresql":  # what autovacuum would have done by now
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        fresh = fill(deals, f"fresh-{uuid.uuid4().hex[:6]}")  # never analysed
        print(f"\n== {db.engine.dialect.name}: 2 tenants x {deals} deals, {OWNERS} owners, "
              f"{len(CURRENCIES)} currencies (filled in {time.perf_counter() - started:.0f} s)")
    measure(app, big, "analysed tenant", runs)
    measure(app, fresh, "fresh, never-analysed tenant", runs)
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg-url", default=os.environ.get("KW_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1/test"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        run(f"sqlite:///{scratch_dir()}/bench.db", args.deals, args.runs)
    if args.db in ("postgresql", "both"):
        server = sa.make_url(args.pg_url)
        scratch = f"kw_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        try:
            run(server.set(database=scratch).render_as_string(hide_password=False), args.deals, args.runs)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
