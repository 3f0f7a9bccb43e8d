"""Benchmark: the /crm contact list (and the API list) against the raw SQL it needs, same run.

    python benchmarks/bench_contacts_list.py [--contacts 20000] [--runs 30] [--database-url URL]
    python benchmarks/bench_contacts_list.py --contacts 100000 --database-url postgresql+psycopg://... \
        [--drop-search-index]     # PostgreSQL without the pg_trgm index of revision c0006 ("before")

Builds a scratch database with the real migrations, one tenant with N contacts (a third of them
with deals) plus a second tenant of the same size, then times a page of 50 through the product
(test client: routing, guard, tenancy hooks, ORM, template) beside the same SQL sent raw.
Searches: a common one (~2% of a tenant), a one-row one (both 3+ characters, so the trigram
index can serve them) and a two-character one (below a trigram: always a scan)."""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from host_stub import create_app
from host_stub.features import set_feature
from host_stub.models import Tenant, User, db

# The product's single LIKE on kw_crm.models.contact.search_text (the pg_trgm index's expression).
SEARCH = ("lower(first_name || ' ' || last_name || '\n' || coalesce(email, '') || '\n' || coalesce(company, '')) "
          "LIKE :q")
SEARCHES = (("search 'company 42'", "company+42", "%company 42%"),
            ("search 'last012345'", "last012345", "%last012345%"),
            ("search 'z9' (2 chars)", "z9", "%z9%"))
RAW_PAGE = ("SELECT id, first_name, last_name, email, company, type, status FROM crm_contacts WHERE tenant_id = :t "
            "AND {search} ORDER BY last_name, first_name, id LIMIT 50")
RAW_TOTAL = "SELECT count(id) FROM crm_contacts WHERE tenant_id = :t AND {search}"
RAW_CHIPS = "SELECT type, count(id) FROM crm_contacts WHERE tenant_id = :t AND {search} GROUP BY type"
RAW_DEALS = "SELECT contact_id, count(id) FROM crm_deals WHERE tenant_id = :t AND archived_at IS NULL AND contact_id IN ({ids}) GROUP BY contact_id"


def seed(app, tenant_name: str, n: int) -> tuple[int, User]:
    with app.app_context():
        tenant = Tenant(name=tenant_name)
        db.session.add(tenant)
        db.session.flush()
        set_feature(tenant, "crm", True)
        admin = User(tenant_id=tenant.id, email=f"admin@{tenant_name}.test", name="Admin", role="ADMIN",
                     permissions=["crm.delete"])
        admin.set_password("x")
        db.session.add(admin)
        db.session.commit()
        types = ("customer", "contractor", "vendor", "partner", "other")
        rows = [{"tenant_id": tenant.id, "first_name": f"First{i}", "last_name": f"Last{i:06d}",
                 "email": f"p{i}@{tenant_name}.test", "company": f"Company {i % 500}", "type": types[i % 5],
                 "status": "lead", "is_decision_maker": False} for i in range(n)]
        db.session.execute(sa.text(
            "INSERT INTO crm_contacts (tenant_id, first_name, last_name, email, company, type, status, "
            "is_decision_maker, created_at, updated_at) VALUES (:tenant_id, :first_name, :last_name, :email, "
            ":company, :type, :status, :is_decision_maker, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), rows)
        stage_id = db.session.execute(sa.text(
            "INSERT INTO crm_stages (tenant_id, key, label, probability, position) VALUES (:t, 'LEAD', 'Lead', 10, 0) "
            "RETURNING id"), {"t": tenant.id}).scalar()
        ids = db.session.execute(sa.text("SELECT id FROM crm_contacts WHERE tenant_id = :t"), {"t": tenant.id}).scalars().all()
        db.session.execute(sa.text(
            "INSERT INTO crm_deals (tenant_id, title, value_cents, currency, stage_id, contact_id, version, created_at, "
            "updated_at) VALUES (:t, 'Deal', 1000, 'USD', :s, :c, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"),
            [{"t": tenant.id, "s": stage_id, "c": cid} for cid in ids[::3]])
        db.session.commit()
        db.session.refresh(admin)
        db.session.expunge(admin)
        return tenant.id, admin


def timed(fn, runs: int) -> float:
    fn()  # warm-up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    parser.add_argument("--drop-search-index", action="store_true",
                        help="drop ix_crm_contacts_search_trgm after migrating (the scan, for comparison)")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
        if args.drop_search_index:
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP INDEX IF EXISTS ix_crm_contacts_search_trgm"))
    tenant_id, admin = seed(app, "bench-a", args.contacts)
    seed(app, "bench-b", args.contacts)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(admin.id)

    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # fresh statistics, as autovacuum would have
            with db.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
    for label, query, like in (("first page", "", None), *((lbl, f"q={q}", like) for lbl, q, like in SEARCHES)):
        with app.app_context():
            engine = db.engine

            def raw(like=like, engine=engine):
                with engine.connect() as conn:
                    params = {"t": tenant_id, "q": like}
                    search = SEARCH if like else "1 = 1"
                    ids = [r[0] for r in conn.execute(sa.text(RAW_PAGE.format(search=search)), params)]
                    conn.execute(sa.text(RAW_TOTAL.format(search=search)), params).scalar()
                    conn.execute(sa.text(RAW_CHIPS.format(search=search)), params).all()
                    if ids:
                        conn.execute(sa.text(RAW_DEALS.format(ids=",".join(map(str, ids)))), {"t": tenant_id}).all()

            raw_ms = timed(raw, args.runs)
        page_ms = timed(lambda query=query: client.get(f"/crm/?{query}").status_code, args.runs)
        api_ms = timed(lambda query=query: client.get(f"/api/crm/contacts?{query}").status_code, args.runs)
        print(f"{label:24s} page {page_ms:7.2f} ms | API {api_ms:7.2f} ms | raw SQL {raw_ms:7.2f} ms "
              f"({args.contacts} contacts/tenant, median of {args.runs})")


if __name__ == "__main__":
    main()
