"""The deal form shared by the new-deal page and the deal page's Edit: form strings to the API's
JSON types, the pickers' choices, and a deal's current values as form strings.

Forms post plain fields that go through the same marshmallow schema as the API (the amount is
typed in currency units and turned into cents here), so the rules are the API's rules."""
from flask import current_app
from sqlalchemy import select

from .. import host
from ..db import session
from ..errors import Invalid
from ..inputs import parse_id
from ..models import Contact, Deal
from ..schemas.deals import MAX_VALUE_CENTS
from ..services import deals, products, stages
from ..services.currencies import format_amount, parse_amount, picker_groups

FORM_FIELDS = ("title", "value", "currency", "stage", "expected_close_date", "owner_id", "contact_id",
               "customer_id", "product_id", "plan_id", "notes", "closed_reason")
CLOSED_FIELDS = ("notes", "closed_reason")  # all a closed deal accepts (services.deals.CLOSED_EDITABLE)
ID_FIELDS = ("owner_id", "contact_id", "customer_id", "product_id", "plan_id")


def form_data(form, *, fields=FORM_FIELDS) -> dict:
    """Form strings -> the API's JSON types (empty optional fields become null)."""
    data, errors = {}, {}
    for name in fields:
        if name not in form:
            continue
        raw = form.get(name, "").strip()
        if name == "value":
            try:
                cents = parse_amount(raw or "0")
            except ValueError as exc:
                errors["value_cents"] = [str(exc)]
                continue
            if not 0 <= cents <= MAX_VALUE_CENTS:
                errors["value_cents"] = ["The amount must be between 0 and 10 000 000 000 000."]
                continue
            data["value_cents"] = cents
        elif name in ID_FIELDS:
            if not raw and name == "customer_id":
                continue  # "the contact's": the service fills it in from the contact
            if not raw:
                data[name] = None
            elif parse_id(raw) is not None:
                data[name] = parse_id(raw)
            else:
                errors[name] = ["Choose from the list."]
        elif name == "expected_close_date":
            data[name] = raw or None
        else:
            data[name] = raw
    if errors:
        raise Invalid(errors)
    return data


def choices() -> dict:
    """What the form's pickers offer, as (value, label) pairs: stages, active users, the first
    500 contacts and customers, the tenant's currencies first, the product catalogue."""
    User = host.user_model()
    Customer = host.customer_model()
    contacts = session.scalars(select(Contact).order_by(Contact.last_name, Contact.first_name).limit(500))
    return {
        "stage_options": [(s.key, s.label) for s in stages.list_stages()],
        "user_options": [(u.id, u.name or u.email) for u in session.scalars(
            host.tenant_users().where(User.active.is_(True)).order_by(User.name))],
        "contact_options": [("", "—")] + [(c.id, f"{c.first_name} {c.last_name}") for c in contacts],
        "customer_options": [("", "—")] + [(c.id, c.name) for c in session.scalars(
            host.tenant_customers().order_by(Customer.name).limit(500))],
        "currency_groups": picker_groups(current_app.config["CRM_DEFAULT_CURRENCY"], deals.currencies_in_use()),
        "catalogue": products.catalogue(), "product_required": products.required(),
    }


def values_of(deal: Deal) -> dict:
    """The deal as the form shows it before any edit."""
    return {"title": deal.title, "value": format_amount(deal.value_cents), "currency": deal.currency,
            "stage": deal.stage.key, "owner_id": deal.owner_id, "contact_id": deal.contact_id,
            "customer_id": deal.customer_id, "notes": deal.notes or "", "closed_reason": deal.closed_reason or "",
            "product_id": deal.product_id, "plan_id": deal.plan_id,
            "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else ""}
