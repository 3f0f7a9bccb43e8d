"""Converting a deal into a subscription (seed 004, contract 8.4), all or nothing.

One call: the host creates the product-scoped subscription (a trial for trial plans), the deal
stores a snapshot of the sold plan, closes as won through the one stage-change function (audit,
automation run, WON mail, customer -> ``customer``) and ``product_contract_changed`` goes out
after commit. The host writes into the shared session inside a SAVEPOINT; if it raises half-way,
or anything after it fails, the whole transaction is rolled back, so no subscription, invoice,
snapshot or stage change survives."""
import logging

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .. import host, signals
from ..db import commit, session, utcnow
from ..errors import Conflict, CrmError, Invalid
from ..timestamps import iso_timestamp
from . import audit, products
from . import stages as stage_service
from .deals import _enter_stage, _races_are_conflicts, get, is_closed

log = logging.getLogger("kw_crm.conversion")


class HostFailed(CrmError):
    """The host's billing failed for a reason of its own; nothing was changed."""

    status, code = 502, "host_error"


def _refusals(deal) -> None:
    if deal.converted_at is not None:
        raise Conflict(f"This deal was converted already (subscription #{deal.subscription_id}).")
    if deal.archived_at is not None:
        raise Conflict("Archived deals cannot be converted.")
    if is_closed(deal):
        raise Conflict(f"Closed deals cannot be converted (this one is {deal.stage.outcome}); "
                       "only an open deal becomes a subscription.")
    if deal.customer_id is None:
        raise Conflict("A deal needs a customer before it can be converted into a subscription.")
    if products.catalogue() is None or not host.offers_subscriptions():
        raise Conflict("This platform has no billing: deals cannot be converted into subscriptions.")


def snapshot(product: dict, plan: dict, subscription: dict, currency: str) -> dict:
    """What was sold, frozen: later catalogue changes never rewrite a signed contract."""
    price = next((p["price_cents"] for p in plan.get("prices", []) if p["currency"] == currency),
                 subscription.get("price_cents", plan.get("price_cents")))
    return {
        "product_id": product["id"], "product_name": product["name"],
        "plan_id": plan["id"], "plan_name": plan["name"], "interval": plan.get("interval"),
        "trial": bool(plan.get("trial")), "trial_days": plan.get("trial_days"),
        "price_cents": subscription.get("price_cents", price), "currency": subscription.get("currency", currency),
        "subscription_id": subscription["id"], "subscription_status": subscription.get("status"),
        "trial_ends_at": subscription.get("trial_ends_at"), "converted_at": iso_timestamp(utcnow()),
    }


@_races_are_conflicts
def convert(deal_id: int, plan_id: int, *, actor_id: int | None) -> dict:
    deal = get(deal_id)
    _refusals(deal)
    product, plan = products.find_plan(plan_id)
    if plan is None:
        raise Invalid({"plan_id": f"No plan #{plan_id} in the catalogue."})
    if deal.product_id is not None and product["id"] != deal.product_id:
        deal_product = products.find_product(deal.product_id)
        raise Conflict(f"{plan['name']} is a plan of {product['name']}, but this deal sells "
                       f"{deal_product['name'] if deal_product else f'product #{deal.product_id}'}; "
                       "a deal converts only on a plan of its own product.")
    try:
        with session.begin_nested():
            subscription = host.create_subscription(deal.customer_id, product, plan, currency=deal.currency,
                                                    deal_id=deal.id)
            contract = snapshot(product, plan, subscription, deal.currency)
            deal.product_id, deal.plan_id = product["id"], plan["id"]
            deal.subscription_id, deal.converted_at, deal.contract_snapshot = subscription["id"], utcnow(), contract
            reason = f"converted to subscription #{subscription['id']} ({plan['name']})"
            _enter_stage(deal, stage_service.won_stage(), actor_id=actor_id, reason=reason)
            audit.record("deal", deal.id, "converted", actor_id=actor_id, reason=reason,
                         changes={"subscription_id": [None, subscription["id"]], "plan_id": [None, plan["id"]]})
            signals.send_after_commit(session, signals.product_contract_changed, deal,
                                      subscription=subscription, contract_snapshot=contract)
            session.flush()
    except ValueError as exc:  # a billing rule of the host (the customer has this product already)
        session.rollback()
        raise Conflict(f"Billing refused the subscription: {exc}.") from exc
    except (CrmError, StaleDataError, IntegrityError, OperationalError):
        session.rollback()
        raise  # a rule, or a concurrent change (409 through _races_are_conflicts, 503 when the database is busy)
    except Exception as exc:
        session.rollback()
        log.exception("conversion of deal %s failed in the host's billing; rolled back", deal_id)
        raise HostFailed("Billing failed while creating the subscription; nothing was changed. "
                         "Try again later.") from exc
    commit()
    return {"deal": deal, "subscription": subscription, "contract_snapshot": contract}
