"""host_stub's small billing system: the product catalogue, subscriptions, invoices, payments
and billing events. The CRM reaches it only through the hooks in ``crm_impl``."""
from datetime import timedelta

from sqlalchemy import exists, func, or_, select

from .models import BillingEvent, Invoice, Payment, Plan, PlanPrice, Product, Subscription, db, utcnow

CURRENT = ("active", "trial")


def catalogue() -> list[dict]:
    """Every product with its plans and prices, in three queries."""
    products = db.session.scalars(select(Product).order_by(Product.position, Product.id)).all()
    plans = db.session.scalars(select(Plan).order_by(Plan.position, Plan.id)).all()
    prices: dict[int, list[dict]] = {}
    for price in db.session.scalars(select(PlanPrice).order_by(PlanPrice.plan_id, PlanPrice.currency)):
        prices.setdefault(price.plan_id, []).append({"currency": price.currency, "price_cents": price.price_cents})
    by_product: dict[int, list[dict]] = {}
    for plan in plans:
        plan_prices = prices.get(plan.id, [])
        primary = next((p for p in plan_prices if p["currency"] == "USD"), plan_prices[0] if plan_prices else None)
        by_product.setdefault(plan.product_id, []).append({
            "id": plan.id, "name": plan.name, "trial": plan.trial, "trial_days": plan.trial_days,
            "interval": plan.interval, "price_cents": primary["price_cents"] if primary else 0,
            "currency": primary["currency"] if primary else "USD", "prices": plan_prices})
    return [{"id": p.id, "name": p.name, "plans": by_product.get(p.id, [])} for p in products]


def current_subscription(tenant_id: int, customer_id: int, product: Product) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(
        Subscription.tenant_id == tenant_id, Subscription.customer_id == customer_id,
        Subscription.status.in_(CURRENT),
        or_(Subscription.product_id == product.id, Subscription.product == product.name)).limit(1))


def subscribe(tenant_id: int, customer_id: int, *, product_id: int, plan_id: int, currency: str,
              source: str) -> dict:
    """Start a subscription (a trial for trial plans), issue the first invoice of a billed plan
    and record the billing events. Flushes, never commits: the caller owns the transaction."""
    plan = db.session.get(Plan, plan_id)
    product = db.session.get(Product, product_id)
    if plan is None or product is None or plan.product_id != product.id:
        raise ValueError("that plan is not sold for that product")
    existing = current_subscription(tenant_id, customer_id, product)
    if existing is not None:
        raise ValueError(f"the customer already has a {product.name} subscription (#{existing.id}, {existing.status})")
    price = db.session.get(PlanPrice, (plan.id, currency))
    if price is None:
        raise ValueError(f"{plan.name} has no price in {currency}")
    now = utcnow()
    sub = Subscription(tenant_id=tenant_id, customer_id=customer_id, product=product.name, plan=plan.name,
                       product_id=product.id, plan_id=plan.id, interval=plan.interval,
                       status="trial" if plan.trial else "active", amount_cents=price.price_cents,
                       currency=currency, started_at=now,
                       trial_ends_at=now + timedelta(days=plan.trial_days) if plan.trial else None)
    db.session.add(sub)
    db.session.flush()
    if plan.trial:
        _event(sub, "trial_started", f"{plan.name} trial until {sub.trial_ends_at:%Y-%m-%d} ({source})")
    else:
        _event(sub, "subscribed", f"Subscribed to {plan.name} ({source})")
        invoice = Invoice(tenant_id=tenant_id, customer_id=customer_id, number=f"INV-{sub.id:06d}",
                          amount_cents=price.price_cents, currency=currency, status="open", issued_at=now)
        db.session.add(invoice)
        _event(sub, "invoice_issued", f"Invoice INV-{sub.id:06d} issued for the first {plan.interval}")
    db.session.flush()
    return {"id": sub.id, "status": sub.status, "price_cents": sub.amount_cents, "currency": sub.currency,
            "trial_ends_at": sub.trial_ends_at.isoformat() if sub.trial_ends_at else None}


