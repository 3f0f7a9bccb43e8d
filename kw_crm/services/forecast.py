"""The forecast (contract 8.3): open and weighted pipeline per currency and per owner, overdue
deals, pipeline aging and the day-level won/lost trend.

Everything is counted by the database in a constant number of queries, whatever the number of
deals: the tenant's stages, its users (names and the owner filter), one GROUP BY over open deals
(owner x currency, with value, weighted value, overdue and stale counts and the aging buckets
summed in SQL), one GROUP BY over deals closed in the window (day x outcome x currency), and the first page
of overdue deals. Python only rolls those few hundred grouped rows up and fills the days without
closed deals with zeros; it never sees a deal of the aggregates.

To give the same answers on SQLite and PostgreSQL no date arithmetic and no division run in
SQL: day boundaries are computed here and bound as parameters (UTC calendar days), and the
weighted value is summed as ``value_cents * probability`` and rounded half up here.

Archived deals are left out everywhere, as on the dashboard. Money is never summed across
currencies: every money figure carries its currency."""
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, case, func, literal, or_, select

from .. import host
from ..db import is_valid_id, session, utcnow
from ..errors import Invalid
from ..models import Deal, Stage
from . import stages as stage_service
from .dashboard import weighted_cents

WINDOWS = (30, 90, 180, 365)
DEFAULT_WINDOW = 90
BUCKETS = ("0-30", "31-60", "61-90", "90+")
OVERDUE_PAGE = 50


def _unknown_owner(raw) -> Invalid:
    return Invalid({"owner_id": [f"No user {raw!r} in this tenant."]})


def parse_args(args) -> dict:
    """``owner_id`` and ``window`` from a query string; 422 naming the field otherwise. Whether
    the owner is a user of this tenant is checked by :func:`report`, against the users it reads
    anyway (a user of another tenant is as unknown as none)."""
    errors, owner_id, window = {}, None, DEFAULT_WINDOW
    raw_window = (args.get("window") or "").strip()
    if raw_window:
        if raw_window.isdigit() and len(raw_window) <= 4 and int(raw_window) in WINDOWS:
            window = int(raw_window)
        else:
            errors["window"] = [f"The window must be one of {', '.join(map(str, WINDOWS))} days."]
    raw_owner = (args.get("owner_id") or "").strip()
    if raw_owner:
        owner_id = int(raw_owner) if raw_owner.isdigit() and len(raw_owner) <= 10 else None
        if not is_valid_id(owner_id):
            errors.update(_unknown_owner(raw_owner).fields)
    if errors:
        raise Invalid(errors)
    return {"owner_id": owner_id, "window": window}


def in_stage_since():
    """When the deal entered its stage (its creation for a row written around the ORM)."""
    return func.coalesce(Deal.stage_changed_at, Deal.created_at)


