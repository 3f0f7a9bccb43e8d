"""Mail capture: the one way in for messages from the host's mail system.

``ingest(tenant_id, message)`` (and ``ingest_many`` for a batch) stores a message as a
communication. It links itself only when the match is unambiguous — exactly one contact of the
tenant owns the other party's address, or no contact does and exactly one customer has it as
billing email; anything else waits in the review queue with its candidates, never guessed (the
rule is :func:`decide`, a pure function tested on a table of cases). A message id is stored once
per tenant: sending it again answers the stored result and writes nothing.

Call it inside the host's Flask app context; it binds the tenant itself and commits."""
import html
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import SimpleNamespace

from sqlalchemy import JSON, String, Text, and_, bindparam, case, cast, func, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from . import host, signals
from .db import commit, session, utcnow
from .errors import Invalid
from .models import CaptureReview, Communication, Contact, Conversation, CustomerProfile
from .schemas.base import load_or_invalid
from .schemas.communications import BODY_MAX, SUBJECT_MAX, CaptureInput
from .tenancy import TenantNotBound, current_tenant_id, tenant_scope

CHUNK = 500  # ids / addresses per IN (...) list
NO_SUBJECT = "(no subject)"


# --- the matching rule ------------------------------------------------------------------------

@dataclass(frozen=True)
class ContactHit:
    contact_id: int
    customer_id: int | None
    name: str
    address: str


@dataclass(frozen=True)
class BillingHit:
    customer_id: int
    address: str


@dataclass
class Decision:
    status: str  # "linked" | "review"
    customer_id: int | None = None
    contact_id: int | None = None
    matched_address: str | None = None
    reason: str | None = None  # review: no_match | ambiguous | contact_without_customer
    candidates: list[dict] = field(default_factory=list)


def party_addresses(direction: str, sender: str, recipients: list[str]) -> list[str]:
    """The other side of the conversation: who wrote to us (inbound) or whom we wrote to
    (outbound). Our own people's addresses are never evidence of the customer."""
    addresses = [sender] if direction == "inbound" else recipients
    return list(dict.fromkeys(addresses))


def decide(contacts: list[ContactHit], billing: list[BillingHit]) -> Decision:
    """Link or review, from the contacts and billing emails matching the party addresses.

    Linked only when exactly one contact matched and it has a customer that no billing email
    contradicts, or no contact matched and exactly one customer's billing email did."""
    contacts = list({hit.contact_id: hit for hit in contacts}.values())
    billing_customers = list(dict.fromkeys(hit.customer_id for hit in billing))
    if len(contacts) == 1 and contacts[0].customer_id is not None \
            and set(billing_customers) <= {contacts[0].customer_id}:
        hit = contacts[0]
        return Decision("linked", hit.customer_id, hit.contact_id, hit.address)
    if not contacts and len(billing_customers) == 1:
        return Decision("linked", billing_customers[0], None, billing[0].address)
    candidates = [{"customer_id": h.customer_id, "contact_id": h.contact_id, "name": h.name,
                   "basis": "contact_email", "address": h.address} for h in contacts]
    seen = set()
    for hit in billing:
        if hit.customer_id not in seen:
            seen.add(hit.customer_id)
            candidates.append({"customer_id": hit.customer_id, "contact_id": None, "name": None,
                               "basis": "billing_email", "address": hit.address})
    if not candidates:
        reason = "no_match"
    elif len(contacts) == 1 and not billing_customers:
        reason = "contact_without_customer"
    else:
        reason = "ambiguous"
    return Decision("review", reason=reason, candidates=candidates)


# --- text of a message ------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """No NUL (PostgreSQL refuses it), control or bidi-override characters, no lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8") if _SURROGATE.search(text) else text
    return _CONTROL.sub("", text)


class _TextOfHtml(HTMLParser):
    BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table"}
    HIDDEN = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """HTML mail as plain text: tags, scripts and styles dropped, entities decoded, blocks on
    their own lines. The CRM stores and shows captured mail as text only."""
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return html.unescape(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip())


