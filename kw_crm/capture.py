"""Mail capture: the one way in for messages from the host's mail system.

``ingest(tenant_id, message)`` (and ``ingest_many`` for a batch) stores a message as a
communication. It links itself only when the match is unambiguous — exactly one contact of the
tenant owns the other party's address, or no contact does and exactly one customer has it as
billing email; anything else waits in the review queue with its candidates, never guessed (the
rule is :func:`decide`, a pure function tested on a table of cases). A message id is stored once
per tenant: sending it again answers the stored result and writes nothing.

Call it inside the host's Flask app context; it binds the tenant itself and commits."""
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from sqlalchemy import DateTime, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from . import host
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

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """No NUL (PostgreSQL refuses it), control or bidi-override characters, no lone surrogates."""
    text = text.encode("utf-8", "replace").decode("utf-8") if any("\ud800" <= c <= "\udfff" for c in text) \
        else text
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

def validate(message) -> dict:
    """The message as clean values, or :class:`Invalid` with per-field messages."""
    return load_or_invalid(CaptureInput(), message)


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
    for index, message in enumerate(messages):
        try:
            valid.append(validate(message))
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


def _insert(model):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(model)


def _store(tenant_id: int, messages: list[dict], default_source: str) -> list[dict]:
    first_of: dict[str, int] = {}  # message id -> index of its first occurrence in this batch
    for index, message in enumerate(messages):
        first_of.setdefault(message["message_id"], index)
    stored = _stored_results(list(first_of))
    fresh = [i for mid, i in first_of.items() if mid not in stored]

    parties = {i: party_addresses(messages[i]["direction"], messages[i]["sender"], messages[i]["recipients"])
               for i in fresh}
    contact_hits, billing_hits = _matches({a for i in fresh for a in parties[i]})
    decisions = {i: decide([h for a in parties[i] for h in contact_hits.get(a, [])],
                           [h for a in parties[i] for h in billing_hits.get(a, [])]) for i in fresh}
    _hold_archived(list(decisions.values()))
    _name_candidates([d for d in decisions.values() if d.status == "review"])

    rows = []
    for i in fresh:
        m, d = messages[i], decisions[i]
        text, truncated = body_text(m["body"], m.get("content_type"))
        subject = clean(m["subject"]).strip()[:SUBJECT_MAX] or NO_SUBJECT
        rows.append({
            "tenant_id": tenant_id, "customer_id": d.customer_id, "contact_id": d.contact_id,
            "channel": m["channel"], "direction": m["direction"], "subject": subject, "summary": text,
            "source": "captured", "occurred_at": m["occurred_at"], "created_at": utcnow(),
            "message_id": m["message_id"], "thread_id": m.get("thread_id") or m["message_id"],
            "sender": m["sender"], "recipients": m["recipients"],
            "capture_source": m.get("capture_source") or default_source, "capture_mode": m.get("capture_mode") or "sync",
            "linkage_basis": "email_match" if d.status == "linked" else "pending_review",
            "matched_address": d.matched_address, "body_truncated": truncated,
        })
    inserted: dict[str, int] = {}
    for batch in _chunks(rows):
        # ON CONFLICT DO NOTHING: a concurrent capture of the same message id wins quietly and
        # this one answers its result below, as for any repeat.
        statement = _insert(Communication.__table__).on_conflict_do_nothing(
            index_elements=["tenant_id", "message_id"]).returning(
            Communication.__table__.c.id, Communication.__table__.c.message_id)
        inserted.update({mid: cid for cid, mid in session.connection().execute(statement, batch)})

    linked = [i for i in fresh if messages[i]["message_id"] in inserted and decisions[i].status == "linked"]
    reviews = [i for i in fresh if messages[i]["message_id"] in inserted and decisions[i].status == "review"]
    if linked:
        link_conversations([inserted[messages[i]["message_id"]] for i in linked])
        touch_last_contacted([(decisions[i].customer_id, messages[i]["occurred_at"]) for i in linked])
    review_ids = {}
    if reviews:
        review_rows = [{"tenant_id": tenant_id, "communication_id": inserted[messages[i]["message_id"]],
                        "reason": decisions[i].reason, "candidates": decisions[i].candidates,
                        "created_at": utcnow()} for i in reviews]
        for batch in _chunks(review_rows):
            statement = _insert(CaptureReview.__table__).returning(
                CaptureReview.__table__.c.id, CaptureReview.__table__.c.communication_id)
            review_ids.update({comm: rid for rid, comm in session.connection().execute(statement, batch)})

    lost_race = [mid for i in fresh if (mid := messages[i]["message_id"]) not in inserted]
    stored.update(_stored_results(lost_race) if lost_race else {})
    fresh_results = {}
    if linked:
        from .services.communications import communications_by_id

        entries = communications_by_id([inserted[messages[i]["message_id"]] for i in linked])
        for i in linked:
            fresh_results[i] = {"status": "linked", "communication": entries[inserted[messages[i]["message_id"]]],
                                "duplicate": False}
    for i in reviews:
        fresh_results[i] = {"status": "review", "review_id": review_ids[inserted[messages[i]["message_id"]]],
                            "duplicate": False}

    results = []
    for index, message in enumerate(messages):
        if index in fresh_results:
            results.append(fresh_results[index])
        else:
            first = first_of[message["message_id"]]  # a repeat within this batch answers its first copy
            results.append(dict(fresh_results[first] if first in fresh_results else stored[message["message_id"]],
                                duplicate=True))
    return results


