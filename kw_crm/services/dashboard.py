"""The CRM dashboard: a handful of aggregate queries, whatever the tenant's size.

Archived customers are left out of customer totals and communications; archived deals (and
deals of archived customers) are left out of pipeline metrics. Money is summed per currency;
the contract's single-number keys carry the default currency's figure."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, case, func, literal, select

from .. import host
from ..db import session, utcnow
from ..models import LIFECYCLE_STAGES, Communication, CustomerProfile, Deal, Stage
from ..tenancy import require_tenant_id

CHURN_RISK_BELOW = 30
CHURN_PANEL_SIZE = 20
RECENT_DAYS = 7


def _active_customers():
    """(Customer, statement FROM customers LEFT JOIN profiles WHERE not archived)."""
    Customer = host.customer_model()
    tenant_id = require_tenant_id()
    return Customer, (lambda *cols: select(*cols).select_from(Customer)
                      .outerjoin(CustomerProfile, and_(CustomerProfile.customer_id == Customer.id,
                                                       CustomerProfile.tenant_id == tenant_id))
                      .where(Customer.tenant_id == tenant_id, CustomerProfile.archived_at.is_(None)))


def weighted_cents(value_times_probability: int) -> int:
    """Sum of value x probability% in whole cents, rounded half up."""
    return (int(value_times_probability) + 50) // 100


def summary() -> dict:
    Customer, active = _active_customers()
    stage = func.coalesce(CustomerProfile.lifecycle_stage, literal("prospect"))
    by_stage = {s: 0 for s in LIFECYCLE_STAGES}
    at_risk = 0
    for key, count, risky in session.execute(active(
            stage, func.count(), func.sum(case((CustomerProfile.health_score < CHURN_RISK_BELOW, 1), else_=0)))
            .group_by(stage)):
        by_stage[key] = by_stage.get(key, 0) + count
        at_risk += int(risky or 0)

    tenant_id = require_tenant_id()

    def with_profile(stmt, customer_id_column):
        """Anti-join on archived customers (LEFT JOIN ... IS NULL plans well on both databases)."""
        return stmt.outerjoin(CustomerProfile, and_(CustomerProfile.customer_id == customer_id_column,
                                                    CustomerProfile.tenant_id == tenant_id)) \
            .where(CustomerProfile.archived_at.is_(None))

    pipeline = session.execute(with_profile(
        select(Deal.currency, func.count(), func.sum(Deal.value_cents), func.sum(Deal.value_cents * Stage.probability))
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Stage.outcome.is_(None), Deal.archived_at.is_(None)), Deal.customer_id)
        .group_by(Deal.currency)).all()
    value_by_currency = {cur: int(total or 0) for cur, _, total, _ in pipeline}
    weighted_by_currency = {cur: weighted_cents(w or 0) for cur, _, _, w in pipeline}
    default = current_app.config["CRM_DEFAULT_CURRENCY"]

    since = utcnow() - timedelta(days=RECENT_DAYS)
    recent = session.scalar(with_profile(
        select(func.count()).select_from(Communication).where(Communication.occurred_at >= since,
                                                              Communication.customer_id.is_not(None)),
        Communication.customer_id))

    return {
        "total_customers": sum(by_stage.values()),
        "by_lifecycle_stage": by_stage,
        "at_churn_risk": at_risk,
        "pipeline_value_cents": value_by_currency.get(default, 0),
        "weighted_pipeline_value_cents": weighted_by_currency.get(default, 0),
        "pipeline_value_cents_by_currency": value_by_currency,
        "weighted_pipeline_value_cents_by_currency": weighted_by_currency,
        "currency": default,
        "active_deals": sum(count for _, count, _, _ in pipeline),
        "recent_communications": recent,
        "churn_risk": churn_risk_panel(),
    }


def churn_risk_panel() -> list[dict]:
    """Up to 20 active customers with health < 30, most critical first, with their owner."""
    Customer, active = _active_customers()
    User = host.user_model()
    rows = session.execute(active(
        Customer.id, Customer.name, CustomerProfile.health_score,
        func.coalesce(CustomerProfile.lifecycle_stage, literal("prospect")).label("lifecycle_stage"),
        CustomerProfile.owner_id, User.name.label("owner_name"), CustomerProfile.last_contacted_at)
        .outerjoin(User, User.id == CustomerProfile.owner_id)
        .where(CustomerProfile.health_score < CHURN_RISK_BELOW)
        .order_by(CustomerProfile.health_score, func.lower(Customer.name), Customer.id)
        .limit(CHURN_PANEL_SIZE)).mappings().all()
    return [dict(r) for r in rows]
