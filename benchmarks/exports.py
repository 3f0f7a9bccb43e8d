"""Streamed CSV exports (contacts, deals): memory stays flat as the row count grows.

    python benchmarks/exports.py [--sizes 100000,1000000] [--url postgresql+psycopg://...] [--kinds contacts,deals]

Builds a scratch database through the real migrations (SQLite by default; with ``--url`` a
PostgreSQL server, where a ``kw_bench_*`` database is created and dropped), grows one tenant's
contacts and deals to each size by bulk inserts (half the deals linked to a contact), and at
each size runs every path in a fresh subprocess, so its peak resident size is its own:

* product: ``GET /api/crm/<kind>/export.csv`` through the real app (guard, tenancy hooks,
  service, CSV writer), the body read chunk by chunk and thrown away, as a client saving it to
  disk would;
* raw cursor: the same SELECT through SQLAlchemy's streaming cursor (a server-side cursor on
  PostgreSQL) into ``csv.writer``, with the same formula guard inline;
* raw COPY (PostgreSQL only): ``COPY (the same SELECT) TO STDOUT (FORMAT csv)`` through psycopg,
  the server writing the CSV: the floor no Python exporter reaches.

Per path it prints the export's time, the process's peak RSS during the export (VmHWM, reset
just before it starts, so interpreter, imports and app are included but nothing earlier) and the
resident size just before the export (the baseline), plus the load average around the run: the
machine is shared, so times wander; product and raw run back to back at each size."""
import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import sqlalchemy as sa  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402

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


# ---------------------------------------------------------------------------- in the subprocess

def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is the export's own."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def product_export(args):
    from host_stub import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.db, "SECRET_KEY": "bench", "TESTING": True})
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(args.user)

    def run():
        response = client.get(f"/api/crm/{args.kind}/export.csv", buffered=False)
        assert response.status_code == 200, response.status_code
        size = lines = 0
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n")
        response.close()
        return lines - 1, size

    return run


def raw_cursor_export(args):
    engine = sa.create_engine(args.db)

    def run():
        rows = size = 0
        with engine.connect().execution_options(stream_results=True, yield_per=1000) as conn:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in conn.execute(sa.text(RAW[args.kind]), {"t": args.tenant}):
                # the same formula guard, written inline
                writer.writerow(["'" + v if type(v) is str and v[:1] in FORMULA_STARTS else v for v in row])
                rows += 1
                if buffer.tell() > 64_000:
                    size += len(buffer.getvalue().encode())
                    buffer.seek(0)
                    buffer.truncate()
            size += len(buffer.getvalue().encode())
        return rows, size

    return run


def raw_copy_export(args):
    import psycopg

    dsn = sa.make_url(args.db).set(drivername="postgresql").render_as_string(hide_password=False)
    statement = "COPY (" + RAW[args.kind].replace(":t", str(int(args.tenant))) + ") TO STDOUT (FORMAT csv)"

    def run():
        rows = size = 0
        with psycopg.connect(dsn) as conn, conn.cursor().copy(statement) as copy:
            for data in copy:
                size += len(data)
                rows += bytes(data).count(b"\n")
        return rows, size

    return run


PATHS = {"product": product_export, "raw cursor": raw_cursor_export, "raw COPY": raw_copy_export}


def child(args) -> None:
    run = PATHS[args.child](args)
    baseline = _status_mb("VmRSS")
    reset = _reset_peak()
    start = time.perf_counter()
    rows, size = run()
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": rows, "bytes": size, "seconds": seconds, "baseline_mb": baseline,
                      "peak_mb": _status_mb("VmHWM"), "peak_is_export_only": reset}))


# ---------------------------------------------------------------------------- the parent

def grow(app, tenant_id: int, owner_id: int, stage_id: int, have: int, want: int) -> None:
    """Add contacts and deals ``have..want`` in batches (the benchmark's own memory stays small)."""
    from host_stub.models import db
    from kw_crm.models import Contact, Deal

    with app.app_context():
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
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()


def setup(url: str):
    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.features import set_feature
    from host_stub.models import Tenant, User, db
    from kw_crm.models import Stage
    from kw_crm.tenancy import tenant_scope

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
            return app, tenant.id, user.id, stage.id


def measure(path: str, url: str, kind: str, tenant_id: int, user_id: int) -> dict:
    load_before = os.getloadavg()[0]
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", path, "--db", url, "--kind", kind,
                          "--tenant", str(tenant_id), "--user", str(user_id)],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load"] = (load_before, os.getloadavg()[0])
    return result


def run(url: str, sizes: list[int], kinds: list[str]) -> None:
    app, tenant_id, user_id, stage_id = setup(url)
    backend = sa.make_url(url).get_backend_name()
    paths = ["product", "raw cursor"] + (["raw COPY"] if backend == "postgresql" else [])
    print(f"streamed CSV exports on {backend}, {os.cpu_count()} cores; each path in its own subprocess "
          "(peak = VmHWM during the export, base = RSS before it)", flush=True)
    have = 0
    for size in sizes:
        started = time.perf_counter()
        grow(app, tenant_id, user_id, stage_id, have, size)
        have = size
        print(f"  grew to {size:,} contacts and deals in {time.perf_counter() - started:.0f} s", flush=True)
        for kind in kinds:
            for path in paths:
                r = measure(path, url, kind, tenant_id, user_id)
                assert r["rows"] == size, (kind, path, r["rows"], size)
                print(f"{size:>9,} {kind:8s} {path:10s} {r['seconds']:8.1f} s  peak {r['peak_mb']:6.1f} MB"
                      f"  base {r['baseline_mb']:6.1f} MB  ({r['bytes'] / 2**20:6.1f} MB CSV)"
                      f"  load {r['load'][0]:4.1f}->{r['load'][1]:4.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--kinds", default="contacts,deals")
    parser.add_argument("--url", default=None, help="a PostgreSQL server URL (a scratch database is made on it)")
    parser.add_argument("--child", choices=sorted(PATHS), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--tenant", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--user", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    admin_engine = scratch = None
    if args.url:
        scratch = f"kw_bench_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(args.url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        url = sa.make_url(args.url).set(database=scratch).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{scratch_dir()}/bench.db"
    try:
        run(url, sizes, args.kinds.split(","))
    finally:
        if admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
