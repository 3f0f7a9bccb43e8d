"""Demo data: a working day of queue work (``flask demo``): one next step per open demo deal,
some overdue, some due today, some later, owned by the deal owners through the default chain.
Safe to run twice (it seeds only a tenant without deal-linked activities)."""
from datetime import date, timedelta

from sqlalchemy import select

from ..db import commit, session
from ..models import Activity, Deal, Stage
from ..services import activities

STEPS = [("call", "Call to confirm the decision date", -3), ("email", "Send the revised proposal", 0),
         ("meeting", "Demo for the operations team", 2), ("task", "Prepare the pricing sheet", 6),
         ("call", "Check in after the trial", -1), ("email", "Share the reference case", 20)]


def seed(admin_id: int) -> list[str]:
    if session.scalar(select(Activity.id).where(Activity.deal_id.is_not(None)).limit(1)) is not None:
        return ["activities: already seeded"]
    open_deals = session.scalars(select(Deal).join(Stage, Stage.id == Deal.stage_id)
                                 .where(Stage.outcome.is_(None), Deal.archived_at.is_(None)).order_by(Deal.id)).all()
    today = date.today()
    for index, deal in enumerate(open_deals):
        kind, title, days = STEPS[index % len(STEPS)]
        activities.create_activity(title=title, type=kind, due_date=today + timedelta(days=days), deal_id=deal.id,
                                   actor_id=admin_id, commit_now=False)
    commit()
    return [f"activities: {len(open_deals)} next steps on the open deals"]
