"""The pipeline as a workspace: the board and the paged deal table over the same filters (owner,
search by title / contact / customer, stage, closed deals shown or not, stale or overdue only).

Both are SQL with a constant number of queries: the board is stages, users, one GROUP BY stage
and currency for the column headers and one UNION ALL of per-stage LIMITed selects for the
cards; the table is a count and one page. Names are looked up afterwards by primary key for the
rows shown (contacts, customers; owners come from the user list the filter needs anyway): joined
into the scans, a tenant the planner has no statistics for yet got nested loops that read every
contact of the tenant once per deal. A deal is *stale* when it sat in its open stage longer than the
stage's ``stale_after_days`` (services.forecast.stale_condition: cut-offs bound per stage)."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, literal, or_, select, union_all

from .. import host
from ..db import MAX_ID, contains_pattern, is_valid_id, session, utcnow
from ..errors import Invalid
from ..models import Contact, Deal, Stage
from ..models.contact import search_text
from ..tenancy import require_tenant_id
from . import names
from . import stages as stage_service
from .forecast import in_stage_since, stale_condition

CARDS_PER_COLUMN = 25
PAGE_SIZE = 50
SORTS = ("created", "title", "stage", "owner", "value", "close", "age")
DEFAULT_SORT = "-created"


@dataclass
class Filters:
    owner_id: int | None = None
    q: str | None = None
    stage: str | None = None  # a stage key (table view)
    include_closed: bool = False
    stale: bool = False
    overdue: bool = False

    def query_args(self) -> dict:
        """The filters as URL arguments (for links between the board and the table)."""
        return {k: v for k, v in (("owner_id", self.owner_id), ("q", self.q), ("stage", self.stage),
                                  ("closed", 1 if self.include_closed else None), ("stale", 1 if self.stale else None),
                                  ("overdue", 1 if self.overdue else None)) if v}


def parse_filters(args, stages: list[Stage]) -> Filters:
    """Query-string filters; a 422 naming the field for an owner outside this tenant, an
    unknown stage or a search that is too long."""
    errors = {}
    filters = Filters(include_closed=args.get("closed") == "1", stale=args.get("stale") == "1",
                      overdue=args.get("overdue") == "1")
    raw_owner = (args.get("owner_id") or "").strip()
    if raw_owner:
        owner_id = int(raw_owner) if raw_owner.isdigit() and len(raw_owner) <= 10 else None
        User = host.user_model()
        if not is_valid_id(owner_id) or not session.scalar(
                host.tenant_users().with_only_columns(func.count()).where(User.id == owner_id)):
            errors["owner_id"] = [f"No user {raw_owner!r} in this tenant."]
        filters.owner_id = owner_id
    q = (args.get("q") or "").strip()
    if len(q) > 200:
        errors["q"] = ["Search for at most 200 characters."]
    elif q:
        if any(ord(ch) < 32 for ch in q):
            errors["q"] = ["The search contains control characters."]
        filters.q = q
    stage = (args.get("stage") or "").strip().upper()
    if stage:
        if stage not in {s.key for s in stages}:
            errors["stage"] = [f"Unknown stage {stage!r}."]
        filters.stage = stage
    if errors:
        raise Invalid(errors)
    return filters


def search_condition(q: str):
    """Title, the linked contact (name, email, company: the contact search text) or the linked
    customer's name contains ``q``, case-insensitively."""
    pattern = contains_pattern(q)
    tenant_id = require_tenant_id()
    Customer = host.customer_model()
    contacts = select(Contact.id).where(
        Contact.tenant_id == tenant_id,
        search_text(Contact.first_name, Contact.last_name, Contact.email, Contact.company).like(pattern, escape="\\"))
    customers = select(Customer.id).where(Customer.tenant_id == tenant_id,
                                          func.lower(Customer.name).like(pattern, escape="\\"))
    return or_(func.lower(Deal.title).like(pattern, escape="\\"), Deal.contact_id.in_(contacts),
               Deal.customer_id.in_(customers))


