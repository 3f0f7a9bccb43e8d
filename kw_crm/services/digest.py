"""The daily activity digest: one mail per owner per day listing their overdue activities and
those due today, queued through the outbox (dedupe key per tenant, owner and day, so running
the command twice - or on two machines - sends one mail).

Run by ``flask crm digest`` (every tenant with the CRM on, e.g. from cron each morning) or as the
job kind ``activity_digest`` that a host's scheduler enqueues per tenant (:func:`schedule`).
Reading is three queries whatever the number of owners (activities, their customers' names, the
owners); the mails themselves are ``mail`` jobs, sent after commit and retried."""
from collections import defaultdict
from datetime import date

from sqlalchemy import select

from .. import FEATURE, host, jobs
from ..db import session, utcnow
from ..models import Activity
from ..tenancy import ALL_TENANTS, tenant_scope
from . import outbox

MAX_LINES = 50


def dedupe_key(tenant_id: int, owner_id: int, day: date) -> str:
    return f"activity-digest:{tenant_id}:{owner_id}:{day.isoformat()}"


def _line(row, day: date, customers: dict) -> str:
    late = (day - row.due_date).days
    where = f" - {customers[row.customer_id]}" if row.customer_id in customers else ""
    when = f"{late} day{'s' if late != 1 else ''} overdue" if late > 0 else "due today"
    return f"- [{row.due_date.isoformat()}] {row.type}: {row.title}{where} ({when})"


def _body(name: str, rows: list, day: date, customers: dict) -> str:
    overdue = [r for r in rows if r.due_date < day]
    today = [r for r in rows if r.due_date == day]
    parts = [f"Hello {name},", "", f"Your CRM activities for {day.isoformat()}:"]
    for title, group in ((f"Overdue ({len(overdue)})", overdue), (f"Due today ({len(today)})", today)):
        if group:
            parts += ["", title + ":"] + [_line(r, day, customers) for r in group[:MAX_LINES]]
            if len(group) > MAX_LINES:
                parts.append(f"... and {len(group) - MAX_LINES} more")
    parts += ["", "Your ranked queue: CRM > Activities (/crm/activities)."]
    return "\n".join(parts)


def queue_digests(day: date | None = None, *, tenant_id: int | None = None, commit: bool = True) -> dict:
    """Queue today's digests (of one tenant, or of every tenant with the CRM on); returns
    ``{"queued", "skipped"}`` (skipped: already queued today, or the owner cannot get mail).
    ``commit=False`` leaves the commit to the caller (the job path commits with the job)."""
    day = day or utcnow().date()
    stmt = (select(Activity.tenant_id, Activity.owner_id, Activity.id, Activity.type, Activity.title,
                   Activity.due_date, Activity.customer_id)
            .where(Activity.completed_at.is_(None), Activity.due_date <= day, Activity.owner_id.is_not(None))
            .order_by(Activity.tenant_id, Activity.owner_id, Activity.due_date, Activity.id))
    if tenant_id is not None:
        stmt = stmt.where(Activity.tenant_id == tenant_id)
    rows = session.execute(stmt.execution_options(**ALL_TENANTS)).all()
    by_owner = defaultdict(list)
    for row in rows:
        by_owner[(row.tenant_id, row.owner_id)].append(row)
    Customer, User = host.customer_model(), host.user_model()
    customer_ids = {r.customer_id for r in rows if r.customer_id is not None}
    customers = dict(session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids)))
                     .all()) if customer_ids else {}
    owner_ids = {owner for _, owner in by_owner}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(owner_ids)))} if owner_ids else {}
    counts = {"queued": 0, "skipped": 0}
    enabled: dict[int, bool] = {}
    for (tid, owner_id), items in by_owner.items():
        user = users.get(owner_id)
        if tid not in enabled:
            enabled[tid] = host.feature_enabled(tid, FEATURE)
        if not enabled[tid] or user is None or user.tenant_id != tid or not user.active or not user.email:
            counts["skipped"] += 1
            continue
        overdue = sum(1 for r in items if r.due_date < day)
        subject = (f"CRM: {overdue} overdue, {len(items) - overdue} due today"
                   if overdue else f"CRM: {len(items)} activit{'y' if len(items) == 1 else 'ies'} due today")
        with tenant_scope(tid):
            queued = outbox.queue_mail(user.email, subject, _body(user.name or user.email, items, day, customers),
                                       dedupe_key(tid, owner_id, day))
            session.flush()
        counts["queued" if queued is not None else "skipped"] += 1
    if commit:
        session.commit()
    return counts


@jobs.job("activity_digest", max_attempts=3)
def _digest_job(payload: dict, _job) -> None:
    """The bound tenant's digests for ``payload["day"]`` (ISO date; default today, UTC)."""
    from ..tenancy import require_tenant_id

    day = date.fromisoformat(payload["day"]) if payload.get("day") else None
    queue_digests(day, tenant_id=require_tenant_id(), commit=False)


def schedule(day: date | None = None):
    """Enqueue the bound tenant's digest run for ``day`` as a job (at most one per tenant and
    day): what a host's daily scheduler calls with each tenant bound."""
    from ..tenancy import require_tenant_id

    day = day or utcnow().date()
    return jobs.enqueue("activity_digest", {"day": day.isoformat()},
                        dedupe_key=f"activity-digest-run:{require_tenant_id()}:{day.isoformat()}")
