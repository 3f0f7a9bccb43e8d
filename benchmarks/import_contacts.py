"""Benchmark: CSV contact import through the product vs. a hand-written upsert, same run.

    python benchmarks/import_contacts.py                 # 100,000 rows, SQLite and PostgreSQL
    python benchmarks/import_contacts.py --rows 1000000 --db postgresql
    python benchmarks/import_contacts.py --pg-url postgresql+psycopg://postgres@127.0.0.1/test

For each database: build a scratch database with the real migrations, generate a realistic CSV
of N contacts (half of whose emails are already stored, in other letter case), then run in a
fresh subprocess each (so peak RSS is that run's own):

* product: ``kw_crm.services.importer.import_contacts`` - the code path of the page, the API
  and ``flask crm import`` (encoding sniffing, header mapping, validation, exact counts, one
  transaction);
* raw: ``csv.reader`` + one hand-written multi-row ``INSERT ... ON CONFLICT (tenant_id,
  email_key) DO UPDATE`` per batch through the bare driver (sqlite3 / psycopg), one commit.

The database is put back to the same starting state before each run. Prints rows/s, peak
memory and the product/raw time ratio (target <= 2.0; peak memory at 1M rows < 200 MB)."""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COLUMNS = ["tenant_id", "first_name", "last_name", "email", "phone", "company", "job_title", "status",
           "type", "is_decision_maker", "created_at", "updated_at"]
FIRST = ["Ada", "Grace", "Alan", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
         "Zoë", "José", "Jürgen", "Søren", "Renée", "Chloé", "Mónica", "Łukasz", "Anaïs", "Björn"]
LAST = ["Lovelace", "Hopper", "Turing", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson", "Allen",
        "Dijkstra", "Müller", "García", "O'Brien", "Nguyễn", "Kowalski", "Smith-Jones", "van der Berg"]
COMPANIES = ["Acme Corp", "Globex, Inc.", "Initech", "Umbrella \"Group\"", "Stark Industries", "Wayne Ent.",
             "Hooli", "Société Générale", "Müller & Söhne GmbH", ""]
TITLES = ["CEO", "CTO", "Head of Sales", "Buyer", "Engineer", "Office Manager", "", "VP, Operations"]
STATUSES = ["lead", "Prospect", "ACTIVE", "inactive", ""]
HEADER = ["First Name", "Last Name", "E-mail Address", "Mobile", "Organisation", "Job Title", "Status", "Notes"]


def email_of(i: int) -> str:
    return f"person{i}@example{i % 97}.test"


def generate_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            email = email_of(i)
            if i % 3 == 0:
                email = email.upper()  # matched case-insensitively against the stored ones
            notes = "Met at the fair,\nwants a call back" if i % 50 == 0 else ""
            writer.writerow([rng.choice(FIRST), rng.choice(LAST), email, f"+1 555 {i % 10000:04d}",
                             rng.choice(COMPANIES), rng.choice(TITLES), rng.choice(STATUSES), notes])


# --- database setup -------------------------------------------------------------------------------

def make_database(kind: str, workdir: Path, pg_url: str) -> tuple[str, callable]:
    import sqlalchemy as sa

    if kind == "sqlite":
        path = workdir / "bench.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    url = sa.make_url(pg_url)
    name = f"kw_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def migrate_and_make_tenant(url: str) -> int:
    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.models import Tenant, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        import logging
        logging.disable(logging.INFO)
        upgrade()
        tenant = Tenant(name="bench")
        db.session.add(tenant)
        db.session.commit()
        return tenant.id


def reset_contacts(url: str, tenant_id: int, existing: int) -> None:
    """Exactly ``existing`` stored contacts (emails of the first half of the CSV, in lower case
    and with other names and phones so an update really changes them)."""
    conn, mark = connect(url)
    cur = conn.cursor()
    cur.execute(f"DELETE FROM crm_contacts WHERE tenant_id = {mark}", (tenant_id,))  # noqa: S608 - placeholder only
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    batch = []
    for i in range(existing):
        batch.append((tenant_id, "Old", "Name", email_of(i), "000", None, None, "lead", "customer", False, now, now))
        if len(batch) == 1000 or i == existing - 1:
            sql, params = multi_row(batch, mark, upsert=False)
            cur.execute(sql, params)
            batch = []
    conn.commit()
    if url.startswith("postgresql"):
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE crm_contacts")
    conn.close()