def _conditions(filters: Filters, stages: list[Stage], now: datetime, *, by_stage: bool) -> list:
    conditions = [Deal.archived_at.is_(None)]
    if filters.owner_id is not None:
        conditions.append(Deal.owner_id == filters.owner_id)
    if filters.q:
        conditions.append(search_condition(filters.q))
    if by_stage and filters.stage:
        conditions.append(Deal.stage_id == next(s.id for s in stages if s.key == filters.stage))
    elif by_stage and not filters.include_closed:
        conditions.append(Deal.stage_id.in_([s.id for s in stages if s.outcome is None]))
    if filters.stale:
        stale = stale_condition(stages, now)
        conditions.append(stale if stale is not None else literal(False))
    if filters.overdue:
        conditions.append(and_(Deal.expected_close_date < now.date(),
                               Deal.stage_id.in_([s.id for s in stages if s.outcome is None])))
    return conditions


def _stale_flag(stages, now):
    condition = stale_condition(stages, now)
    return (case((condition, 1), else_=0) if condition is not None else literal(0)).label("stale")


def _attach_names(rows, user_names: dict) -> list[dict]:
    """Rows (mappings) plus ``owner_name``, ``contact_name`` and ``customer_name`` for the deals
    on the page (see :mod:`.names`)."""
    rows = [dict(r) for r in rows]
    contacts = names.contacts(r["contact_id"] for r in rows)
    customers = names.customers(r["customer_id"] for r in rows)
    for r in rows:
        r["owner_name"] = user_names.get(r["owner_id"])
        r["contact_name"] = contacts.get(r["contact_id"])
        r["customer_name"] = customers.get(r["customer_id"])
    return rows


def owners() -> list[tuple[int, str]]:
    """(id, name) of the tenant's users, for the owner filter."""
    User = host.user_model()
    return session.execute(host.tenant_users().with_only_columns(User.id, User.name)
                           .order_by(User.name, User.id)).all()


def board(filters: Filters, *, stages: list[Stage] | None = None, user_names: dict | None = None,
          now: datetime | None = None) -> dict:
    """Every stage is a column (seed 000). Closed columns carry cards only when closed deals
    are shown, and are collapsed when empty or hidden; each column says how many deals match
    beyond its cards."""
    now = now or utcnow()
    stages = stages if stages is not None else stage_service.list_stages()
    conditions = _conditions(filters, stages, now, by_stage=False)
    totals: dict[int, list[dict]] = {}
    for stage_id, currency, count, value in session.execute(
            select(Deal.stage_id, Deal.currency, func.count(Deal.id), func.coalesce(func.sum(Deal.value_cents), 0))
            .where(*conditions).group_by(Deal.stage_id, Deal.currency).order_by(Deal.stage_id, Deal.currency)):
        totals.setdefault(stage_id, []).append({"currency": currency, "count": count, "value_cents": int(value)})
    with_cards = [s for s in stages if s.outcome is None or filters.include_closed]
    cards: dict[int, list] = {s.id: [] for s in stages}
    if with_cards:
        tenant_id = require_tenant_id()
        per_stage = [select(Deal.id, Deal.title, Deal.value_cents, Deal.currency, Deal.stage_id, Deal.contact_id,
                            Deal.owner_id, Deal.customer_id, Deal.expected_close_date, _stale_flag(stages, now))
                     .where(Deal.tenant_id == tenant_id, Deal.stage_id == s.id, *conditions)
                     .order_by(Deal.id.desc()).limit(CARDS_PER_COLUMN).subquery() for s in with_cards]
        newest = union_all(*[select(*sub.c) for sub in per_stage]).subquery()
        rows = session.execute(select(newest).order_by(newest.c.stage_id, newest.c.id.desc())).mappings().all()
        for row in _attach_names(rows, dict(owners()) if user_names is None else user_names):
            cards[row["stage_id"]].append({**row, "stale": bool(row["stale"]),
                                           "overdue": row["expected_close_date"] is not None
                                           and row["expected_close_date"] < now.date()})
    columns = []
    for s in stages:
        count = sum(t["count"] for t in totals.get(s.id, []))
        closed_hidden = s.outcome is not None and not filters.include_closed
        columns.append({"stage": s, "totals": totals.get(s.id, []), "count": count, "cards": cards[s.id],
                        "collapsed": s.outcome is not None and (closed_hidden or count == 0),
                        "more": 0 if closed_hidden else count - len(cards[s.id])})
    return {"stages": stages, "columns": columns,
            "hidden_closed": sum(c["count"] for c in columns if c["stage"].outcome and not filters.include_closed)}


