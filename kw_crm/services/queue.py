"""The ranked next-action queue, the overdue (exception) queue and the ranked rows of a
customer or a deal.

Reading is set-based and constant in queries whatever the queue length: one query for the
candidate activities with their deal, stage and account columns, then one grouped query each
for the tenant's average open deal per currency, the customers' open deals, their recent
communications and the linked deals' last stage change - each restricted to the candidates' ids
bound as one array parameter (``db.id_in``: a subquery of the candidates let PostgreSQL pick a
nested loop of minutes on never-analysed tables) - plus one batch call to the host's billing
hook when the viewer may see billing. :func:`kw_crm.services.priority.rank` then scores every row in memory.
Nothing is written. "Today" is the UTC date."""
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import case, func, select

from .. import host
from ..db import id_in, plan_for_bound_values, session, utcnow
from ..models import Activity, AuditEvent, Communication, CustomerProfile, Deal, Stage
from . import names, priority
from .activities import context_select, with_owner_names

WORKSPACE_ROWS = 10


def _candidates():
    return _candidates_for(context_select(names=False))


def _with_link_names(rows: list[dict]) -> list[dict]:
    """Fill the customer and contact names of the shown queue rows (see :mod:`.names`)."""
    customers = names.customers(r["activity"]["customer_id"] for r in rows)
    contacts = names.contacts(r["activity"]["contact_id"] for r in rows)
    for r in rows:
        r["context"]["customer_name"] = customers.get(r["activity"]["customer_id"])
        r["context"]["contact_name"] = contacts.get(r["activity"]["contact_id"])
    return rows


@cache
def _candidates_for(base):
    """The queue's candidate statement (built once, see ``activities._context_select``)."""
    return (base
            .add_columns(Deal.value_cents.label("deal_value_cents"), Deal.currency.label("deal_currency"),
                         Deal.archived_at.label("deal_archived_at"), Deal.created_at.label("deal_created_at"),
                         Stage.probability.label("deal_probability"), Stage.outcome.label("deal_outcome"),
                         CustomerProfile.lifecycle_stage, CustomerProfile.health_score,
                         CustomerProfile.last_contacted_at)
            .outerjoin(CustomerProfile, CustomerProfile.customer_id == Activity.customer_id))


def _open_deal():
    return (Stage.outcome.is_(None), Deal.archived_at.is_(None))


def _average_open_value() -> dict[str, float]:
    return {currency: float(avg or 0) for currency, avg in session.execute(
        select(Deal.currency, func.avg(Deal.value_cents)).join(Stage, Stage.id == Deal.stage_id)
        .where(*_open_deal()).group_by(Deal.currency))}


def _ratio(value_cents: int | None, currency: str | None, averages: dict[str, float]) -> float:
    average = averages.get(currency or "", 0.0)
    if average <= 0:
        return 1.0 if value_cents else 0.0
    return (value_cents or 0) / average


def _customers_best_deal(customer_ids, averages) -> dict[int, tuple[float, int]]:
    """customer id -> (best value ratio, best probability) over its open deals."""
    best: dict[int, tuple[float, int]] = {}
    for customer_id, currency, top_value, top_probability in session.execute(
            select(Deal.customer_id, Deal.currency, func.max(Deal.value_cents), func.max(Stage.probability))
            .join(Stage, Stage.id == Deal.stage_id)
            .where(*_open_deal(), id_in(Deal.customer_id, customer_ids)).group_by(Deal.customer_id, Deal.currency)):
        ratio, probability = best.get(customer_id, (0.0, 0))
        best[customer_id] = (max(ratio, _ratio(top_value, currency, averages)), max(probability, top_probability))
    return best


def _communications(customer_ids, today: date) -> dict[int, tuple[int, datetime | None]]:
    """customer id -> (communications in the window, last communication time)."""
    since = datetime.combine(today - timedelta(days=priority.COMMS_WINDOW_DAYS), datetime.min.time())
    return {customer_id: (int(recent or 0), last) for customer_id, recent, last in session.execute(
        select(Communication.customer_id, func.sum(case((Communication.occurred_at >= since, 1), else_=0)),
               func.max(Communication.occurred_at))
        .where(id_in(Communication.customer_id, customer_ids)).group_by(Communication.customer_id))}


def _last_stage_moves(deal_ids) -> dict[int, datetime]:
    return dict(session.execute(
        select(AuditEvent.entity_id, func.max(AuditEvent.created_at))
        .where(AuditEvent.entity_type == "deal", AuditEvent.action == "stage_changed",
               id_in(AuditEvent.entity_id, deal_ids)).group_by(AuditEvent.entity_id)).all())


def _billing(rows: list[dict], viewer) -> dict[int, priority.Billing] | None:
    if not host.user_can_view_billing(viewer):
        return None
    posture = host.customers_billing_posture(r["customer_id"] for r in rows)
    return {int(cid): priority.Billing(
        past_due_ar_cents={c: v for c, v in (p.get("past_due_ar_cents") or {}).items() if v},
        outstanding_ar_cents={c: v for c, v in (p.get("outstanding_ar_cents") or {}).items() if v},
        active_products=tuple(s["product"] for s in p.get("subscriptions") or [] if s.get("status") == "active"),
        trial_products=tuple(s["product"] for s in p.get("subscriptions") or [] if s.get("status") == "trial"),
    ) for cid, p in posture.items()}


def _days(today: date, moment) -> int | None:
    return None if moment is None else max(0, (today - (moment.date() if isinstance(moment, datetime) else moment)).days)


