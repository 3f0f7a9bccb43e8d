"""host_stub's implementation of the CRM extension interface (``kw_crm/hookspecs.py``).

It never imports kw_crm: the hook names are the contract."""
import pluggy
from flask import url_for
from flask_login import current_user
from sqlalchemy import exists, select

from . import billing, features
from .models import PortalCustomer, Project, Subscription, Tenant, Ticket, User, db

hookimpl = pluggy.HookimplMarker("kw_platform")


@hookimpl
def crm_current_user():
    return current_user._get_current_object() if current_user.is_authenticated else None


@hookimpl
def crm_current_tenant_id():
    return current_user.tenant_id if current_user.is_authenticated else None


@hookimpl
def crm_login_url(next_url):
    return url_for("host.login", next=next_url)


@hookimpl
def crm_tenant_id_by_name(name):
    return db.session.scalar(select(Tenant.id).where(Tenant.name == name))


@hookimpl
def crm_feature_enabled(tenant_id, name):
    return features.is_enabled(tenant_id, name)


@hookimpl
def crm_user_has_permission(user, permission):
    return permission in (user.permissions or [])


@hookimpl
def crm_user_model():
    return User


@hookimpl
def crm_customer_model():
    return PortalCustomer


@hookimpl
def crm_create_customer(tenant_id, name, fields):
    customer = PortalCustomer(tenant_id=tenant_id, name=name, email=(fields or {}).get("email"))
    db.session.add(customer)
    db.session.flush()
    return customer


@hookimpl
def crm_send_mail(to, subject, body, message_id):
    from flask import current_app

    current_app.extensions["host_stub"].mailer.send(to, subject, body, message_id=message_id)
    return True


@hookimpl
def crm_layout_template():
    return "host_stub/layout.html"


@hookimpl
def crm_contact_tabs(contact):
    """Projects and Tickets assigned to the contact (always shown, possibly empty)."""
    projects = db.session.execute(
        select(Project.name, Project.status)
        .where(Project.tenant_id == contact.tenant_id, Project.contact_id == contact.id)
        .order_by(Project.id.desc())
    ).all()
    return {"key": "projects", "label": "Projects", "columns": ["Project", "Status"],
            "rows": [list(r) for r in projects]}


@hookimpl
def crm_user_admin_url(user):
    return url_for("host.user_detail", user_id=user.id)


@hookimpl
def crm_customer_has_active_subscription(tenant_id, customer_id):
    return db.session.scalar(select(exists().where(
        Subscription.tenant_id == tenant_id, Subscription.customer_id == customer_id,
        Subscription.status.in_(("active", "trial")))))


@hookimpl
def crm_customer_has_finance_history(tenant_id, customer_id):
    return billing.has_history(tenant_id, customer_id)


@hookimpl
def crm_delete_customer(tenant_id, customer_id):
    customer = db.session.scalar(select(PortalCustomer).where(
        PortalCustomer.tenant_id == tenant_id, PortalCustomer.id == customer_id))
    if customer is None:
        return False
    db.session.delete(customer)
    db.session.flush()
    return True


@hookimpl
def crm_customer_billing_summary(tenant_id, customer_id):
    return billing.summary(tenant_id, customer_id)


@hookimpl
def crm_customer_billing_activity(tenant_id, customer_id, limit):
    return billing.activity(tenant_id, customer_id, limit)


@hookimpl
def crm_products(tenant_id):
    return billing.catalogue()


@hookimpl
def crm_create_subscription(tenant_id, customer_id, product, plan, trial, currency, deal_id):
    return billing.subscribe(tenant_id, customer_id, product_id=product["id"], plan_id=plan["id"],
                             currency=currency, source=f"CRM deal #{deal_id}")


class TicketsTab:
    """A second, separate contributor: the helpdesk's Tickets tab."""

    @hookimpl
    def crm_contact_tabs(self, contact):
        tickets = db.session.execute(
            select(Ticket.subject, Ticket.status)
            .where(Ticket.tenant_id == contact.tenant_id, Ticket.contact_id == contact.id)
            .order_by(Ticket.id.desc())
        ).all()
        return {"key": "tickets", "label": "Tickets", "columns": ["Ticket", "Status"],
                "rows": [list(r) for r in tickets]}


# --- billing context for the CRM's activity queue ----------------------------------------------

BILLING_VIEW_PERMISSION = "billing.view"
PAST_DUE_AFTER_DAYS = 30  # host_stub's invoices carry no due date: net-30 terms
_ID_CHUNK = 5000  # keeps IN lists under SQLite's bound-parameter limit


@hookimpl
def crm_user_can_view_billing(user):
    """Finance data is for holders of ``billing.view`` only."""
    return BILLING_VIEW_PERMISSION in (user.permissions or [])


@hookimpl
def crm_customers_billing_posture(tenant_id, customer_ids):
    """Outstanding and past-due AR per currency and subscription states, two grouped queries per
    5,000 customers."""
    from datetime import timedelta

    from sqlalchemy import case, func

    from .models import Invoice, utcnow

    past_due_before = utcnow() - timedelta(days=PAST_DUE_AFTER_DAYS)
    posture: dict[int, dict] = {}

    def entry(customer_id):
        return posture.setdefault(customer_id, {"outstanding_ar_cents": {}, "past_due_ar_cents": {},
                                                "subscriptions": []})

    ids = list(customer_ids)
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start:start + _ID_CHUNK]
        invoices = db.session.execute(
            select(Invoice.customer_id, Invoice.currency, func.sum(Invoice.amount_cents),
                   func.sum(case((Invoice.issued_at < past_due_before, Invoice.amount_cents), else_=0)))
            .where(Invoice.tenant_id == tenant_id, Invoice.customer_id.in_(chunk), Invoice.status == "open")
            .group_by(Invoice.customer_id, Invoice.currency)).all()
        for customer_id, currency, outstanding, past_due in invoices:
            entry(customer_id)["outstanding_ar_cents"][currency] = int(outstanding or 0)
            if past_due:
                entry(customer_id)["past_due_ar_cents"][currency] = int(past_due)
        subscriptions = db.session.execute(
            select(Subscription.customer_id, Subscription.product, Subscription.status)
            .where(Subscription.tenant_id == tenant_id, Subscription.customer_id.in_(chunk))
            .order_by(Subscription.customer_id, Subscription.id)).all()
        for customer_id, product, status in subscriptions:
            entry(customer_id)["subscriptions"].append({"product": product, "status": status})
    return posture