def _order(sort: str, owner_name):
    """ORDER BY for ``sort`` (``owner_name``: the joined user name column, for the owner sort)."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    columns = {"created": lambda: [Deal.created_at], "title": lambda: [func.lower(Deal.title)],
               "stage": lambda: [Stage.position], "owner": lambda: [owner_name.is_(None), func.lower(owner_name)],
               "value": lambda: [Deal.currency, Deal.value_cents],
               "close": lambda: [Deal.expected_close_date.is_(None), Deal.expected_close_date],
               "age": lambda: [in_stage_since()]}[key]()
    # NULLs last in both directions and on both databases: the IS NULL key never flips
    ordered = [columns[0], *(c.desc() if descending else c for c in columns[1:])] if key in ("owner", "close") \
        else [c.desc() if descending else c for c in columns]
    return [*ordered, Deal.id.desc() if descending else Deal.id]


def parse_sort(raw: str | None) -> str:
    if not raw:
        return DEFAULT_SORT
    if raw.lstrip("-") not in SORTS or raw.count("-") > 1:
        raise Invalid({"sort": [f"Sort by one of {', '.join(SORTS)} (prefix - for descending)."]})
    return raw


def table(filters: Filters, *, sort: str = DEFAULT_SORT, page: int = 1, per_page: int = PAGE_SIZE,
          stages: list[Stage] | None = None, user_names: dict | None = None, now: datetime | None = None) -> dict:
    """One page of the filtered deals with stage, owner, names and stale/overdue flags, and
    the exact total."""
    now = now or utcnow()
    stages = stages if stages is not None else stage_service.list_stages()
    conditions = _conditions(filters, stages, now, by_stage=True)
    total = session.scalar(select(func.count(Deal.id)).where(*conditions))
    statement = (select(Deal.id, Deal.title, Deal.value_cents, Deal.currency, Deal.expected_close_date,
                        Deal.owner_id, Deal.contact_id, Deal.customer_id, Deal.created_at,
                        in_stage_since().label("stage_changed_at"), Stage.key.label("stage"),
                        Stage.label.label("stage_label"), Stage.outcome, _stale_flag(stages, now))
                 .join(Stage, Stage.id == Deal.stage_id))
    owner_name = None
    if sort.lstrip("-") == "owner":  # the tenant's users: a small table, joined only to sort by name
        User = host.user_model()
        owner_name = User.name
        statement = statement.outerjoin(User, and_(User.id == Deal.owner_id, User.tenant_id == require_tenant_id()))
    rows = session.execute(statement.where(*conditions).order_by(*_order(sort, owner_name))
                           .limit(per_page).offset(min((page - 1) * per_page, MAX_ID))).mappings().all()
    rows = _attach_names(rows, dict(owners()) if user_names is None else user_names)
    today = now.date()
    return {"total": total, "page": page, "pages": max((total + per_page - 1) // per_page, 1), "sort": sort,
            "rows": [{**r, "stale": bool(r["stale"]), "days_in_stage": (now - r["stage_changed_at"]).days,
                      "overdue": r["outcome"] is None and r["expected_close_date"] is not None
                      and r["expected_close_date"] < today} for r in rows]}
