"""Customer lifecycle rules shared by every aggregate that touches a customer.

Deals call ``on_deal_saved`` / ``on_deal_won`` inside their transaction; contacts, deals,
activities and communications call ``ensure_customer_open`` before linking a new record."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import signals
from ..db import session
from ..errors import Conflict
from ..models import CustomerProfile
from . import audit


def profile_for(customer_id: int) -> CustomerProfile | None:
    return session.scalar(select(CustomerProfile).where(CustomerProfile.customer_id == customer_id))


def get_or_create_profile(customer_id: int, owner_id: int | None = None) -> CustomerProfile:
    """The CRM account row of a host customer; created on first use (a host may create
    PortalCustomers without the CRM)."""
    profile = profile_for(customer_id)
    if profile is not None:
        return profile
    try:  # two requests may create it at once: the loser re-reads the winner's row
        with session.begin_nested():
            profile = CustomerProfile(customer_id=customer_id, owner_id=owner_id)
            session.add(profile)
            session.flush()
    except IntegrityError:
        profile = profile_for(customer_id)
        if profile is None:
            raise
    return profile


def ensure_customer_open(customer_id: int | None, what: str = "new records") -> None:
    """Archived customers keep their history but accept nothing new (409)."""
    if customer_id is None:
        return
    profile = profile_for(customer_id)
    if profile is not None and profile.archived_at is not None:
        raise Conflict(f"This customer is archived and accepts no {what}.")


def change_stage(profile: CustomerProfile, new_stage: str, *, actor_id: int | None, reason: str) -> bool:
    """Move ``profile`` to ``new_stage`` with an audit entry and a signal after commit."""
    old_stage = profile.lifecycle_stage
    if old_stage == new_stage:
        return False
    profile.lifecycle_stage = new_stage
    audit.record("customer", profile.customer_id, "lifecycle_changed", actor_id=actor_id,
                 changes={"lifecycle_stage": [old_stage, new_stage]}, reason=reason)
    signals.send_after_commit(session, signals.customer_lifecycle_changed, profile,
                              old_stage=old_stage, new_stage=new_stage)
    return True


def on_deal_saved(deal, *, actor_id: int | None) -> None:
    """A deal with value > 0 qualifies a prospect."""
    if deal.customer_id is None or not deal.value_cents or deal.value_cents <= 0:
        return
    profile = get_or_create_profile(deal.customer_id, owner_id=actor_id)
    if profile.lifecycle_stage == "prospect":
        change_stage(profile, "qualified", actor_id=actor_id,
                     reason=f"deal #{deal.id} '{deal.title}' has a value")


def on_deal_won(deal, *, actor_id: int | None) -> None:
    """A won deal makes the account a customer."""
    if deal.customer_id is None:
        return
    profile = get_or_create_profile(deal.customer_id, owner_id=actor_id)
    if profile.lifecycle_stage != "customer":
        change_stage(profile, "customer", actor_id=actor_id, reason=f"deal #{deal.id} '{deal.title}' was won")
