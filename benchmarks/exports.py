"""Streamed CSV exports (contacts, deals): memory stays flat as the row count grows.

    python benchmarks/exports.py [--sizes 10000,100000,1000000] [--url postgresql+psycopg://...]

Builds a scratch database through the real migrations (SQLite by default; with ``--url`` a
PostgreSQL server, where a ``kw_bench_*`` database is created and dropped), grows one tenant's
contacts and deals to each size by bulk inserts (half the deals linked to a contact), and at
each size streams ``GET /api/crm/contacts/export.csv`` and ``/deals/export.csv`` through the
real app (guard, tenancy hooks, service, CSV writer), reading the body chunk by chunk and
throwing it away, as a client saving it to disk would. Beside each product run, the raw-SQL
figure: the same SELECT through the bare driver cursor into ``csv.writer`` with the same
formula guard inline.

Memory: Python's own allocations during the export (tracemalloc peak, which also slows the run
down, so times are taken in a second, untraced run) and the process's resident size growth."""
import argparse
import csv
import io
import os
import sys
import tempfile
import time
import tracemalloc
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from host_stub import create_app  # noqa: E402
from host_stub.features import set_feature  # noqa: E402
from host_stub.models import Tenant, User, db  # noqa: E402
from kw_crm.models import Contact, Deal, Stage  # noqa: E402
from kw_crm.tenancy import tenant_scope  # noqa: E402

FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
RAW = {
    "contacts": """SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.job_title, c.company, c.customer_id,
                          c.type, c.status, c.owner_id, u.name, c.is_decision_maker, coalesce(d.n, 0), c.notes,
                          c.created_at, c.updated_at
                   FROM crm_contacts c LEFT JOIN users u ON u.id = c.owner_id AND u.tenant_id = :t
                   LEFT JOIN (SELECT contact_id, count(id) AS n FROM crm_deals WHERE tenant_id = :t
                              AND contact_id IS NOT NULL AND archived_at IS NULL GROUP BY contact_id) d
                          ON d.contact_id = c.id
                   WHERE c.tenant_id = :t ORDER BY c.id""",
    "deals": """SELECT d.id, d.title, d.value_cents, d.currency, s.key, s.label, s.outcome, d.expected_close_date,
                       d.owner_id, u.name, d.contact_id, c.first_name || ' ' || c.last_name, d.customer_id, p.name,
                       d.notes, d.closed_reason, d.closed_at, d.archived_at, d.archive_reason, d.created_at,
                       d.updated_at
                FROM crm_deals d JOIN crm_stages s ON s.id = d.stage_id
                LEFT JOIN users u ON u.id = d.owner_id AND u.tenant_id = :t
                LEFT JOIN crm_contacts c ON c.id = d.contact_id AND c.tenant_id = :t
                LEFT JOIN portal_customers p ON p.id = d.customer_id AND p.tenant_id = :t
                WHERE d.tenant_id = :t AND d.archived_at IS NULL ORDER BY d.id""",
}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def grow(tenant_id: int, owner_id: int, stage_id: int, have: int, want: int) -> None:
    """Add contacts and deals ``have..want`` in batches (the benchmark's own memory stays small)."""
    for start in range(have, want, 20_000):
        conn = db.session.connection()
        stop = min(want, start + 20_000)
        conn.execute(sa.insert(Contact), [
            {"tenant_id": tenant_id, "first_name": f"First{i}", "last_name": f"Last{i:07d}",
             "email": f"person{i}@example.test", "company": f"Company {i % 5000}", "phone": "+1 555 0100",
             "type": "customer", "status": "lead", "owner_id": owner_id, "is_decision_maker": i % 7 == 0}
            for i in range(start, stop)])
        first_id = conn.execute(sa.text("SELECT max(id) FROM crm_contacts")).scalar() - (stop - start) + 1
        conn.execute(sa.insert(Deal), [
            {"tenant_id": tenant_id, "title": f"Deal {i}", "value_cents": i * 100, "currency": "USD",
             "stage_id": stage_id, "owner_id": owner_id, "contact_id": first_id + (i - start) if i % 2 else None,
             "version": 1} for i in range(start, stop)])
        db.session.commit()


def product_export(client, kind: str) -> tuple[int, int]:
    response = client.get(f"/api/crm/{kind}/export.csv", buffered=False)
    assert response.status_code == 200, response.status_code
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    return lines - 1, size


def raw_export(engine, kind: str, tenant_id: int) -> tuple[int, int]:
    rows = size = 0
    with engine.connect().execution_options(stream_results=True, yield_per=1000) as conn:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in conn.execute(sa.text(RAW[kind]), {"t": tenant_id}):
            # the same formula guard, written inline
            writer.writerow(["'" + v if type(v) is str and v[:1] in FORMULA_STARTS else v for v in row])
            rows += 1
            if buffer.tell() > 64_000:
                size += len(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        size += len(buffer.getvalue().encode())
    return rows, size


def measure(fn) -> tuple[float, float, float, object]:
    """(seconds untraced, tracemalloc peak MB, RSS growth MB, result)."""
    rss_before = rss_mb()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    rss_growth = rss_mb() - rss_before
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, rss_growth, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--url", default=None, help="a PostgreSQL server URL (a scratch database is made on it)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    admin_engine = scratch = None
    if args.url:
        scratch = f"kw_bench_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(args.url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        url = sa.make_url(args.url).set(database=scratch).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        run(url, sizes)
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


def run(url: str, sizes: list[int]) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
        tenant = Tenant(name=f"bench-{time.time_ns()}")
        db.session.add(tenant)
        db.session.flush()
        set_feature(tenant, "crm", True)
        user = User(tenant_id=tenant.id, email=f"{tenant.name}@bench.test", name="Bench", role="ADMIN",
                    password_hash="x", permissions=[])
        db.session.add(user)
        db.session.commit()
        with tenant_scope(tenant.id):
            stage = Stage(key="LEAD", label="Lead", probability=10, position=0)
            db.session.add(stage)
            db.session.commit()
            tenant_id, user_id, stage_id = tenant.id, user.id, stage.id
        engine = db.engine
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
    print(f"streamed CSV exports on {sa.make_url(url).get_backend_name()} "
          "(time untraced; memory: tracemalloc peak / RSS growth)")
    have = 0
    for size in sizes:
        with app.app_context():
            grow(tenant_id, user_id, stage_id, have, size)
        have = size
        for kind in ("contacts", "deals"):
            with app.app_context():
                p_time, p_peak, p_rss, (p_rows, p_bytes) = measure(lambda k=kind: product_export(client, k))
                r_time, r_peak, r_rss, (r_rows, _) = measure(lambda k=kind: raw_export(engine, k, tenant_id))
            assert p_rows == r_rows == size, (kind, p_rows, r_rows, size)
            print(f"{size:>9,} {kind:8s} product {p_time:7.2f} s  peak {p_peak:6.1f} MB  rss +{p_rss:6.1f} MB"
                  f"  ({p_bytes / 2**20:6.1f} MB CSV)  |  raw SQL {r_time:7.2f} s  peak {r_peak:6.1f} MB")


if __name__ == "__main__":
    main()