def _stored_results(message_ids: list[str]) -> dict[str, dict]:
    """The answer for message ids stored before: linked with the communication, or the pending
    (or since resolved) review."""
    from .services.communications import communications_by_id

    found: dict[str, dict] = {}
    pending: dict[int, str] = {}
    for batch in _chunks(message_ids):
        for comm_id, message_id, customer_id, review_id in session.execute(
                select(Communication.id, Communication.message_id, Communication.customer_id, CaptureReview.id)
                .outerjoin(CaptureReview, CaptureReview.communication_id == Communication.id)
                .where(Communication.message_id.in_(batch))):
            if customer_id is None:
                found[message_id] = {"status": "review", "review_id": review_id}
            else:
                pending[comm_id] = message_id
    if pending:
        for comm_id, entry in communications_by_id(list(pending)).items():
            found[pending[comm_id]] = {"status": "linked", "communication": entry}
    return found


def _matches(addresses: set[str]) -> tuple[dict[str, list[ContactHit]], dict[str, list[BillingHit]]]:
    """Contacts owning each address (the unique ``email_key``) and customers billed at it."""
    contacts: dict[str, list[ContactHit]] = {}
    billing: dict[str, list[BillingHit]] = {}
    values = sorted(addresses)
    billing_key = func.lower(func.trim(CustomerProfile.billing_email))
    for batch in _chunks(values):
        for cid, customer_id, first, last, key in session.execute(
                select(Contact.id, Contact.customer_id, Contact.first_name, Contact.last_name, Contact.email_key)
                .where(Contact.email_key.in_(batch))):
            contacts.setdefault(key, []).append(ContactHit(cid, customer_id, f"{first} {last}".strip(), key))
        for customer_id, key in session.execute(
                select(CustomerProfile.customer_id, billing_key).where(billing_key.in_(batch))
                .order_by(CustomerProfile.customer_id)):
            billing.setdefault(key, []).append(BillingHit(customer_id, key))
    return contacts, billing


def _hold_archived(decisions: list[Decision]) -> None:
    """Archived customers accept no new communications: a message matching one waits for review."""
    ids = {d.customer_id for d in decisions if d.status == "linked"}
    if not ids:
        return
    archived = set(session.scalars(select(CustomerProfile.customer_id).where(
        CustomerProfile.customer_id.in_(ids), CustomerProfile.archived_at.is_not(None))))
    for d in decisions:
        if d.status == "linked" and d.customer_id in archived:
            d.candidates = [{"customer_id": d.customer_id, "contact_id": d.contact_id, "name": None,
                             "basis": "contact_email" if d.contact_id else "billing_email",
                             "address": d.matched_address}]
            d.status, d.reason, d.customer_id, d.contact_id, d.matched_address = \
                "review", "customer_archived", None, None, None


