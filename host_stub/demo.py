"""``flask demo``: a demo tenant with an admin, a staff and a vendor login, plus each plugin's
sample data."""
from flask import current_app
from sqlalchemy import func, select

from .features import get_or_create_tenant, set_feature
from .models import Invoice, PortalCustomer, Subscription, User, db

DEMO_USERS = [
    ("admin@example.com", "admin", "ADMIN", "Ada Admin", ["crm.delete", "billing.view"]),
    ("sales@example.com", "sales", "ADMIN", "Sam Seller", []),
    ("staff@example.com", "staff", "STAFF", "Stella Staff", []),
    ("vendor@example.com", "vendor", "VENDOR", "Victor Vendor", []),
]


def build_demo() -> list[str]:
    tenant = get_or_create_tenant("default", current_app.config["PORTAL_DEFAULT_FEATURES"])
    set_feature(tenant, "crm", True)
    admin = None
    for email, password, role, name, grants in DEMO_USERS:
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            user = User(email=email, tenant_id=tenant.id, name=name, role=role, permissions=grants)
            user.set_password(password)
            db.session.add(user)
        admin = admin or user
    db.session.commit()
    lines = [f"tenant {tenant.name}: log in at /login as admin@example.com / admin"]
    for result in current_app.extensions["host_stub"].plugin_manager.hook.platform_seed_demo(
            tenant_id=tenant.id, admin_id=admin.id):
        lines.extend(result or [])
    lines.extend(_seed_billing(tenant.id))
    lines.extend(_capture_demo_mail(tenant.id))
    return lines


def _capture_demo_mail(tenant_id: int) -> list[str]:
    """A few mails through the mail-drop, so the CRM shows captured mail, a thread and the review
    queue (a repeat run captures nothing new: message ids are stored once)."""
    from pathlib import Path

    from .maildrop import drop

    counts = drop(tenant_id, Path(__file__).parent / "demo_mail")
    return [f"mail: {counts['linked']} captured and linked, {counts['review']} waiting for review"]


# Billing for a few demo companies, so the CRM workspace's billing panels have something to show:
# (product key, plan key, currency, payments received in cents).
DEMO_BILLING = {
    "Northwind Traders": [("meridian", "pro", "USD", [149_00, 149_00])],
    "Litware Labs": [("meridian", "trial", "USD", []), ("rmm", "team", "EUR", [110_00])],
}


def _seed_billing(tenant_id: int) -> list[str]:
    from . import billing
    from .models import BillingEvent, Payment, Plan, Product

    added = 0
    for name, subscriptions in DEMO_BILLING.items():
        customer = db.session.scalar(select(PortalCustomer).where(
            PortalCustomer.tenant_id == tenant_id, func.lower(PortalCustomer.name) == name.lower()))
        if customer is None or db.session.scalar(select(Subscription.id).where(
                Subscription.customer_id == customer.id).limit(1)):
            continue
        for product_key, plan_key, currency, payments in subscriptions:
            product = db.session.scalar(select(Product).where(Product.key == product_key))
            plan = db.session.scalar(select(Plan).where(Plan.product_id == product.id, Plan.key == plan_key))
            result = billing.subscribe(tenant_id, customer.id, product_id=product.id, plan_id=plan.id,
                                       currency=currency, source="demo")
            invoice = db.session.scalar(select(Invoice).where(Invoice.number == f"INV-{result['id']:06d}",
                                                              Invoice.tenant_id == tenant_id))
            for cents in payments:
                db.session.add(Payment(tenant_id=tenant_id, customer_id=customer.id, amount_cents=cents,
                                       currency=currency, invoice_id=invoice.id if invoice else None))
                db.session.add(BillingEvent(tenant_id=tenant_id, customer_id=customer.id, kind="payment_received",
                                            subscription_id=result["id"],
                                            summary=f"Payment of {cents / 100:.2f} {currency} received"))
            if invoice is not None and payments:
                invoice.status = "paid"
        added += 1
    db.session.commit()
    return [f"billing: subscriptions for {added} demo customers"] if added else []
