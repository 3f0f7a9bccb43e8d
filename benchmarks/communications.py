"""Communications at scale: the review queue, a customer's conversations, a contact's timeline and
the tenant's communication log with 500,000 communications in the tenant, and capture ingestion —
product beside raw SQL, in the same run.

    python benchmarks/communications.py [--communications 500000] [--messages 5000] [--runs 7] [--only reads|ingestion] [--url URL]

Builds a scratch database through the real migrations (PostgreSQL: a ``kw_bench_*`` database on
the server of ``--url``, dropped afterwards; default a SQLite file), fills one tenant (PostgreSQL:
``COPY``), then times each read path three ways — the service function, the full request (test
client, logged in) and the hand-written SQL returning the same rows — taking turns for ``--runs``
rounds, first on the never-analysed tables, then after VACUUM ANALYZE (what autovacuum leaves), and
prints min / median. Then
ingestion: ``kw_crm.capture.ingest_many`` in batches of 500 beside a raw multi-row INSERT of as
many rows, taking turns, and ``ingest`` one message per call. The machine's load average is printed
with each table. Asserts nothing about time."""
import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from benchmarks import scratch_dir  # noqa: E402
from host_stub import create_app  # noqa: E402
from host_stub.models import PortalCustomer, Tenant, User, db  # noqa: E402
from kw_crm import capture  # noqa: E402
from kw_crm.models import CaptureReview, Communication, Contact, Conversation, CustomerProfile  # noqa: E402
from kw_crm.services import activities, capture_review, communications, conversations  # noqa: E402
from kw_crm.tenancy import tenant_scope  # noqa: E402

RAW = {
    "review queue": [
        "SELECT count(*) FROM crm_capture_reviews WHERE tenant_id = :t AND resolved_at IS NULL",
        """SELECT r.id, r.reason, r.candidates, r.created_at, m.id, m.subject, m.direction, m.channel, m.sender,
                  m.recipients, m.occurred_at, m.message_id, m.thread_id, m.capture_source, m.capture_mode,
                  substr(m.summary, 1, 241)
           FROM crm_capture_reviews r JOIN crm_communications m ON m.id = r.communication_id
           WHERE r.tenant_id = :t AND m.tenant_id = :t AND r.resolved_at IS NULL
           ORDER BY r.created_at DESC, r.id DESC LIMIT 50""",
    ],
    "customer conversations": [
        "SELECT id, tenant_id, name FROM portal_customers WHERE tenant_id = :t AND id = :c",
        "SELECT count(*) FROM crm_conversations WHERE tenant_id = :t AND customer_id = :c AND status = 'open'",
        """SELECT id, customer_id, thread_id, subject, message_count, last_message_at, status, channel
           FROM crm_conversations WHERE tenant_id = :t AND customer_id = :c AND status = 'open'
           ORDER BY last_message_at DESC, id DESC LIMIT 50""",
    ],
    "contact timeline": [
        "SELECT * FROM crm_notes WHERE tenant_id = :t AND contact_id = :p "
        "ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT * FROM crm_activities "
        "WHERE tenant_id = :t AND contact_id = :p ORDER BY created_at DESC, id DESC LIMIT 50",
        """SELECT id, customer_id, contact_id, deal_id, activity_id, conversation_id, channel, direction, subject,
                  substr(summary, 1, 241), source, logged_by_id, occurred_at, created_at, message_id, thread_id,
                  sender, recipients, capture_source, capture_mode, linkage_basis, matched_address, body_truncated,
                  reviewed_by_id, reviewed_at
           FROM crm_communications WHERE tenant_id = :t AND contact_id = :p
           ORDER BY occurred_at DESC, id DESC LIMIT 50""",
        "SELECT count(*) FROM crm_communications WHERE tenant_id = :t AND contact_id = :p",
        "SELECT count(*) FROM crm_notes WHERE tenant_id = :t AND contact_id = :p",
        "SELECT count(*) FROM crm_activities WHERE tenant_id = :t AND contact_id = :p",
    ],
    "communication log": [
        "SELECT count(*) FROM (SELECT id FROM crm_communications WHERE tenant_id = :t AND customer_id IS NOT NULL "
        "LIMIT 10001) AS capped",
        """SELECT m.id, m.customer_id, m.contact_id, m.deal_id, m.activity_id, m.conversation_id, m.channel, m.direction,
                  m.subject, substr(m.summary, 1, 241), m.source, m.logged_by_id, m.occurred_at, m.created_at,
                  m.message_id, m.thread_id, m.sender, m.recipients, m.capture_source, m.capture_mode,
                  m.linkage_basis, m.matched_address, m.body_truncated, m.reviewed_by_id, m.reviewed_at,
                  ct.first_name, ct.last_name
           FROM crm_communications m LEFT JOIN crm_contacts ct ON ct.id = m.contact_id AND ct.tenant_id = :t
           WHERE m.tenant_id = :t AND m.customer_id IS NOT NULL ORDER BY m.occurred_at DESC, m.id DESC LIMIT 50""",
        "SELECT id, name FROM portal_customers WHERE tenant_id = :t AND id IN (SELECT customer_id "
        "FROM crm_communications WHERE tenant_id = :t AND customer_id IS NOT NULL ORDER BY occurred_at DESC, id DESC "
        "LIMIT 50)",
    ],
}