def _name_candidates(decisions: list[Decision]) -> None:
    """Candidates carry the customer's name (one query for the batch)."""
    ids = {c["customer_id"] for d in decisions for c in d.candidates if c["customer_id"] is not None}
    if not ids:
        return
    Customer = host.customer_model()
    names = dict(session.execute(host.tenant_customers().with_only_columns(Customer.id, Customer.name)
                                 .where(Customer.id.in_(ids))).all())
    for decision in decisions:
        for candidate in decision.candidates:
            candidate["customer_name"] = names.get(candidate["customer_id"])
            if candidate["name"] is None:
                candidate["name"] = candidate["customer_name"]


def link_conversations(communication_ids: list[int]) -> None:
    """Count freshly linked communications into their customer's thread (created on first use;
    a closed thread reopens on a new message, an archived one stays archived) and point the
    communications at it. Three statements per batch, whatever its size."""
    rows = session.execute(select(Communication.customer_id, Communication.thread_id, Communication.subject,
                                  Communication.channel, Communication.occurred_at)
                           .where(Communication.id.in_(communication_ids), Communication.thread_id.is_not(None),
                                  Communication.customer_id.is_not(None))
                           .order_by(Communication.occurred_at, Communication.id)).all()
    threads: dict[tuple[int, str], dict] = {}
    for customer_id, thread_id, subject, channel, occurred_at in rows:
        entry = threads.setdefault((customer_id, thread_id), {
            "customer_id": customer_id, "thread_id": thread_id, "subject": subject, "channel": channel,
            "message_count": 0, "last_message_at": occurred_at})
        entry["message_count"] += 1
        entry["last_message_at"] = max(entry["last_message_at"], occurred_at)
    if not threads:
        return
    tenant_id = current_tenant_id()
    table = Conversation.__table__
    now = utcnow()
    for batch in _chunks(list(threads.values())):
        statement = _insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=["tenant_id", "customer_id", "thread_id"],
            set_={"message_count": table.c.message_count + statement.excluded.message_count,
                  "last_message_at": case((statement.excluded.last_message_at > table.c.last_message_at,
                                           statement.excluded.last_message_at), else_=table.c.last_message_at),
                  "status": case((table.c.status == "closed", "open"), else_=table.c.status),
                  "updated_at": now})
        session.connection().execute(statement, [dict(t, tenant_id=tenant_id, status="open", created_at=now,
                                                      updated_at=now) for t in batch])
    comm = Communication.__table__
    conversation_of = (select(table.c.id).where(table.c.tenant_id == comm.c.tenant_id,
                                                table.c.customer_id == comm.c.customer_id,
                                                table.c.thread_id == comm.c.thread_id).scalar_subquery())
    for batch in _chunks(communication_ids):
        session.connection().execute(update(comm).where(comm.c.tenant_id == tenant_id, comm.c.id.in_(batch))
                                     .values(conversation_id=conversation_of))


def touch_last_contacted(pairs: list[tuple[int, object]]) -> None:
    """Move each customer's ``last_contacted_at`` forward (profiles created where missing)."""
    latest: dict[int, object] = {}
    for customer_id, moment in pairs:
        if customer_id not in latest or latest[customer_id] < moment:
            latest[customer_id] = moment
    tenant_id = current_tenant_id()
    table = CustomerProfile.__table__
    now = utcnow()
    for batch in _chunks(sorted(latest)):
        session.connection().execute(
            _insert(table).on_conflict_do_nothing(index_elements=["tenant_id", "customer_id"]),
            [{"tenant_id": tenant_id, "customer_id": c, "lifecycle_stage": "prospect", "created_at": now,
              "updated_at": now} for c in batch])
        moment = bindparam("moment", type_=DateTime())
        session.connection().execute(
            update(table).where(table.c.tenant_id == tenant_id, table.c.customer_id == bindparam("cid"))
            .values(last_contacted_at=case((or_(table.c.last_contacted_at.is_(None),
                                                table.c.last_contacted_at < moment), moment),
                                           else_=table.c.last_contacted_at)),
            [{"cid": c, "moment": latest[c]} for c in batch])
