"""Likely duplicates, for an operator to review (never merged automatically).

Customers whose names normalise alike ("ACME, Inc." / "Acme") or whose billing emails share a
company domain (free-mail domains are not evidence); contacts whose addresses are the same
mailbox ("ann+crm@x.com" / "ann@x.com") or with the same name at the same company."""
import re
import unicodedata

from sqlalchemy import and_, func, literal, or_, select

from .. import host
from ..db import session
from ..models import Contact, CustomerProfile
from ..tenancy import require_tenant_id

GROUP_LIMIT = 100
LEGAL_SUFFIXES = {"inc", "incorporated", "ltd", "limited", "llc", "llp", "lp", "gmbh", "ag", "sa", "sas", "sarl",
                  "bv", "nv", "plc", "co", "corp", "corporation", "company", "pty", "srl", "spa", "oy", "ab",
                  "as", "kg", "group", "holding", "holdings"}
FREE_MAIL_DOMAINS = {"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "outlook.com", "hotmail.com",
                     "live.com", "msn.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com",
                     "gmx.de", "gmx.net", "web.de", "yandex.ru", "mail.ru", "qq.com", "163.com", "zoho.com"}
DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}  # dots in the local part do not matter there


def normalise_company(name: str) -> str:
    """Lower case, no accents or punctuation, ``&`` as "and", legal-form words dropped."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace("&", " and ")
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    if words and words[0] == "the":
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def mailbox(address: str) -> str:
    """The mailbox an address delivers to: ``+tags`` dropped, Gmail's dots ignored."""
    local, _, domain = (address or "").strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def customer_groups() -> list[dict]:
    """Groups of active customers with the same normalised name or billing domain (one query)."""
    Customer = host.customer_model()
    tenant_id = require_tenant_id()
    rows = session.execute(
        select(Customer.id, Customer.name, CustomerProfile.billing_email,
               func.coalesce(CustomerProfile.lifecycle_stage, literal("prospect")).label("stage"))
        .select_from(Customer)
        .outerjoin(CustomerProfile, and_(CustomerProfile.customer_id == Customer.id,
                                         CustomerProfile.tenant_id == tenant_id))
        .where(Customer.tenant_id == tenant_id, CustomerProfile.archived_at.is_(None))
        .order_by(Customer.id)).all()
    by_name: dict[str, list] = {}
    by_domain: dict[str, list] = {}
    for row in rows:
        key = normalise_company(row.name)
        if key:
            by_name.setdefault(key, []).append(row)
        domain = (row.billing_email or "").strip().lower().rpartition("@")[2]
        if domain and domain not in FREE_MAIL_DOMAINS:
            by_domain.setdefault(domain, []).append(row)
    groups = []
    for reason, buckets, say in (("similar_name", by_name, "names normalise to “{}”"),
                                 ("billing_domain", by_domain, "billing emails share the domain {}")):
        for key, members in buckets.items():
            if len(members) > 1:
                groups.append({"reason": reason, "key": key, "explanation": say.format(key), "customers": [
                    {"id": m.id, "name": m.name, "billing_email": m.billing_email, "lifecycle_stage": m.stage}
                    for m in members]})
    groups.sort(key=lambda g: (g["reason"], g["key"]))
    return groups[:GROUP_LIMIT]


def _contact_dict(c: Contact) -> dict:
    return {"id": c.id, "name": c.full_name, "email": c.email, "company": c.company, "customer_id": c.customer_id,
            "job_title": c.job_title}


def contact_groups() -> list[dict]:
    """Contacts that are likely one person: same mailbox, or same name at the same company
    (customer, else company text). Four queries, whatever the number of contacts."""
    groups = []
    # 1. the same mailbox under different spellings: only addresses with a +tag or at Gmail can
    #    differ from their mailbox, so those are fetched, then the plain mailboxes they point to.
    variants = session.scalars(select(Contact).where(or_(
        Contact.email_key.like("%+%@%"), Contact.email_key.like("%@gmail.com"),
        Contact.email_key.like("%@googlemail.com")))).all()
    boxes: dict[str, dict[int, Contact]] = {}
    for contact in variants:
        boxes.setdefault(mailbox(contact.email_key), {})[contact.id] = contact
    if boxes:
        for contact in session.scalars(select(Contact).where(Contact.email_key.in_(list(boxes)[:5000]))):
            boxes[contact.email_key][contact.id] = contact
    for box, members in sorted(boxes.items()):
        if len(members) > 1:
            groups.append({"reason": "same_email", "key": box, "explanation": f"all deliver to {box}",
                           "contacts": [_contact_dict(c) for c in sorted(members.values(), key=lambda c: c.id)]})
    # 2. same first and last name at the same customer (or company text when unlinked)
    company = func.coalesce(func.cast(Contact.customer_id, Contact.company.type),
                            func.lower(func.trim(Contact.company)))
    key = (func.lower(Contact.first_name), func.lower(Contact.last_name), company)
    dupes = (select(*[k.label(f"k{i}") for i, k in enumerate(key)]).where(company.is_not(None))
             .group_by(*key).having(func.count() > 1).limit(GROUP_LIMIT)).subquery()
    members = session.scalars(select(Contact).join(dupes, and_(
        key[0] == dupes.c.k0, key[1] == dupes.c.k1, key[2] == dupes.c.k2)).order_by(Contact.id)).all()
    named: dict[tuple, list[Contact]] = {}
    for contact in members:
        named.setdefault((contact.first_name.lower(), contact.last_name.lower(),
                          contact.customer_id or (contact.company or "").strip().lower()), []).append(contact)
    for (first, last, _), people in sorted(named.items(), key=lambda item: (item[0][1], item[0][0])):
        company_name = people[0].company or f"customer #{people[0].customer_id}"
        groups.append({"reason": "same_name_company", "key": f"{first} {last}",
                       "explanation": f"same name at {company_name}",
                       "contacts": [_contact_dict(c) for c in people]})
    return groups[:GROUP_LIMIT]