def body_text(body: str, content_type: str | None) -> tuple[str, bool]:
    """The stored text and whether it had to be cut at ``BODY_MAX`` characters."""
    if content_type == "text/html" or (content_type is None and re.match(r"\s*<(!doctype|html)\b", body, re.I)):
        body = html_to_text(body[: BODY_MAX * 4])
    body = clean(body).strip()
    return (body[:BODY_MAX], True) if len(body) > BODY_MAX else (body, False)


# --- ingestion --------------------------------------------------------------------------------

def validate(message, schema: CaptureInput | None = None) -> dict:
    """The message as clean values, or :class:`Invalid` with per-field messages."""
    return load_or_invalid(schema or CaptureInput(), message)


def ingest(tenant_id: int, message: dict, *, capture_source: str = "python") -> dict:
    """Store one captured message; see the module docstring. Returns ``{status: "linked",
    communication}`` or ``{status: "review", review_id}``, with ``duplicate: True`` when the
    message id was stored before (nothing written). Invalid input raises :class:`Invalid`."""
    clean_message = validate(message)
    return _ingest_valid(tenant_id, [clean_message], capture_source)[0]


def ingest_many(tenant_id: int, messages: list[dict], *, capture_source: str = "python") -> list[dict]:
    """A batch in one transaction and a fixed number of queries (the mail-drop and bulk syncs).
    Results are in input order; an invalid message gets ``{status: "rejected", errors}`` and
    does not stop the others."""
    results: list[dict | None] = [None] * len(messages)
    valid, positions = [], []
    schema = CaptureInput()  # one per batch: building a marshmallow schema costs more than a load
    for index, message in enumerate(messages):
        try:
            valid.append(validate(message, schema))
            positions.append(index)
        except Invalid as error:
            results[index] = {"status": "rejected", "errors": error.fields}
    for index, result in zip(positions, _ingest_valid(tenant_id, valid, capture_source) if valid else [],
                             strict=True):
        results[index] = result
    return results


def _ingest_valid(tenant_id: int, messages: list[dict], default_source: str) -> list[dict]:
    bound = current_tenant_id()
    if bound is not None and bound != tenant_id:
        raise TenantNotBound(f"capture for tenant {tenant_id} while tenant {bound} is bound")
    with tenant_scope(tenant_id):
        results = _store(tenant_id, messages, default_source)
        commit()
        return results


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _postgres() -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _insert(model):
    return (postgresql.insert if _postgres() else sqlite.insert)(model)


def _insert_rows(table, rows: list[dict], on_conflict, returning=()) -> list:
    """INSERT ``rows`` (dicts with the same keys) with ``on_conflict(statement)`` applied,
    answering the ``returning`` columns. PostgreSQL gets one array per column through
    ``unnest`` — a short statement whatever the batch, where a multi-row VALUES list of 13,000
    parameters costs more to build and parse than to store — and a column with one value for the
    whole batch (the tenant, "captured", the many NULLs) is bound once; SQLite the multi-row
    VALUES."""
    if not rows:
        return []
    keys = list(rows[0])
    if not _postgres():
        statement = on_conflict(_insert(table))
        result = session.connection().execute(statement.returning(*returning) if returning else statement, rows)
        return list(result) if returning else []
    columns = {}
    for key in keys:
        values = [row[key] for row in rows]
        column_type = table.c[key].type
        if isinstance(column_type, JSON):  # json[] does not bind from lists: text, cast back per row
            values, column_type = [None if v is None else json.dumps(v) for v in values], Text()
        columns[key] = (values, column_type, all(v == values[0] for v in values))
    varying = [k for k, (_, _, same) in columns.items() if not same] or keys[:1]  # unnest sets the row count
    source = func.unnest(*[bindparam(f"c_{k}", columns[k][0], type_=postgresql.ARRAY(columns[k][1]))
                           for k in varying]).table_valued(*varying).render_derived(name="batch")
    selected = []
    for key in keys:
        values, column_type, _ = columns[key]
        value = source.c[key] if key in varying else bindparam(f"c_{key}", values[0], type_=column_type)
        selected.append(cast(value, JSON) if isinstance(table.c[key].type, JSON) else value)
    statement = on_conflict(postgresql.insert(table).from_select(keys, select(*selected)))
    if returning:
        return list(session.connection().execute(statement.returning(*returning)))
    session.connection().execute(statement)
    return []