def rank_rows(rows: list[dict], *, customer_ids, deal_ids, viewer, today: date | None = None) -> list[dict]:
    """Score candidate rows (from :func:`_candidates`). ``customer_ids`` / ``deal_ids`` (the
    rows' own ids; None is skipped) restrict the fact queries. The fact queries run
    even for no rows, so a page costs the same number of queries whatever it shows."""
    today = today or utcnow().date()
    plan_for_bound_values()  # the fact queries bind arrays of ids
    averages = _average_open_value()
    best = _customers_best_deal(customer_ids, averages)
    comms = _communications(customer_ids, today)
    moves = _last_stage_moves(deal_ids)
    billing = _billing(rows, viewer)
    ranked = []
    for row in rows:
        linked_open = (row["deal_id"] is not None and row["deal_outcome"] is None and row["deal_archived_at"] is None)
        customer_id = row["customer_id"]
        if linked_open:
            ratio = _ratio(row["deal_value_cents"], row["deal_currency"], averages)
            probability, stage_label, deal_title = row["deal_probability"], row["stage_label"], row["deal_title"]
            moved = max((m for m in (moves.get(row["deal_id"]), row["deal_created_at"]) if m is not None), default=None)
        elif customer_id in best:
            (ratio, probability), stage_label, deal_title, moved = best[customer_id], "best open deal", None, None
        else:
            ratio = probability = stage_label = deal_title = moved = None
        recent, last_comm = comms.get(customer_id, (0, None))
        contacts = [d for d in (_days(today, last_comm), _days(today, row["last_contacted_at"])) if d is not None]
        facts = priority.Facts(
            today=today, activity_type=row["type"], due_date=row["due_date"], has_customer=customer_id is not None,
            lifecycle_stage=(row["lifecycle_stage"] or "prospect") if customer_id is not None else None,
            health_score=row["health_score"], deal_title=deal_title, deal_linked=linked_open, value_ratio=ratio,
            probability=probability, stage_label=stage_label, days_since_stage_move=_days(today, moved),
            communications_14d=recent, days_since_contact=min(contacts) if contacts else None,
            billing=(billing or {}).get(customer_id) if billing is not None else None)
        ranked.append(_row(row, priority.rank(facts)))
    return ranked


def _row(row: dict, ranking: priority.Ranking) -> dict:
    return {
        "activity": {k: row[k] for k in ("id", "type", "title", "description", "due_date", "owner_id", "contact_id",
                                         "customer_id", "deal_id", "completed_at", "created_at")}
        | {"subject": row["title"]},
        "priority": {"score": ranking.score, "fit": ranking.fit, "intent": ranking.intent},
        "signals": [{"label": s.label, "effect": s.effect} for s in ranking.signals],
        "next_best_action": ranking.next_best_action,
        "sequence": {"eligible": ranking.eligible, "blockers": ranking.blockers},
        "context": {"customer_name": None, "contact_name": None, "deal_title": row["deal_title"],
                    "stage_label": row["stage_label"], "owner_name": row.get("owner_name")},
    }


def _by_rank(row: dict):
    due = row["activity"]["due_date"]
    return (-row["priority"]["score"], due is None, due or date.min, row["activity"]["id"])


def _ranked(where: list, viewer, limit: int, offset: int) -> tuple[list[dict], int]:
    """All candidates matching ``where`` ranked, highest first; one page of them."""
    rows = with_owner_names([dict(r) for r in session.execute(_candidates().where(*where)).mappings()])
    ranked = rank_rows(rows, customer_ids=[r["customer_id"] for r in rows],
                       deal_ids=[r["deal_id"] for r in rows], viewer=viewer)
    ranked.sort(key=_by_rank)
    return _with_link_names(ranked[offset:offset + limit]), len(ranked)


def queue(owner_id: int, *, viewer, limit: int, offset: int = 0) -> tuple[list[dict], int]:
    """``owner_id``'s open activities, ranked, highest score first (then earliest due)."""
    return _ranked([Activity.owner_id == owner_id, Activity.completed_at.is_(None)], viewer, limit, offset)


def overdue(owner_id: int, *, viewer, limit: int, offset: int = 0) -> tuple[list[dict], int]:
    """The exception queue: ``owner_id``'s open activities due before today, oldest first.
    Paged in SQL; only the page is ranked."""
    where = [Activity.owner_id == owner_id, Activity.completed_at.is_(None), Activity.due_date < utcnow().date()]
    total = session.scalar(select(func.count(Activity.id)).where(*where)) or 0
    rows = with_owner_names([dict(r) for r in session.execute(
        _candidates().where(*where).order_by(Activity.due_date, Activity.id).limit(limit).offset(offset)).mappings()])
    return _with_link_names(rank_rows(rows, customer_ids=[r["customer_id"] for r in rows],
                                      deal_ids=[r["deal_id"] for r in rows], viewer=viewer)), total


def for_customer(customer_id: int, *, viewer, limit: int = WORKSPACE_ROWS) -> tuple[list[dict], int]:
    """The customer workspace's ranked open activities (every owner)."""
    return _ranked([Activity.customer_id == customer_id, Activity.completed_at.is_(None)], viewer, limit, 0)


def for_deal(deal_id: int, *, viewer, limit: int = WORKSPACE_ROWS) -> tuple[list[dict], int]:
    """The deal page's ranked open activities (every owner)."""
    return _ranked([Activity.deal_id == deal_id, Activity.completed_at.is_(None)], viewer, limit, 0)


def recently_done(*, customer_id: int | None = None, deal_id: int | None = None, limit: int = 5) -> list[dict]:
    """The last completed activities of a customer or deal (so they can be reopened)."""
    where = [Activity.completed_at.is_not(None)]
    where.append(Activity.customer_id == customer_id if customer_id is not None else Activity.deal_id == deal_id)
    rows = session.execute(context_select().where(*where)
                           .order_by(Activity.completed_at.desc(), Activity.id.desc()).limit(limit)).mappings()
    return with_owner_names([dict(r) for r in rows])
