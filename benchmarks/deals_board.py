"""Board and pipeline cost: the product's /crm/deals data (kw_crm.services.pipeline_view.board) and
/api/crm/pipeline beside the bare aggregate in raw SQL, on the same database in the same run.

    python benchmarks/deals_board.py [--deals 20000] [--url postgresql+psycopg://postgres@127.0.0.1/SCRATCH]

It migrates the database it is given and adds a tenant of its own: point it at a scratch
database. Figures from one run (20 000 deals): SQLite board 83 ms, pipeline 42 ms vs 40 ms raw
aggregate; PostgreSQL board 36 ms, pipeline 19 ms vs 16 ms raw.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from host_stub import create_app  # noqa: E402
from host_stub.models import Tenant, db  # noqa: E402
from kw_crm.models import Deal  # noqa: E402
from kw_crm.services import deals, pipeline_view, stages  # noqa: E402
from kw_crm.tenancy import tenant_scope  # noqa: E402


def timed(label: str, func, repeat: int = 20) -> None:
    func()  # warm up
    start = time.perf_counter()
    for _ in range(repeat):
        func()
    print(f"{label:<44} {(time.perf_counter() - start) / repeat * 1000:8.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=20_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{scratch_dir()}/bench.db"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        upgrade()
        tenant = Tenant(name=f"bench-{time.time_ns()}")
        db.session.add(tenant)
        db.session.commit()
        with tenant_scope(tenant.id):
            stage_ids = [s.id for s in stages.list_stages()]
            db.session.execute(insert(Deal), [
                {"tenant_id": tenant.id, "title": f"Deal {i}", "value_cents": i * 100, "currency": "EUR" if i % 3 else "USD",
                 "stage_id": stage_ids[i % len(stage_ids)]} for i in range(args.deals)])
            db.session.commit()
            print(f"{args.deals} deals, {db.engine.dialect.name}")
            timed("product: board (open deals, cards + totals)", lambda: pipeline_view.board(pipeline_view.Filters()))
            timed("product: board with closed deals",
                  lambda: pipeline_view.board(pipeline_view.Filters(include_closed=True)))
            timed("product: pipeline (GET /pipeline data)", deals.pipeline)
            raw = text("SELECT stage_id, currency, count(*), sum(value_cents) FROM crm_deals "
                       "WHERE tenant_id = :t AND archived_at IS NULL GROUP BY stage_id, currency")
            timed("raw SQL: GROUP BY stage, currency", lambda: db.session.execute(raw, {"t": tenant.id}).all())


if __name__ == "__main__":
    main()