def _store(tenant_id: int, messages: list[dict], default_source: str) -> list[dict]:
    """The batch, set-based: one query for the stored message ids, two for the addresses (with
    the matched customers' names and profiles: archived? last contacted?), then the writes — one
    upsert of the threads, one INSERT of the messages, one of the review rows, one upsert of
    ``last_contacted_at`` where it moves — per ``CHUNK`` of messages. Results
    and signal senders are built from what was written, not read back."""
    first_of: dict[str, int] = {}  # message id -> index of its first occurrence in this batch
    for index, message in enumerate(messages):
        first_of.setdefault(message["message_id"], index)
    stored = _stored_results(list(first_of))
    fresh = [i for mid, i in first_of.items() if mid not in stored]

    parties = {i: party_addresses(messages[i]["direction"], messages[i]["sender"], messages[i]["recipients"])
               for i in fresh}
    contact_hits, billing_hits, facts = _matches({a for i in fresh for a in parties[i]})
    decisions = {i: decide([h for a in parties[i] for h in contact_hits.get(a, [])],
                           [h for a in parties[i] for h in billing_hits.get(a, [])]) for i in fresh}
    contacted = _hold_archived(list(decisions.values()), facts)
    _name_candidates([d for d in decisions.values() if d.status == "review"], facts)

    now = utcnow()
    rows: dict[int, dict] = {}
    for i in fresh:
        m, d = messages[i], decisions[i]
        text, truncated = body_text(m["body"], m.get("content_type"))
        subject = clean(m["subject"]).strip()[:SUBJECT_MAX] or NO_SUBJECT
        rows[i] = {
            "tenant_id": tenant_id, "customer_id": d.customer_id, "contact_id": d.contact_id, "deal_id": None,
            "activity_id": None, "conversation_id": None,
            "channel": m["channel"], "direction": m["direction"], "subject": subject, "summary": text,
            "source": "captured", "logged_by_id": None, "occurred_at": m["occurred_at"], "created_at": now,
            "message_id": m["message_id"], "thread_id": m.get("thread_id") or m["message_id"],
            "sender": m["sender"], "recipients": m["recipients"],
            "capture_source": m.get("capture_source") or default_source, "capture_mode": m.get("capture_mode") or "sync",
            "linkage_basis": "email_match" if d.status == "linked" else "pending_review",
            "matched_address": d.matched_address, "body_truncated": truncated, "reviewed_by_id": None,
            "reviewed_at": None,
        }
    # Threads first, so every linked message is inserted with its conversation id.
    threads = _upsert_threads([rows[i] for i in fresh if decisions[i].status == "linked"])
    for row in rows.values():
        if row["customer_id"] is not None:
            row["conversation_id"] = threads[(row["customer_id"], row["thread_id"])]
    inserted: dict[str, int] = {}
    table = Communication.__table__
    for batch in _chunks(list(rows.values())):
        # ON CONFLICT DO NOTHING: a concurrent capture of the same message id wins quietly and
        # this one answers its result below, as for any repeat.
        inserted.update({mid: cid for cid, mid in _insert_rows(
            table, batch, lambda s: s.on_conflict_do_nothing(index_elements=["tenant_id", "message_id"]),
            (table.c.id, table.c.message_id))})
    for row in rows.values():
        row["id"] = inserted.get(row["message_id"])

    lost_race = [i for i in fresh if rows[i]["id"] is None]
    if lost_race:
        _uncount_threads([rows[i] for i in lost_race if rows[i]["customer_id"] is not None])
    linked = [i for i in fresh if rows[i]["id"] is not None and decisions[i].status == "linked"]
    reviews = [i for i in fresh if rows[i]["id"] is not None and decisions[i].status == "review"]
    if linked:
        touch_last_contacted([(rows[i]["customer_id"], rows[i]["occurred_at"]) for i in linked], contacted)
    review_ids = {}
    if reviews:
        review_rows = [{"tenant_id": tenant_id, "communication_id": rows[i]["id"], "reason": decisions[i].reason,
                        "candidates": decisions[i].candidates, "created_at": now} for i in reviews]
        reviews_table = CaptureReview.__table__
        for batch in _chunks(review_rows):
            review_ids.update({comm: rid for rid, comm in _insert_rows(
                reviews_table, batch, lambda s: s, (reviews_table.c.id, reviews_table.c.communication_id))})

    stored.update(_stored_results([messages[i]["message_id"] for i in lost_race]) if lost_race else {})
    fresh_results = _announce(rows, linked, reviews, review_ids)

    results = []
    for index, message in enumerate(messages):
        if index in fresh_results:
            results.append(fresh_results[index])
        else:
            first = first_of[message["message_id"]]  # a repeat within this batch answers its first copy
            results.append(dict(fresh_results[first] if first in fresh_results else stored[message["message_id"]],
                                duplicate=True))
    return results


