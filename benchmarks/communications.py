"""Communications at scale: the review queue, a customer's conversations and a contact's timeline
with 500,000 communications in the tenant, and capture ingestion — product beside raw SQL.

    python benchmarks/communications.py [--communications 500000] [--messages 20000] [--url URL]

Builds a scratch database through the real migrations (PostgreSQL: a ``kw_bench_*`` database on
the server of ``--url``, dropped afterwards; default a SQLite file), fills one tenant by bulk
inserts, then prints medians of 7 for each read path three ways — the service function, the full
API request (test client, logged in), and the hand-written SQL returning the same rows — first on
the never-analysed tables, then after ANALYZE. Then ingestion: ``kw_crm.capture.ingest`` one
message at a time and ``ingest_many`` in batches of 500, beside a raw multi-row INSERT of the
same rows. Asserts nothing about time."""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from host_stub import create_app  # noqa: E402
from host_stub.models import PortalCustomer, Tenant, User, db  # noqa: E402
from kw_crm import capture  # noqa: E402
from kw_crm.models import CaptureReview, Communication, Contact, Conversation, CustomerProfile  # noqa: E402
from kw_crm.services import activities, capture_review, conversations  # noqa: E402
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
        "SELECT id, body, author_id, created_at FROM crm_notes WHERE tenant_id = :t AND contact_id = :p "
        "ORDER BY created_at DESC, id DESC LIMIT 50",
        "SELECT id, type, subject, description, due_date, completed_at, owner_id, created_at FROM crm_activities "
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
}


def median_ms(fn, runs=7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


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
    # threads first, so each message carries its conversation id (no correlated UPDATE afterwards)
    conversation_rows = list(thread_rows.values())
    ids_of = {}
    for chunk in range(0, len(conversation_rows), 5_000):
        for cid, customer_id, thread_id in conn.execute(
                sa.insert(Conversation.__table__).returning(Conversation.__table__.c.id,
                                                            Conversation.__table__.c.customer_id,
                                                            Conversation.__table__.c.thread_id),
                conversation_rows[chunk:chunk + 5_000]):
            ids_of[(customer_id, thread_id)] = cid
    for row in rows:
        row["conversation_id"] = ids_of.get((row["customer_id"], row["thread_id"]))
    for chunk in range(0, len(rows), 10_000):
        conn.execute(sa.insert(Communication.__table__), rows[chunk:chunk + 10_000])
    pending_ids = db.session.scalars(sa.select(Communication.id).where(Communication.tenant_id == tenant_id,
                                                                       Communication.customer_id.is_(None))).all()
    review_rows = [{"tenant_id": tenant_id, "communication_id": cid, "reason": "no_match", "candidates": [],
                    "created_at": start + timedelta(seconds=k)} for k, cid in enumerate(pending_ids)]
    for chunk in range(0, len(review_rows), 10_000):
        conn.execute(sa.insert(CaptureReview), review_rows[chunk:chunk + 10_000])
    db.session.commit()
    busy_threads = sum(1 for (c, _), t in thread_rows.items() if c == busy_customer and t["status"] == "open")
    return {"customer": busy_customer, "contact": busy_contact.id, "contacts": contacts,
            "open_threads": busy_threads, "pending": len(pending_ids)}


def analyze():
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
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


def reads(app, tenant_id: int, admin_id: int, facts: dict, label: str) -> None:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(admin_id)
    c, p = facts["customer"], facts["contact"]
    paths = {
        "review queue": (lambda: capture_review.queue(50, 0), "/api/crm/captures/review"),
        "customer conversations": (lambda: conversations.list_for_customer(c, "open", 50, 0),
                                   f"/api/crm/customers/{c}/conversations?status=open"),
        "contact timeline": (lambda: activities.timeline(p, 50, 0), f"/api/crm/contacts/{p}/timeline"),
    }
    print(f"\n{label}")
    print(f"{'path':<24}{'service ms':>12}{'API ms':>10}{'raw ms':>10}{'service/raw':>13}{'queries':>9}")
    for name, (service, url) in paths.items():
        with app.test_request_context(), tenant_scope(tenant_id):
            service()  # warm
            product = median_ms(service)
            queries = count_queries(service)
            db.session.rollback()

            def raw(statements=RAW[name]):
                with db.engine.connect() as conn:
                    for sql in statements:
                        conn.execute(sa.text(sql), {"t": tenant_id, "c": c, "p": p}).all()
            raw()
            raw_ms = median_ms(raw)
        assert client.get(url).status_code == 200
        api = median_ms(lambda url=url: client.get(url))
        print(f"{name:<24}{product:>12.1f}{api:>10.1f}{raw_ms:>10.1f}{product / raw_ms:>13.2f}{queries:>9}")


def ingestion(app, tenant_id: int, facts: dict, messages: int) -> None:
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

    print(f"\ningestion ({messages:,} messages, 70 % matching a contact)")
    with app.app_context():
        single = batch(min(messages, 2_000))
        start = time.perf_counter()
        for message in single:
            capture.ingest(tenant_id, message)
        single_rate = len(single) / (time.perf_counter() - start)
        many = batch(messages)
        start = time.perf_counter()
        for chunk in range(0, len(many), 500):
            capture.ingest_many(tenant_id, many[chunk:chunk + 500])
        many_rate = len(many) / (time.perf_counter() - start)
        raw_rows = [{"tenant_id": tenant_id, "channel": "email", "direction": "inbound", "subject": m["subject"],
                     "summary": m["body"], "source": "captured", "occurred_at": datetime(2026, 11, 20, 10),
                     "message_id": "raw" + m["message_id"], "thread_id": m["thread_id"], "sender": m["sender"],
                     "recipients": m["recipients"], "linkage_basis": "email_match", "body_truncated": False}
                    for m in batch(messages)]
        start = time.perf_counter()
        with db.engine.begin() as conn:
            for chunk in range(0, len(raw_rows), 500):
                conn.execute(sa.insert(Communication.__table__), raw_rows[chunk:chunk + 500])
        raw_rate = len(raw_rows) / (time.perf_counter() - start)
    print(f"  ingest (one message per call):   {single_rate:>9,.0f} messages/s")
    print(f"  ingest_many (batches of 500):    {many_rate:>9,.0f} messages/s")
    print(f"  raw INSERT, no matching:         {raw_rate:>9,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communications", type=int, default=500_000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--url", default=None, help="sqlite:///file or postgresql+psycopg://user@host/any")
    args = parser.parse_args()
    url, scratch, admin_engine = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db", None, None
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
        reads(app, tenant_id, admin_id, facts, "fresh tables, never analysed")
        with app.app_context():
            analyze()
        reads(app, tenant_id, admin_id, facts, "after ANALYZE")
        ingestion(app, tenant_id, facts, args.messages)
        with app.app_context():
            db.engine.dispose()
    finally:
        if scratch:
            with admin_engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
