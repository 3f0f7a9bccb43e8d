"""Benchmark: CSV contact import through the product vs. the fastest raw driver path, same run.

    python benchmarks/import_contacts.py                              # 10k and 100k rows, both databases
    python benchmarks/import_contacts.py --rows 1000000 --db postgresql
    python benchmarks/import_contacts.py --cases first --rows 10000 100000 1000000
    python benchmarks/import_contacts.py --pg-url postgresql+psycopg://postgres@127.0.0.1/test

Every measured run gets a brand-new database copied from a migrated template (PostgreSQL:
``CREATE DATABASE ... TEMPLATE``; SQLite: a copy of the file), with a new tenant and a
``crm_contacts`` table that has never been analysed (autovacuum is switched off on that table in
the template, so no background ANALYZE gives the planner statistics the first import of a real
tenant would not have). Cases:

* ``first``: the tenant's first import, every row created;
* ``half``: half of the file's emails already stored (in other letter case), half created;
* ``updates``: every email already stored: a re-import.

Paths, each in a fresh subprocess (peak RSS is that run's own):

* product: ``kw_crm.services.importer.import_contacts`` - the path of the page, the API and
  ``flask crm import`` (encoding sniffing, header mapping, validation, exact counts, skipped-rows
  report, one transaction);
* raw, PostgreSQL: the file's bytes sent as they are with ``COPY ... FROM STDIN (FORMAT csv)``
  into a temporary table, then one ``INSERT ... SELECT ... ON CONFLICT (tenant_id, email_key)
  DO UPDATE``; no validation, no counts (the fastest honest path through the driver);
* raw, SQLite: ``csv.reader`` and one multi-row ``INSERT ... ON CONFLICT DO UPDATE`` per 1,000
  rows through ``sqlite3``, one commit.

Prints time (the spread over ``--runs`` runs, run alternately), rows/s, peak memory and the
product/raw ratio of the fastest runs (goal <= 1.5; peak memory at 1M rows < 200 MB)."""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
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
CASES = {"first": 0.0, "half": 0.5, "updates": 1.0}  # share of the file's emails stored beforehand


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


# --- databases: a migrated template, and a fresh copy of it per measured run ----------------------

class Databases:
    """Fresh, migrated, never-analysed databases of one kind, each with tenant ``tenant_id``."""

    def __init__(self, kind: str, workdir: Path, pg_url: str):
        import sqlalchemy as sa

        self.kind, self.workdir, self.made = kind, workdir, []
        if kind == "sqlite":
            self.template = workdir / "template.db"
            template_url = f"sqlite:///{self.template}"
        else:
            self.server = sa.make_url(pg_url)
            self.admin = sa.create_engine(self.server, isolation_level="AUTOCOMMIT")
            self.template = f"kw_bench_tpl_{uuid.uuid4().hex[:8]}"
            self._sql(f'CREATE DATABASE "{self.template}"')
            self.made.append(self.template)
            template_url = self._url(self.template)
        self.tenant_id = migrate_and_make_tenant(template_url)

    def _sql(self, statement: str) -> None:
        import sqlalchemy as sa

        with self.admin.connect() as conn:
            conn.execute(sa.text(statement))

    def _url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        name = f"kw_bench_run_{uuid.uuid4().hex[:8]}"
        if self.kind == "sqlite":
            shutil.copyfile(self.template, self.workdir / f"{name}.db")
            return f"sqlite:///{self.workdir / name}.db"
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return self._url(name)

    def drop(self, url: str) -> None:
        """Drop a measured database right away (1M-row copies add up)."""
        if self.kind == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            return
        import sqlalchemy as sa

        name = sa.make_url(url).database
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.remove(name)

    def drop_all(self) -> None:
        if self.kind == "postgresql":
            for name in reversed(self.made):
                self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.dispose()


def migrate_and_make_tenant(url: str) -> int:
    import logging

    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.models import Tenant, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        logging.disable(logging.INFO)
        upgrade()
        if db.engine.dialect.name == "postgresql":
            # No background ANALYZE: the planner knows what a brand-new tenant's first import knows.
            db.session.execute(db.text("ALTER TABLE crm_contacts SET (autovacuum_enabled = false)"))
        tenant = Tenant(name="bench")
        db.session.add(tenant)
        db.session.commit()
        tenant_id = tenant.id
    with app.app_context():
        db.engine.dispose()  # a template database must have no open connections
    return tenant_id


def connect(url: str):
    if url.startswith("sqlite"):
        import sqlite3

        return sqlite3.connect(url.removeprefix("sqlite:///")), "?"
    import psycopg

    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")), "%s"


def store_existing(url: str, tenant_id: int, existing: int) -> None:
    """``existing`` stored contacts: the emails of the file's first rows, in lower case, with
    other names and phones so that an update really changes them. Nothing is analysed."""
    conn, mark = connect(url)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    rows = ((tenant_id, "Old", "Name", email_of(i), "000", None, None, "lead", "customer", False, now, now)
            for i in range(existing))
    if mark == "%s":
        with conn.cursor().copy(f"COPY crm_contacts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.executemany(f"INSERT INTO crm_contacts ({', '.join(COLUMNS)}) VALUES "  # noqa: S608 - constants
                         f"({', '.join('?' * len(COLUMNS))})", rows)
    conn.commit()
    conn.close()


def count(url: str, tenant_id: int) -> int:
    conn, mark = connect(url)
    cur = conn.cursor()
    cur.execute(f"SELECT count(*) FROM crm_contacts WHERE tenant_id = {mark}", (tenant_id,))  # noqa: S608
    total = cur.fetchone()[0]
    conn.close()
    return total