def _announce(rows: dict[int, dict], linked: list[int], reviews: list[int], review_ids: dict) -> dict[int, dict]:
    """The answers for the messages stored now, and a ``communication_captured`` signal for
    each, both built from the rows as written. The senders are detached records with every
    column loaded: no query to build them, and none when a receiver reads them after the commit
    (a record in the session would be expired by the commit and read again one by one)."""
    from .services.communications import shape

    entries = {e["id"]: e for e in shape([SimpleNamespace(text=rows[i]["summary"], **rows[i]) for i in linked],
                                         full=True)}
    results = {}
    for i in linked:
        results[i] = {"status": "linked", "communication": entries[rows[i]["id"]], "duplicate": False}
    for i in reviews:
        results[i] = {"status": "review", "review_id": review_ids[rows[i]["id"]], "duplicate": False}
    new_record = Communication.__mapper__.class_manager.new_instance
    for i in sorted(results):
        record = new_record()  # filled the way a query result is: no attribute events, nothing dirty
        record.__dict__.update(rows[i])
        make_transient_to_detached(record)
        signals.send_after_commit(session, signals.communication_captured, record, status=results[i]["status"],
                                  review_id=results[i].get("review_id"))
    return results


def _stored_results(message_ids: list[str]) -> dict[str, dict]:
    """The answer for message ids stored before: linked with the communication, or the pending
    (or since resolved) review. On PostgreSQL each id is looked up on its own in the unique
    ``(tenant_id, message_id)`` index (a LATERAL join), so a table the planner has no statistics
    for yet is never scanned whole."""
    from .services.communications import communications_by_id

    found: dict[str, dict] = {}
    pending: dict[int, str] = {}
    columns = (Communication.id, Communication.message_id, Communication.customer_id)
    for batch in _chunks(message_ids):
        if _postgres():
            wanted = func.unnest(bindparam("wanted", batch, type_=postgresql.ARRAY(String))) \
                .table_valued("message_id").render_derived(name="wanted")
            hit = (select(*columns).where(Communication.tenant_id == current_tenant_id(),
                                          Communication.message_id == wanted.c.message_id).lateral("hit"))
            statement = (select(hit.c.id, hit.c.message_id, hit.c.customer_id, CaptureReview.id)
                         .select_from(wanted).join(hit, true())
                         .outerjoin(CaptureReview, CaptureReview.communication_id == hit.c.id))
        else:
            statement = (select(*columns, CaptureReview.id)
                         .outerjoin(CaptureReview, CaptureReview.communication_id == Communication.id)
                         .where(Communication.message_id.in_(batch)))
        for comm_id, message_id, customer_id, review_id in session.execute(statement):
            if customer_id is None:
                found[message_id] = {"status": "review", "review_id": review_id}
            else:
                pending[comm_id] = message_id
    if pending:
        for comm_id, entry in communications_by_id(list(pending)).items():
            found[pending[comm_id]] = {"status": "linked", "communication": entry}
    return found