def timed_ms(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def alternate(fns: dict, runs: int) -> dict[str, list[float]]:
    """Run each function ``runs`` times, taking turns, so a load swing of the shared machine hits
    the product and the raw SQL alike; the milliseconds of every run by name."""
    times = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            times[name].append(timed_ms(fn))
    return times


def spread(values: list[float]) -> str:
    return f"{min(values):.1f} / {statistics.median(values):.1f}"


def fill(tenant_id: int, n: int) -> dict:
    """Customers, contacts and ``n`` communications: 10 % waiting for review, the rest linked in
    threads of 1-8 messages; one busy customer and one busy contact carry a large share."""
    rng = random.Random(14)
    conn = db.session.connection()
    customers = max(50, n // 250)
    conn.execute(sa.insert(PortalCustomer), [{"tenant_id": tenant_id, "name": f"Company {i:06d}"}
                                            for i in range(customers)])
    customer_ids = list(db.session.scalars(sa.select(PortalCustomer.id).where(PortalCustomer.tenant_id == tenant_id)))
    conn.execute(sa.insert(CustomerProfile), [{"tenant_id": tenant_id, "customer_id": c, "lifecycle_stage": "customer",
                                               "billing_email": f"ap@c{c}.test"} for c in customer_ids])
    conn.execute(sa.insert(Contact), [{"tenant_id": tenant_id, "first_name": "P", "last_name": f"L{i}",
                                       "email": f"p{i}@c{customer_ids[i % customers]}.test",
                                       "customer_id": customer_ids[i % customers]} for i in range(customers * 5)])
    contacts = db.session.execute(sa.select(Contact.id, Contact.customer_id, Contact.email)
                                  .where(Contact.tenant_id == tenant_id)).all()
    busy_customer = customer_ids[0]
    busy_contact = next(c for c in contacts if c.customer_id == busy_customer)
    start = datetime(2025, 1, 1)
    rows, thread_rows, thread = [], {}, None
    for i in range(n):
        pending = rng.random() < 0.10
        if pending:
            contact = None
        elif rng.random() < 0.05:
            contact = busy_contact
        else:
            contact = contacts[rng.randrange(len(contacts))] if rng.random() > 0.10 else \
                next(c for c in contacts[:5] if c.customer_id == busy_customer)
        if thread is None or rng.random() < 0.3 or pending:
            thread = f"<t{i}@bench>"
        when = start + timedelta(minutes=i)
        customer_id = contact.customer_id if contact else None
        rows.append({"tenant_id": tenant_id, "customer_id": customer_id, "contact_id": contact.id if contact else None,
                     "channel": "email", "direction": "inbound", "subject": f"Subject {i}",
                     "summary": "Body text " * rng.randint(5, 60), "source": "captured", "occurred_at": when,
                     "message_id": f"<m{i}@bench>", "thread_id": thread, "sender": "x@y.test",
                     "recipients": ["me@us.test"], "capture_source": "bench", "capture_mode": "sync",
                     "linkage_basis": "pending_review" if pending else "email_match", "body_truncated": False})
        if customer_id:
            key = (customer_id, thread)
            entry = thread_rows.setdefault(key, {"tenant_id": tenant_id, "customer_id": customer_id, "thread_id": thread,
                                                 "subject": f"Subject {i}", "channel": "email",
                                                 "status": rng.choice(["open", "open", "closed", "archived"]),
                                                 "message_count": 0, "last_message_at": when})
            entry["message_count"] += 1
            entry["last_message_at"] = when
    # threads first, so each message carries its conversation id (no correlated UPDATE afterwards);
    # ids are given here, so nothing has to be read back
    conversation_rows = list(thread_rows.values())
    ids_of = {}
    for cid, row in enumerate(conversation_rows, start=1):
        row["id"] = cid
        ids_of[(row["customer_id"], row["thread_id"])] = cid
    bulk(Conversation.__table__, conversation_rows)
    pending_ids = []
    for comm_id, row in enumerate(rows, start=1):
        row["id"] = comm_id
        row["conversation_id"] = ids_of.get((row["customer_id"], row["thread_id"]))
        if row["customer_id"] is None:
            pending_ids.append(comm_id)
    bulk(Communication.__table__, rows)
    review_rows = [{"tenant_id": tenant_id, "communication_id": cid, "reason": "no_match", "candidates": [],
                    "created_at": start + timedelta(seconds=k)} for k, cid in enumerate(pending_ids)]
    bulk(CaptureReview.__table__, review_rows)
    db.session.commit()
    busy_threads = sum(1 for (c, _), t in thread_rows.items() if c == busy_customer and t["status"] == "open")
    return {"customer": busy_customer, "contact": busy_contact.id, "contacts": contacts,
            "open_threads": busy_threads, "pending": len(pending_ids)}


def bulk(table, rows: list[dict]) -> None:
    """Fill ``table`` fast: PostgreSQL ``COPY`` (then the id sequence moved past the given ids),
    SQLite multi-row INSERTs. Rows carry their ids (the scratch database starts empty)."""
    if not rows:
        return
    columns = list(rows[0])
    conn = db.session.connection()
    if db.engine.dialect.name != "postgresql":
        for chunk in range(0, len(rows), 10_000):
            conn.execute(sa.insert(table), rows[chunk:chunk + 10_000])
        return
    json_columns = {c for c in columns if isinstance(table.c[c].type, sa.JSON)}
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([json.dumps(row[c]) if c in json_columns else row[c] for c in columns])
    conn.execute(sa.select(sa.func.setval(sa.func.pg_get_serial_sequence(table.name, "id"),
                                          sa.select(sa.func.max(table.c.id)).scalar_subquery())))


def analyze():
    """What autovacuum does to a table that has been written: statistics, and (PostgreSQL) the
    visibility map, without which counts cannot be answered from an index alone."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()


def count_queries(fn) -> int:
    seen = []

    def record(*_args):
        seen.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    return len(seen)


def reads(app, tenant_id: int, admin_id: int, facts: dict, label: str, runs: int) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(admin_id)
    c, p = facts["customer"], facts["contact"]
    paths = {
        "review queue": (lambda: capture_review.queue(50, 0), "/api/crm/captures/review"),
        "customer conversations": (lambda: conversations.list_for_customer(c, "open", 50, 0),
                                   f"/api/crm/customers/{c}/conversations?status=open"),
        "contact timeline": (lambda: activities.timeline(p, 50, 0), f"/api/crm/contacts/{p}/timeline"),
        "communication log": (lambda: communications.tenant_log({}, 50, 0), "/crm/communications"),
    }
    print(f"\n{label} — min / median of {runs} alternating runs, ms (load average {os.getloadavg()[0]:.1f})")
    print(f"{'path':<24}{'service':>16}{'request':>16}{'raw SQL':>16}{'median ratio':>14}{'queries':>9}")
    for name, (service, url) in paths.items():
        with app.test_request_context(), tenant_scope(tenant_id):
            queries = count_queries(service)
            db.session.rollback()

            def raw(statements=RAW[name]):
                with db.engine.connect() as conn:
                    for sql in statements:
                        conn.execute(sa.text(sql), {"t": tenant_id, "c": c, "p": p}).all()

            def product(service=service):
                service()
                db.session.rollback()  # each run reads afresh, as a request does

            def request(url=url):
                assert client.get(url).status_code == 200

            product(), raw(), request()  # warm
            times = alternate({"product": product, "raw": raw, "request": request}, runs)
        ratio = statistics.median(times["product"]) / statistics.median(times["raw"])
        print(f"{name:<24}{spread(times['product']):>16}{spread(times['request']):>16}{spread(times['raw']):>16}"
              f"{ratio:>14.2f}{queries:>9}")


def ingestion(app, tenant_id: int, facts: dict, messages: int, runs: int) -> None:
    """``ingest_many`` in batches of 500 beside a raw multi-row INSERT of the same number of rows
    (no matching, no threads, no reviews), taking turns; then ``ingest`` one message per call."""
    rng = random.Random(7)
    contacts = facts["contacts"]

    def batch(n):
        out = []
        for _ in range(n):
            known = rng.random() < 0.7
            sender = contacts[rng.randrange(len(contacts))].email if known else f"s{rng.randrange(10**6)}@else.test"
            out.append({"message_id": f"<{uuid.uuid4().hex}@ingest>", "direction": "inbound", "sender": sender,
                        "recipients": ["me@us.test"], "subject": "Ingest", "body": "Hello " * 40,
                        "thread_id": f"<it{rng.randrange(messages // 4)}@ingest>",
                        "occurred_at": "2026-11-20T10:00:00"})
        return out

    def raw_rows(n):
        return [{"tenant_id": tenant_id, "channel": "email", "direction": "inbound", "subject": m["subject"],
                 "summary": m["body"], "source": "captured", "occurred_at": datetime(2026, 11, 20, 10),
                 "message_id": "raw" + m["message_id"], "thread_id": m["thread_id"], "sender": m["sender"],
                 "recipients": m["recipients"], "linkage_basis": "email_match", "body_truncated": False}
                for m in batch(n)]

    rates = {"ingest_many": [], "raw": []}
    load = []
    with app.app_context():
        for _ in range(runs):
            many, rows = batch(messages), raw_rows(messages)
            load.append(os.getloadavg()[0])
            start = time.perf_counter()
            for chunk in range(0, len(many), 500):
                capture.ingest_many(tenant_id, many[chunk:chunk + 500])
            rates["ingest_many"].append(len(many) / (time.perf_counter() - start))
            start = time.perf_counter()
            for chunk in range(0, len(rows), 500):
                with db.engine.begin() as conn:  # a transaction per batch, as ingest_many commits each
                    conn.execute(sa.insert(Communication.__table__), rows[chunk:chunk + 500])
            rates["raw"].append(len(rows) / (time.perf_counter() - start))
        single = batch(min(messages, 200))
        start = time.perf_counter()
        for message in single:
            capture.ingest(tenant_id, message)
        single_rate = len(single) / (time.perf_counter() - start)
    print(f"\ningestion: {runs} runs of {messages:,} messages (70 % matching a contact), load average "
          f"{min(load):.1f}-{max(load):.1f}; messages/s max / median")
    for name, label in (("ingest_many", "ingest_many (batches of 500)"), ("raw", "raw INSERT, no matching")):
        values = rates[name]
        print(f"  {label:<34}{max(values):>9,.0f} / {statistics.median(values):,.0f}")
    print(f"  {'ingest (one message per call)':<34}{single_rate:>9,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communications", type=int, default=500_000)
    parser.add_argument("--messages", type=int, default=5_000, help="messages per ingestion run")
    parser.add_argument("--runs", type=int, default=7, help="alternating runs per read path / ingestion")
    parser.add_argument("--only", choices=("reads", "ingestion"), help="measure one side only")
    parser.add_argument("--url", default=None, help="sqlite:///file or postgresql+psycopg://user@host/any")
    args = parser.parse_args()
    url, scratch, admin_engine = args.url or f"sqlite:///{scratch_dir()}/bench.db", None, None
    if url.startswith("postgresql"):
        parsed = sa.make_url(url)
        scratch = f"kw_bench_{uuid.uuid4().hex[:8]}"
        admin_engine = sa.create_engine(parsed, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
        url = parsed.set(database=scratch).render_as_string(hide_password=False)
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            upgrade()
            tenant = Tenant(name=f"bench-{time.time_ns()}")
            db.session.add(tenant)
            db.session.flush()
            from host_stub.features import set_feature

            set_feature(tenant, "crm", True)
            admin = User(tenant_id=tenant.id, email=f"{tenant.name}@bench.test", name="Bench", role="ADMIN",
                         password_hash="x")
            db.session.add(admin)
            db.session.commit()
            started = time.perf_counter()
            with tenant_scope(tenant.id):
                facts = fill(tenant.id, args.communications)
            print(f"{db.engine.dialect.name}: {args.communications:,} communications "
                  f"({facts['pending']:,} waiting for review; busy customer {facts['open_threads']:,} open threads) "
                  f"filled in {time.perf_counter() - started:.0f} s")
            tenant_id, admin_id = tenant.id, admin.id
        if args.only != "ingestion":
            reads(app, tenant_id, admin_id, facts, "fresh tables, never analysed", args.runs)
        with app.app_context():
            analyze()
        if args.only != "ingestion":
            reads(app, tenant_id, admin_id, facts, "after VACUUM ANALYZE (PostgreSQL; SQLite: ANALYZE)", args.runs)
        if args.only != "reads":
            ingestion(app, tenant_id, facts, args.messages, args.runs)
        with app.app_context():
            db.engine.dispose()
    finally:
        if scratch:
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
