"""Benchmark: an import as a background job vs. the same import through the CLI's code path.

    python benchmarks/import_jobs.py                       # 100,000 rows, SQLite and PostgreSQL
    python benchmarks/import_jobs.py --rows 20000 --db sqlite --runs 5
    python benchmarks/import_jobs.py --pg-url postgresql+psycopg://postgres@127.0.0.1/test

Builds a scratch database with the real migrations and one CSV (benchmarks/import_contacts.py's
realistic generator). Each run imports the file into a **fresh, never-analysed tenant**, in turn:

* cli: ``importer.import_contacts`` on the open file, what ``flask crm import`` runs;
* job: ``import_jobs.start`` (the upload copied to storage, its header checked, the job row
  queued) then ``jobs.run_job`` (claim, import with live progress every
  ``CRM_IMPORT_PROGRESS_SECONDS`` = 0.5 s, outcome, notification mail queued);
* job, progress every batch: the same with progress written after every 1,000 rows, the bound
  on what progress reporting can cost.

Prints the median of ``--runs`` runs of each and the ratios (targets: job/cli <= 1.10; progress
costs < 2% of the import). Asserts nothing."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import scratch_dir  # noqa: E402
from benchmarks.import_contacts import generate_csv  # noqa: E402


def scratch_url(kind: str, pg_url: str, folder: Path):
    import sqlalchemy as sa

    if kind == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", lambda: None
    parsed = sa.make_url(pg_url)
    name = f"kw_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False), drop


def bench(kind: str, rows: int, runs: int, pg_url: str) -> None:
    from flask_migrate import upgrade

    from host_stub import create_app
    from host_stub.features import set_feature
    from host_stub.models import Tenant, User, db
    from kw_crm import jobs
    from kw_crm.services import import_jobs, importer
    from kw_crm.tenancy import tenant_scope

    folder = scratch_dir("kw_bench_jobs_")
    csv_path = folder / "contacts.csv"
    generate_csv(csv_path, rows)
    url, drop = scratch_url(kind, pg_url, folder)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "CRM_JOB_RUNNER": "off",
                          "CRM_STORAGE_DIR": str(folder / "storage"), "MAIL_BACKEND": "memory"})
        with app.app_context():
            upgrade()

        def fresh_tenant() -> tuple[int, int]:
            with app.app_context():
                tenant = Tenant(name=f"t-{uuid.uuid4().hex[:8]}")
                db.session.add(tenant)
                db.session.flush()
                set_feature(tenant, "crm", True)
                user = User(tenant_id=tenant.id, email=f"{uuid.uuid4().hex[:8]}@bench.test", name="Bench",
                            role="ADMIN", permissions=[], active=True)
                user.set_password("x")
                db.session.add(user)
                db.session.commit()
                return tenant.id, user.id

        def cli_run() -> float:
            tenant_id, _ = fresh_tenant()
            with app.app_context(), tenant_scope(tenant_id):
                started = time.perf_counter()
                with csv_path.open("rb") as handle:
                    importer.import_contacts(handle, progress=lambda *_: None)
                return time.perf_counter() - started

        def job_run(every: float) -> float:
            tenant_id, user_id = fresh_tenant()
            app.config["CRM_IMPORT_PROGRESS_SECONDS"] = every
            with app.app_context(), tenant_scope(tenant_id):
                started = time.perf_counter()
                with csv_path.open("rb") as handle:
                    record = import_jobs.start(handle, "contacts.csv", "contacts", actor_id=user_id)
                job_id = db.session.scalar(db.select(jobs.Job.id).where(jobs.Job.dedupe_key == f"import:{record.id}"))
                assert jobs.run_job(job_id) == "done"
                elapsed = time.perf_counter() - started
                assert db.session.get(import_jobs.ImportJob, record.id).status == "done"
                return elapsed

        cases = {"cli": cli_run, "job": lambda: job_run(0.5), "job, progress every batch": lambda: job_run(0.0)}
        times = {name: [] for name in cases}
        for _ in range(runs):
            for name, run in cases.items():
                times[name].append(run())
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"\n{kind}: {rows:,} rows into a fresh tenant, median of {runs} runs")
        for name, seconds in median.items():
            print(f"  {name:<26} {seconds:7.2f} s  {rows / seconds:10,.0f} rows/s")
        print(f"  job / cli ratio            {median['job'] / median['cli']:.3f}  (target <= 1.10)")
        overhead = median["job, progress every batch"] / median["job"] - 1
        print(f"  progress every batch costs {overhead:+.1%} over the default throttle")
    finally:
        drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("KW_BENCH_PG_URL",
                                                          "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    for kind in (["sqlite", "postgresql"] if args.db == "both" else [args.db]):
        bench(kind, args.rows, args.runs, args.pg_url)


if __name__ == "__main__":
    main()
