"""Demo data: customers (flask demo). Safe to run twice: a customer that exists is left alone."""
from datetime import timedelta

from .. import host
from ..db import commit, session, utcnow
from ..models import Communication
from ..services import lifecycle
from ..services.customers import create_customer

# name, lifecycle stage, health, lead source, billing email, days since last contact (None: never)
DEMO_CUSTOMERS = [
    ("Northwind Traders", "customer", 82, "referral", "ap@northwind.example", 2),
    ("Contoso Pharma", "customer", 24, "trade fair", "billing@contoso.example", 40),
    ("Fabrikam Logistics", "qualified", 61, "website", None, 5),
    ("Tailspin Toys", "prospect", None, "cold call", None, None),
    ("Wide World Importers", "churned", 8, "partner", "finance@wwi.example", 95),
    ("Litware Labs", "customer", 17, "website", "accounts@litware.example", 12),
    ("Adventure Works", "qualified", 45, "webinar", None, 1),
    ("Proseware GmbH", "prospect", None, "website", None, None),
]


def seed(admin_id: int) -> list[str]:
    made = 0
    for name, stage, health, source, email, days in DEMO_CUSTOMERS:
        existing = host.customer_by_name(name)
        if existing is not None and lifecycle.profile_for(existing.id) is not None:
            continue
        if existing is None:
            customer_id = create_customer({"name": name, "lifecycle_stage": stage, "lead_source": source,
                                           "billing_email": email}, actor_id=admin_id)["id"]
        else:  # a company another demo area created (e.g. from a contact): give it its account data
            customer_id = existing.id
            profile = lifecycle.get_or_create_profile(customer_id, owner_id=admin_id)
            profile.lead_source, profile.billing_email = source, email
            lifecycle.change_stage(profile, stage, actor_id=admin_id, reason="demo data")
        profile = lifecycle.profile_for(customer_id)
        profile.health_score = health
        if days is not None:
            when = utcnow() - timedelta(days=days)
            session.add(Communication(customer_id=customer_id, subject=f"Check-in with {name}",
                                      summary="Reviewed open questions and next steps.", channel="phone",
                                      logged_by_id=admin_id, occurred_at=when))
            profile.last_contacted_at = when
        made += 1
    commit()
    return [f"customers: {made} demo accounts added"] if made else []