def connect(url: str):
    if url.startswith("sqlite"):
        import sqlite3

        return sqlite3.connect(url.removeprefix("sqlite:///")), "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


_SQL_CACHE: dict = {}


def multi_row(rows: list[tuple], mark: str, upsert: bool = True) -> tuple[str, list]:
    key = (len(rows), mark, upsert)
    if key not in _SQL_CACHE:
        one = "(" + ", ".join([mark] * len(COLUMNS)) + ")"
        sql = f"INSERT INTO crm_contacts ({', '.join(COLUMNS)}) VALUES " + ", ".join([one] * len(rows))  # noqa: S608
        if upsert:
            sets = ", ".join(f"{c} = excluded.{c}" for c in
                             ("first_name", "last_name", "email", "phone", "company", "job_title", "status",
                              "updated_at"))
            sql += f" ON CONFLICT (tenant_id, email_key) DO UPDATE SET {sets}"
        _SQL_CACHE[key] = sql
    return _SQL_CACHE[key], [value for row in rows for value in row]


# --- the two measured paths (each in its own process) -------------------------------------------

def run_product(url: str, csv_path: str, tenant_id: int, batch_size: int) -> dict:
    from host_stub import create_app
    from kw_crm.services import importer
    from kw_crm.tenancy import tenant_scope

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), tenant_scope(tenant_id), open(csv_path, "rb") as handle:
        started = time.perf_counter()
        result = importer.import_contacts(handle, batch_size=batch_size)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "created": result.created, "updated": result.updated, "skipped": result.skipped}


def run_raw(url: str, csv_path: str, tenant_id: int, batch_size: int) -> dict:
    conn, mark = connect(url)
    cur = conn.cursor()
    started = time.perf_counter()
    rows = 0
    with open(csv_path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch = []
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        for first, last, email, phone, company, title, status, _notes in reader:
            batch.append((tenant_id, first, last, email.strip(), phone or None, company or None, title or None,
                          status.lower() or "lead", "customer", False, now, now))
            if len(batch) == batch_size:
                cur.execute(*multi_row(batch, mark))
                rows += len(batch)
                batch = []
        if batch:
            cur.execute(*multi_row(batch, mark))
            rows += len(batch)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "rows": rows}


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM; unlike ru_maxrss it ignores the parent's
    memory that Linux carries over a fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args) -> None:
    runner = run_product if args.child == "product" else run_raw
    result = runner(args.url, args.csv, args.tenant_id, args.batch_size)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def measure(mode: str, url: str, csv_path: Path, tenant_id: int, batch_size: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--url", url, "--csv", str(csv_path),
         "--tenant-id", str(tenant_id), "--batch-size", str(batch_size)],
        check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def count(url: str, tenant_id: int) -> int:
    conn, mark = connect(url)
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) FROM crm_contacts WHERE tenant_id = {mark}", (tenant_id,))  # noqa: S608
    total = cur.fetchone()[0]
    conn.close()
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("KW_BENCH_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1/test"))
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--child", choices=["product", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--tenant-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    existing = args.rows // 2
    lines = []
    with tempfile.TemporaryDirectory(prefix="kw-import-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "contacts.csv"
        generate_csv(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{args.rows:,} rows ({size_mb:.1f} MB CSV), {existing:,} of them already stored, "
              f"batches of {args.batch_size}", flush=True)
        for kind in kinds:
            url, drop = make_database(kind, workdir, args.pg_url)
            try:
                tenant_id = migrate_and_make_tenant(url)
                results = {}
                for mode in ("product", "raw"):
                    reset_contacts(url, tenant_id, existing)
                    results[mode] = measure(mode, url, csv_path, tenant_id, args.batch_size)
                    assert count(url, tenant_id) == args.rows, f"{kind} {mode}: wrong contact count"
                product, raw = results["product"], results["raw"]
                assert (product["created"], product["updated"]) == (args.rows - existing, existing), product
                for mode in ("product", "raw"):
                    r = results[mode]
                    lines.append(f"| {kind} | {mode} | {args.rows:,} | {r['seconds']:.1f} s | "
                                 f"{args.rows / r['seconds']:,.0f} | {r['peak_rss_mb']:.0f} MB | "
                                 + (f"{product['seconds'] / raw['seconds']:.2f} |" if mode == "product" else "1.00 |"))
                print(lines[-2] + "\n" + lines[-1], flush=True)
            finally:
                drop()
    print("\n| database | path | rows | time | rows/s | peak RSS | time ratio vs raw |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
