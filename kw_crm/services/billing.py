"""The customer workspace's finance context (seed 004): one card per current product contract
with the snapshot stored at conversion, payment activity and billing events from the host, and
product identity on deal rows. Everything is read from the host's optional billing hooks; a host
without them gets no billing sections."""
from sqlalchemy import select

from .. import host
from ..db import session
from ..models import Deal
from . import products

CURRENT = ("active", "trial")


def workspace_sections(customer_id: int, deal_rows: list[dict], limit: int) -> dict:
    """Billing sections of the workspace in a constant number of queries; adds ``product_name``
    to ``deal_rows`` in place."""
    names = products.names()
    for row in deal_rows:
        row["product_name"] = names.get(row.get("product_id"))
    summary = host.customer_billing_summary(customer_id)
    current = [s for s in (summary or {}).get("subscriptions", []) if s.get("status") in CURRENT]
    # always one query (even for none), so the page's query count does not depend on the data
    snapshots = {sub_id: (deal_id, snapshot) for deal_id, sub_id, snapshot in session.execute(
        select(Deal.id, Deal.subscription_id, Deal.contract_snapshot).where(
            Deal.customer_id == customer_id, Deal.subscription_id.in_([s["id"] for s in current])))}
    contracts = [{"subscription": s, "deal_id": snapshots.get(s["id"], (None, None))[0],
                  "contract_snapshot": snapshots.get(s["id"], (None, None))[1]} for s in current]
    return {"billing": summary, "contracts": contracts,
            "billing_activity": host.customer_billing_activity(customer_id, limit)}