def _event(sub: Subscription, kind: str, summary: str) -> None:
    db.session.add(BillingEvent(tenant_id=sub.tenant_id, customer_id=sub.customer_id, subscription_id=sub.id,
                                kind=kind, summary=summary[:300]))


def summary(tenant_id: int, customer_id: int) -> dict:
    subs = db.session.scalars(select(Subscription).where(
        Subscription.tenant_id == tenant_id, Subscription.customer_id == customer_id)
        .order_by(Subscription.started_at.desc(), Subscription.id.desc())).all()
    invoices = db.session.scalars(select(Invoice).where(
        Invoice.tenant_id == tenant_id, Invoice.customer_id == customer_id)
        .order_by(Invoice.issued_at.desc(), Invoice.id.desc()).limit(10)).all()
    invoice_total = db.session.scalar(select(func.count(Invoice.id)).where(
        Invoice.tenant_id == tenant_id, Invoice.customer_id == customer_id))
    outstanding = db.session.execute(
        select(Invoice.currency, func.sum(Invoice.amount_cents))
        .where(Invoice.tenant_id == tenant_id, Invoice.customer_id == customer_id, Invoice.status == "open")
        .group_by(Invoice.currency).order_by(Invoice.currency)).all()
    return {
        "subscriptions": [{"id": s.id, "product": s.product, "plan": s.plan, "product_id": s.product_id,
                           "plan_id": s.plan_id, "status": s.status, "amount_cents": s.amount_cents,
                           "currency": s.currency, "interval": s.interval, "started_at": s.started_at.isoformat(),
                           "trial_ends_at": s.trial_ends_at.isoformat() if s.trial_ends_at else None}
                          for s in subs],
        "invoices": [{"id": i.id, "number": i.number, "amount_cents": i.amount_cents, "currency": i.currency,
                      "status": i.status, "issued_at": i.issued_at.isoformat()} for i in invoices],
        "invoice_total": invoice_total,
        "outstanding_ar_cents": {currency: int(total) for currency, total in outstanding},
    }


def activity(tenant_id: int, customer_id: int, limit: int) -> dict:
    mine = (Payment.tenant_id == tenant_id, Payment.customer_id == customer_id)
    payments = db.session.execute(
        select(Payment, Invoice.number).outerjoin(Invoice, Invoice.id == Payment.invoice_id).where(*mine)
        .order_by(Payment.received_at.desc(), Payment.id.desc()).limit(limit)).all()
    events = db.session.scalars(select(BillingEvent).where(
        BillingEvent.tenant_id == tenant_id, BillingEvent.customer_id == customer_id)
        .order_by(BillingEvent.occurred_at.desc(), BillingEvent.id.desc()).limit(limit)).all()
    payment_total, event_total = db.session.execute(select(
        select(func.count(Payment.id)).where(*mine).scalar_subquery(),
        select(func.count(BillingEvent.id)).where(BillingEvent.tenant_id == tenant_id,
                                                  BillingEvent.customer_id == customer_id).scalar_subquery())).one()
    return {
        "payments": {"total": payment_total, "items": [
            {"id": p.id, "amount_cents": p.amount_cents, "currency": p.currency, "method": p.method,
             "status": p.status, "received_at": p.received_at.isoformat(), "invoice_number": number}
            for p, number in payments]},
        "events": {"total": event_total, "items": [
            {"id": e.id, "kind": e.kind, "summary": e.summary, "occurred_at": e.occurred_at.isoformat()}
            for e in events]},
    }


def has_history(tenant_id: int, customer_id: int) -> bool:
    return bool(db.session.scalar(select(
        exists().where(Invoice.tenant_id == tenant_id, Invoice.customer_id == customer_id)
        | exists().where(Subscription.tenant_id == tenant_id, Subscription.customer_id == customer_id)
        | exists().where(Payment.tenant_id == tenant_id, Payment.customer_id == customer_id)
        | exists().where(BillingEvent.tenant_id == tenant_id, BillingEvent.customer_id == customer_id))))