def stale_condition(stages: list[Stage], now: datetime):
    """SQL truth of "this deal sat in its open stage longer than the stage allows", or ``None``
    when no stage has a threshold. Cut-offs are computed here, per stage, and bound."""
    limits = [and_(Deal.stage_id == s.id, in_stage_since() < now - timedelta(days=s.stale_after_days))
              for s in stages if s.outcome is None and s.stale_after_days]
    return or_(*limits) if limits else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def _as_date(value) -> date:
    """``date(closed_at)`` is a date on PostgreSQL and an ISO string on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def report(*, owner_id: int | None = None, window: int = DEFAULT_WINDOW, now: datetime | None = None) -> dict:
    now = now or utcnow()
    today = now.date()
    stages = stage_service.list_stages()
    User = host.user_model()
    users = session.execute(host.tenant_users().with_only_columns(User.id, User.name)
                            .order_by(User.name, User.id)).all()
    names = {uid: name for uid, name in users}
    if owner_id is not None and owner_id not in names:
        raise _unknown_owner(str(owner_id))
    owner_filter = [Deal.owner_id == owner_id] if owner_id is not None else []

    # --- open deals: owner x currency, one scan; the aging buckets are conditional sums -------
    # Grouping by owner and currency only (a few dozen groups the planner can estimate from
    # column statistics) keeps PostgreSQL on a hash aggregate; grouping by a CASE over bound
    # cut-offs made it guess one group per row and sort the whole tenant on disk.
    cuts = [_midnight(today - timedelta(days=days)) for days in (30, 60, 90)]
    in_bucket = [Deal.created_at >= cuts[0]] + [and_(Deal.created_at >= cuts[i], Deal.created_at < cuts[i - 1])
                                                for i in (1, 2)]
    stale = stale_condition(stages, now)

    def count_if(condition, value=1):
        return func.sum(case((condition, value), else_=0))

    open_rows = session.execute(
        select(Deal.owner_id, Deal.currency, func.count(), func.sum(Deal.value_cents),
               func.sum(Deal.value_cents * Stage.probability), count_if(Deal.expected_close_date < today),
               count_if(stale) if stale is not None else literal(0),
               *(count_if(condition) for condition in in_bucket),
               *(count_if(condition, Deal.value_cents) for condition in in_bucket))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Stage.outcome.is_(None), Deal.archived_at.is_(None), *owner_filter)
        .group_by(Deal.owner_id, Deal.currency)).all()

    summary, by_owner, aging = {}, {}, {}
    for owner, currency, count, value, weighted, overdue_n, stale_n, *per_bucket in open_rows:
        value, weighted, overdue_n, stale_n = int(value or 0), int(weighted or 0), int(overdue_n or 0), int(stale_n or 0)
        for key, target in ((currency, summary), ((owner, currency), by_owner)):
            row = target.setdefault(key, {"open_count": 0, "open_value_cents": 0, "weighted": 0,
                                          "overdue_count": 0, "stale_count": 0})
            row["open_count"] += count
            row["open_value_cents"] += value
            row["weighted"] += weighted
            row["overdue_count"] += overdue_n
            row["stale_count"] += stale_n
        counts = [int(n or 0) for n in per_bucket[:3]]
        values = [int(v or 0) for v in per_bucket[3:]]
        counts.append(count - sum(counts))  # 90+: everything older (or undated)
        values.append(value - sum(values))
        for bucket_key, bucket_count, bucket_value in zip(BUCKETS, counts, values, strict=True):
            cell = aging.setdefault((bucket_key, currency), {"count": 0, "value_cents": 0})
            cell["count"] += bucket_count
            cell["value_cents"] += bucket_value

    # --- closed deals of the window: day x outcome x currency --------------------------------
    first_day = today - timedelta(days=window - 1)
    day = func.date(Deal.closed_at)
    closed_rows = session.execute(
        select(day.label("day"), Stage.outcome, Deal.currency, func.count(), func.sum(Deal.value_cents))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Stage.outcome.is_not(None), Deal.archived_at.is_(None), Deal.closed_at >= _midnight(first_day),
               Deal.closed_at < _midnight(today + timedelta(days=1)), *owner_filter)
        .group_by(day, Stage.outcome, Deal.currency)).all()
    trend = {first_day + timedelta(days=i): {"won_count": 0, "lost_count": 0, "won_value_cents_by_currency": {},
                                             "lost_value_cents_by_currency": {}} for i in range(window)}
    for day_value, outcome, currency, count, value in closed_rows:
        row = trend.get(_as_date(day_value))
        if row is None:
            continue
        row[f"{outcome}_count"] += count
        money = row[f"{outcome}_value_cents_by_currency"]
        money[currency] = money.get(currency, 0) + int(value or 0)

    # --- the overdue deals themselves, most overdue first ------------------------------------
    overdue_deals = session.execute(
        select(Deal.id, Deal.title, Deal.value_cents, Deal.currency, Deal.expected_close_date, Deal.owner_id,
               Stage.key.label("stage"), Stage.label.label("stage_label"))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Stage.outcome.is_(None), Deal.archived_at.is_(None), Deal.expected_close_date < today, *owner_filter)
        .order_by(Deal.expected_close_date, Deal.id).limit(OVERDUE_PAGE)).mappings().all()

    currencies = sorted(summary)
    return {
        "window": window,
        "owner_id": owner_id,
        "today": today.isoformat(),
        "currencies": currencies,
        "summary": [{"currency": cur, "open_count": row["open_count"], "open_value_cents": row["open_value_cents"],
                     "weighted_value_cents": weighted_cents(row["weighted"]), "overdue_count": row["overdue_count"],
                     "stale_count": row["stale_count"]} for cur, row in sorted(summary.items())],
        "by_owner": sorted(
            ({"owner_id": owner, "owner_name": names.get(owner) if owner is not None else None, "currency": cur,
              "open_count": row["open_count"], "open_value_cents": row["open_value_cents"],
              "weighted_value_cents": weighted_cents(row["weighted"]), "overdue_count": row["overdue_count"],
              "stale_count": row["stale_count"]} for (owner, cur), row in by_owner.items()),
            key=lambda r: (r["currency"], -r["open_value_cents"], r["owner_name"] or "\uffff", r["owner_id"] or 0)),
        "overdue": {
            "total": sum(row["overdue_count"] for row in summary.values()),
            "deals": [{**dict(d), "expected_close_date": d["expected_close_date"].isoformat(),
                       "days_overdue": (today - d["expected_close_date"]).days,
                       "owner_name": names.get(d["owner_id"])} for d in overdue_deals],
        },
        "stale": {"total": sum(row["stale_count"] for row in summary.values())},
        "aging": [{"bucket": b, "currency": cur, **aging.get((b, cur), {"count": 0, "value_cents": 0})}
                  for cur in currencies for b in BUCKETS],
        "trend": [{"date": d.isoformat(), **row} for d, row in trend.items()],
        "owners": [{"id": uid, "name": name} for uid, name in users],
    }