@dataclass(frozen=True)
class CustomerFacts:
    """What the batch needs of a matched customer, read with the match itself."""
    name: str | None
    has_profile: bool
    archived: bool
    last_contacted_at: object


def _matches(addresses: set[str]) -> tuple[dict[str, list[ContactHit]], dict[str, list[BillingHit]],
                                           dict[int, CustomerFacts]]:
    """Contacts owning each address (the unique ``email_key``), customers billed at it, and the
    facts of every customer named (its name, archived, last contacted): two queries per
    ``CHUNK`` of addresses."""
    contacts: dict[str, list[ContactHit]] = {}
    billing: dict[str, list[BillingHit]] = {}
    facts: dict[int, CustomerFacts] = {}
    Customer = host.customer_model()
    billing_key = func.lower(func.trim(CustomerProfile.billing_email))
    profile = (CustomerProfile.customer_id, CustomerProfile.archived_at, CustomerProfile.last_contacted_at, Customer.name)

    def customer_of(column):
        return and_(Customer.id == column, Customer.tenant_id == current_tenant_id())

    def note(customer_id, profile_id, archived_at, last_contacted_at, name):
        if customer_id is not None:
            facts[customer_id] = CustomerFacts(name, profile_id is not None, archived_at is not None, last_contacted_at)

    for batch in _chunks(sorted(addresses)):
        for cid, customer_id, first, last, key, *about in session.execute(
                select(Contact.id, Contact.customer_id, Contact.first_name, Contact.last_name, Contact.email_key,
                       *profile)
                .outerjoin(CustomerProfile, CustomerProfile.customer_id == Contact.customer_id)
                .outerjoin(Customer, customer_of(Contact.customer_id))
                .where(Contact.email_key.in_(batch))):
            contacts.setdefault(key, []).append(ContactHit(cid, customer_id, f"{first} {last}".strip(), key))
            note(customer_id, *about)
        for key, *about in session.execute(
                select(billing_key, *profile).outerjoin(Customer, customer_of(CustomerProfile.customer_id))
                .where(billing_key.in_(batch)).order_by(CustomerProfile.customer_id)):
            billing.setdefault(key, []).append(BillingHit(about[0], key))
            note(about[0], *about)
    return contacts, billing, facts


def _hold_archived(decisions: list[Decision], facts: dict[int, CustomerFacts]) -> dict:
    """Archived customers accept no new communications: a message matching one waits for review.
    Returns the stored ``last_contacted_at`` of the other linked customers that have a profile,
    so unchanged profiles are not written again."""
    for d in decisions:
        if d.status == "linked" and facts[d.customer_id].archived:
            d.candidates = [{"customer_id": d.customer_id, "contact_id": d.contact_id, "name": None,
                             "basis": "contact_email" if d.contact_id else "billing_email",
                             "address": d.matched_address}]
            d.status, d.reason, d.customer_id, d.contact_id, d.matched_address = \
                "review", "customer_archived", None, None, None
    return {d.customer_id: facts[d.customer_id].last_contacted_at for d in decisions
            if d.status == "linked" and facts[d.customer_id].has_profile}


def _name_candidates(decisions: list[Decision], facts: dict[int, CustomerFacts]) -> None:
    """Candidates carry the customer's name."""
    for decision in decisions:
        for candidate in decision.candidates:
            known = facts.get(candidate["customer_id"])
            candidate["customer_name"] = known.name if known else None
            if candidate["name"] is None:
                candidate["name"] = candidate["customer_name"]


def link_conversations(communication_ids: list[int]) -> None:
    """Count linked communications that have no thread yet into their customer's thread and
    point them at it (operator review links one message so)."""
    comm = Communication.__table__
    rows = [dict(r._mapping) for r in session.execute(
        select(comm.c.id, comm.c.customer_id, comm.c.thread_id, comm.c.subject, comm.c.channel, comm.c.occurred_at)
        .where(comm.c.tenant_id == current_tenant_id(), comm.c.id.in_(communication_ids),
               comm.c.thread_id.is_not(None), comm.c.customer_id.is_not(None)))]
    threads = _upsert_threads(rows)
    for row in rows:
        session.connection().execute(update(comm).where(comm.c.tenant_id == current_tenant_id(), comm.c.id == row["id"])
                                     .values(conversation_id=threads[(row["customer_id"], row["thread_id"])]))