# --- the measured paths (each in its own process) ------------------------------------------------

def run_product(url: str, csv_path: str, tenant_id: int, batch_size: int) -> dict:
    from host_stub import create_app
    from kw_crm.services import importer
    from kw_crm.tenancy import tenant_scope

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context(), tenant_scope(tenant_id), open(csv_path, "rb") as handle:
        started = time.perf_counter()
        result = importer.import_contacts(handle, batch_size=batch_size)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "created": result.created, "updated": result.updated, "skipped": result.skipped}


RAW_PG_STAGE = ("CREATE TEMPORARY TABLE raw_import (first text, last text, email text, phone text, company text, "
                "title text, status text, notes text) ON COMMIT DROP")
RAW_PG_UPSERT = (
    "INSERT INTO crm_contacts (tenant_id, first_name, last_name, email, phone, company, job_title, status, type, "
    "is_decision_maker, created_at, updated_at) "
    "SELECT %(t)s, first, last, nullif(trim(email), ''), nullif(phone, ''), nullif(company, ''), nullif(title, ''), "
    "coalesce(lower(nullif(status, '')), 'lead'), 'customer', false, %(now)s, %(now)s FROM raw_import "
    "ON CONFLICT (tenant_id, email_key) DO UPDATE SET first_name = excluded.first_name, "
    "last_name = excluded.last_name, email = excluded.email, phone = excluded.phone, company = excluded.company, "
    "job_title = excluded.job_title, status = excluded.status, updated_at = excluded.updated_at")


def run_raw(url: str, csv_path: str, tenant_id: int, batch_size: int) -> dict:
    conn, mark = connect(url)
    started = time.perf_counter()
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    if mark == "%s":
        cur = conn.cursor()
        cur.execute(RAW_PG_STAGE)
        with open(csv_path, "rb") as handle, cur.copy("COPY raw_import FROM STDIN (FORMAT csv, HEADER)") as copy:
            while chunk := handle.read(1 << 20):
                copy.write(chunk)
        cur.execute(RAW_PG_UPSERT, {"t": tenant_id, "now": now})
        rows = cur.rowcount
    else:
        rows = raw_sqlite(conn, csv_path, tenant_id, batch_size, now)
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "rows": rows}


def raw_sqlite(conn, csv_path: str, tenant_id: int, batch_size: int, now: str) -> int:
    one = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    sets = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:8]) + ", updated_at = excluded.updated_at"
    sql_for = {}
    rows, batch = 0, []

    def flush():
        if len(batch) not in sql_for:
            sql_for[len(batch)] = (f"INSERT INTO crm_contacts ({', '.join(COLUMNS)}) VALUES "  # noqa: S608
                                   + ", ".join([one] * len(batch))
                                   + f" ON CONFLICT (tenant_id, email_key) DO UPDATE SET {sets}")
        conn.execute(sql_for[len(batch)], [value for row in batch for value in row])

    with open(csv_path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for first, last, email, phone, company, title, status, _notes in reader:
            batch.append((tenant_id, first, last, email.strip() or None, phone or None, company or None,
                          title or None, status.lower() or "lead", "customer", False, now, now))
            if len(batch) == batch_size:
                flush()
                rows += len(batch)
                batch = []
        if batch:
            flush()
            rows += len(batch)
    return rows


def peak_rss_mb() -> float:
    """This process's own high-water RSS (VmHWM, which unlike ru_maxrss ignores the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--pg-url", default=os.environ.get("KW_BENCH_PG_URL",
                                                           "postgresql+psycopg://postgres@127.0.0.1/test"))
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1, help="runs of each path; the fastest is compared")
    parser.add_argument("--child", choices=["product", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    parser.add_argument("--tenant-id", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    lines = []
    with tempfile.TemporaryDirectory(prefix="kw-import-bench-") as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            databases = Databases(kind, workdir, args.pg_url)
            try:
                for rows in args.rows:
                    csv_path = workdir / f"contacts-{rows}.csv"
                    if not csv_path.exists():
                        generate_csv(csv_path, rows)
                    for case in args.cases:
                        existing = int(rows * CASES[case])
                        results = {"product": [], "raw": []}
                        for _run in range(args.runs):  # alternating, so a busy minute hits both
                            for mode in ("product", "raw"):
                                url = databases.fresh()
                                store_existing(url, databases.tenant_id, existing)
                                results[mode].append(measure(mode, url, csv_path, databases.tenant_id,
                                                             args.batch_size))
                                assert count(url, databases.tenant_id) == rows, f"{kind} {case} {mode}: wrong count"
                                databases.drop(url)
                        for run in results["product"]:
                            assert (run["created"], run["updated"]) == (rows - existing, existing), run
                        product, raw = (min(results[mode], key=lambda r: r["seconds"]) for mode in ("product", "raw"))
                        spread = {mode: "–".join(sorted({f"{r['seconds']:.1f}" for r in results[mode]}, key=float))
                                  for mode in results}
                        lines.append(
                            f"| {kind} | {case} | {rows:,} | {spread['product']} s | {spread['raw']} s | "
                            f"**{product['seconds'] / raw['seconds']:.2f}** | {rows / product['seconds']:,.0f} | "
                            f"{rows / raw['seconds']:,.0f} | {product['peak_rss_mb']:.0f} / {raw['peak_rss_mb']:.0f} MB |")
                        print(lines[-1], flush=True)
            finally:
                databases.drop_all()
    print(f"\n{args.runs} run(s) of each path, fastest compared; batch size {args.batch_size}")
    print("\n| database | case | rows | product | raw | ratio | product rows/s | raw rows/s | peak RSS product / raw |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
