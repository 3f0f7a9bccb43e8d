"""Benchmark: what the triggers of revision c0017 (search FTS table on SQLite, per-tenant counts on
both databases) cost a bulk write of contacts.

    python benchmarks/contact_triggers.py [--rows 100000] [--runs 3] [--database-url postgresql+psycopg://…]

In a scratch database built by the real migrations (SQLite file by default; with
``--database-url`` a ``kw_bench_*`` database on that PostgreSQL server, dropped afterwards), inserts
``--rows`` contacts into a new tenant with one ``INSERT … SELECT`` per 100,000 rows (what a
bulk import's statements look like to the triggers), alternately with the triggers in place and
without them (SQLite: dropped and re-created; PostgreSQL: ``ALTER TABLE … DISABLE TRIGGER
USER``), each run into a new tenant. The indexes (the GIN trigram index on PostgreSQL) stay in
both. Deletes are not timed: on PostgreSQL a bulk delete of contacts is dominated by the
foreign-key checks of the tables that reference them. Prints the medians and the ratio; asserts
nothing."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from benchmarks.bench_contacts_list import grow, make_tenant  # noqa: E402
from benchmarks.import_jobs import scratch_url  # noqa: E402


def sqlite_triggers(conn) -> list[str]:
    return [sql for (sql,) in conn.execute(sa.text(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'crm_contacts'"))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", help="a PostgreSQL server for the scratch database (default: SQLite)")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.models import db

    folder = scratch_dir()
    url, drop = scratch_url("postgresql" if args.database_url else "sqlite", args.database_url or "", folder)
    try:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "CRM_STORAGE_DIR": str(folder)})
        with app.app_context():
            upgrade()
            engine = db.engine
        sqlite = engine.dialect.name == "sqlite"
        with engine.connect() as conn:
            saved = sqlite_triggers(conn) if sqlite else []

        def set_triggers(on: bool) -> None:
            with engine.begin() as conn:
                if not sqlite:
                    conn.execute(sa.text(f"ALTER TABLE crm_contacts {'ENABLE' if on else 'DISABLE'} TRIGGER USER"))
                elif on and not sqlite_triggers(conn):
                    for sql in saved:
                        conn.execute(sa.text(sql))
                elif not on:
                    for (name,) in conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                                        "AND tbl_name = 'crm_contacts'")).all():
                        conn.execute(sa.text(f'DROP TRIGGER "{name}"'))

        times: dict[bool, list[float]] = {True: [], False: []}
        for run in range(args.runs):
            for on in (True, False):
                set_triggers(on)
                tenant_id, _ = make_tenant(app, f"t{run}{int(on)}")
                started = time.perf_counter()
                grow(app, tenant_id, f"t{run}{int(on)}", 0, args.rows)
                times[on].append(time.perf_counter() - started)
        set_triggers(True)
        with_triggers, without = statistics.median(times[True]), statistics.median(times[False])
        print(f"{engine.dialect.name}, {args.rows:,} contacts (+ a deal per third), median of {args.runs}: "
              f"insert {with_triggers:.1f} s with the triggers / {without:.1f} s without "
              f"({with_triggers / without:.2f})")
        engine.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