def _thread_totals(rows: list[dict]) -> list[dict]:
    threads: dict[tuple[int, str], dict] = {}
    for row in sorted(rows, key=lambda r: r["occurred_at"]):
        entry = threads.setdefault((row["customer_id"], row["thread_id"]), {
            "customer_id": row["customer_id"], "thread_id": row["thread_id"], "subject": row["subject"],
            "channel": row["channel"], "message_count": 0, "last_message_at": row["occurred_at"]})
        entry["message_count"] += 1
        entry["last_message_at"] = max(entry["last_message_at"], row["occurred_at"])
    # one order for every batch, so two concurrent captures lock shared threads alike
    return [threads[key] for key in sorted(threads)]


def _upsert_threads(rows: list[dict]) -> dict[tuple[int, str], int]:
    """Count messages (``customer_id``, ``thread_id``, ``subject``, ``channel``,
    ``occurred_at``) into their customer's threads — created on first use; a closed thread
    reopens on a new message, an archived one stays archived — and return each thread's id by
    (customer, thread): one upsert per ``CHUNK`` of threads."""
    totals = _thread_totals(rows)
    if not totals:
        return {}
    tenant_id = current_tenant_id()
    table = Conversation.__table__
    now = utcnow()
    ids = {}

    def count_in(statement):
        return statement.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id", "thread_id"],
            set_={"message_count": table.c.message_count + statement.excluded.message_count,
                  "last_message_at": case((statement.excluded.last_message_at > table.c.last_message_at,
                                           statement.excluded.last_message_at), else_=table.c.last_message_at),
                  "status": case((table.c.status == "closed", "open"), else_=table.c.status),
                  "updated_at": now})

    for batch in _chunks(totals):
        ids.update({(customer_id, thread_id): cid for cid, customer_id, thread_id in _insert_rows(
            table, [dict(t, tenant_id=tenant_id, status="open", created_at=now, updated_at=now) for t in batch],
            count_in, (table.c.id, table.c.customer_id, table.c.thread_id))})
    return ids


def _uncount_threads(rows: list[dict]) -> None:
    """Take back the counts of messages a concurrent capture stored first (rare: a race on one
    message id); their thread's last message time is that message's and stays right."""
    table = Conversation.__table__
    for total in _thread_totals(rows):
        session.connection().execute(update(table).where(
            table.c.tenant_id == current_tenant_id(), table.c.customer_id == total["customer_id"],
            table.c.thread_id == total["thread_id"]).values(message_count=table.c.message_count - total["message_count"]))


def touch_last_contacted(pairs: list[tuple[int, object]], stored: dict | None = None) -> None:
    """Move each customer's ``last_contacted_at`` forward (profiles created where missing): one
    upsert per ``CHUNK`` of customers. ``stored`` (customer -> its stored value, for those with a
    profile) leaves out the ones already at or past the new moment."""
    latest: dict[int, object] = {}
    for customer_id, moment in pairs:
        if customer_id not in latest or latest[customer_id] < moment:
            latest[customer_id] = moment
    if stored is not None:
        latest = {c: m for c, m in latest.items() if c not in stored or stored[c] is None or stored[c] < m}
    tenant_id = current_tenant_id()
    table = CustomerProfile.__table__
    now = utcnow()

    def move_forward(statement):
        newer = or_(table.c.last_contacted_at.is_(None),
                    table.c.last_contacted_at < statement.excluded.last_contacted_at)
        return statement.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id"],
            set_={"last_contacted_at": case((newer, statement.excluded.last_contacted_at),
                                            else_=table.c.last_contacted_at)})

    for batch in _chunks(sorted(latest)):
        _insert_rows(table, [{"tenant_id": tenant_id, "customer_id": c, "lifecycle_stage": "prospect",
                              "last_contacted_at": latest[c], "created_at": now, "updated_at": now} for c in batch],
                     move_forward)
