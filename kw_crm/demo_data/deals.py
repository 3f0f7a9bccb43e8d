"""Demo data: ~25 deals across the pipeline, some won and lost, in USD and EUR so the board
shows per-currency totals; linked to demo contacts when the contacts demo created some.
Safe to run twice (it seeds only a tenant without deals)."""
from datetime import date, timedelta

from sqlalchemy import select

from .. import host
from ..db import commit, session, utcnow
from ..models import Contact, Deal
from ..services import lifecycle, products, stages

# title, value in currency units, currency, stage key, days until expected close
DEALS = [
    ("Website relaunch", 12_500, "USD", "LEAD", 60), ("Fleet telematics pilot", 8_000, "USD", "LEAD", 75),
    ("Office network refresh", 23_400, "USD", "LEAD", 90), ("Berlin showroom fit-out", 41_000, "EUR", "LEAD", 120),
    ("Annual support renewal", 6_200, "USD", "QUALIFIED", 30), ("Data warehouse migration", 58_000, "USD", "QUALIFIED", 80),
    ("Lyon warehouse racking", 17_350, "EUR", "QUALIFIED", 45), ("Security audit", 9_900, "USD", "QUALIFIED", 40),
    ("CRM training days", 4_500, "USD", "PROPOSAL", 21), ("Solar roof, plant 2", 132_000, "EUR", "PROPOSAL", 50),
    ("POS terminals x40", 27_600, "USD", "PROPOSAL", 35), ("Mobile app phase 2", 46_750, "USD", "PROPOSAL", 28),
    ("HVAC maintenance contract", 15_000, "EUR", "NEGOTIATION", 14), ("Cloud backup 3 years", 21_000, "USD", "NEGOTIATION", 10),
    ("Label printers", 3_480, "USD", "NEGOTIATION", 7), ("ERP integration", 74_200, "USD", "NEGOTIATION", 20),
    ("Madrid office move", 38_900, "EUR", "NEGOTIATION", 25),
    ("Helpdesk outsourcing", 36_000, "USD", "WON", -10), ("Laptop refresh", 52_300, "USD", "WON", -25),
    ("Vienna kiosk rollout", 19_800, "EUR", "WON", -5), ("Website hosting 2y", 4_800, "USD", "WON", -40),
    ("Forklift leasing", 61_000, "USD", "LOST", -15), ("Trade fair stand", 12_000, "EUR", "LOST", -30),
    ("Custom ERP module", 88_000, "USD", "LOST", -8), ("Loyalty programme", 14_250, "USD", "LOST", -50),
]
CLOSED_REASONS = {"WON": "Signed after the pilot", "LOST": "Went with a cheaper offer"}


def seed(admin_id: int) -> list[str]:
    if session.scalar(select(Deal.id).limit(1)) is not None:
        return ["deals: already seeded"]
    by_key = {s.key: s for s in stages.list_stages()}
    User = host.user_model()
    owners = [u.id for u in session.scalars(host.tenant_users().where(User.role == "ADMIN", User.active.is_(True))
                                            .order_by(User.id))] or [admin_id]
    # Deals are sold to customers: vendors', partners' and contractors' companies get none (so
    # the directory never shows a supplier as a qualified customer).
    contacts = list(session.scalars(select(Contact).where(Contact.type == "customer").order_by(Contact.id)
                                    .limit(len(DEALS))))
    today = date.today()
    sold = [p["id"] for p in products.catalogue() or []]  # the host's products, when it sells any
    for index, (title, amount, currency, key, days) in enumerate(DEALS):
        contact = contacts[index % len(contacts)] if contacts and index % 4 != 3 else None
        stage = by_key.get(key) or stages.first_open_stage()
        closed = stage.outcome is not None
        deal = Deal(
            title=title, value_cents=amount * 100, currency=currency, stage=stage,
            expected_close_date=today + timedelta(days=days), owner_id=owners[index % len(owners)],
            contact_id=contact.id if contact else None, customer_id=contact.customer_id if contact else None,
            notes="Demo deal.", closed_at=utcnow() + timedelta(days=min(days, 0)) if closed else None,
            closed_reason=CLOSED_REASONS.get(key) if closed else None, created_by_id=admin_id,
            product_id=sold[index % len(sold)] if sold else None)
        session.add(deal)
        session.flush()
        # The accounts follow their deals, as they would have through the deal services.
        lifecycle.on_deal_saved(deal, actor_id=admin_id)
        if stage.outcome == "won":
            lifecycle.on_deal_won(deal, actor_id=admin_id)
    commit()
    return [f"deals: {len(DEALS)} deals in USD and EUR across {len(by_key)} stages"]
