"""The host's product catalogue as the CRM uses it: the product boundary of a deal.

A deal sells one product of the catalogue (``crm_products``): required on create while the host
offers a catalogue (config ``CRM_REQUIRE_PRODUCT``, default on), fixed once set (409 on a
change: open a new deal instead), with an optional plan that must be one of that product's
plans (422). Without the hook deals carry no product and nothing here refuses anything."""
from flask import current_app, g

from .. import host
from ..errors import Conflict, Invalid

_CACHE = "_kw_crm_catalogue"


def catalogue() -> list[dict] | None:
    """The tenant's catalogue, asked once per request (or job); ``None`` without the hook."""
    if _CACHE not in g:
        setattr(g, _CACHE, host.products())
    return g.get(_CACHE)


def required() -> bool:
    setting = current_app.config.get("CRM_REQUIRE_PRODUCT")
    return host.offers_products() and (setting is None or bool(setting))


def find_product(product_id) -> dict | None:
    return next((p for p in catalogue() or [] if p["id"] == product_id), None)


def find_plan(plan_id) -> tuple[dict, dict] | tuple[None, None]:
    """``(product, plan)`` of the plan ``plan_id`` anywhere in the catalogue."""
    for product in catalogue() or []:
        for plan in product["plans"]:
            if plan["id"] == plan_id:
                return product, plan
    return None, None


def names() -> dict[int, str]:
    return {p["id"]: p["name"] for p in catalogue() or []}


def plan_names() -> dict[int, str]:
    return {plan["id"]: plan["name"] for p in catalogue() or [] for plan in p["plans"]}


def check_deal(data: dict, deal=None) -> None:
    """Validate ``product_id``/``plan_id`` of a create (``deal`` None) or an edit of ``deal``."""
    current = deal.product_id if deal is not None else None
    if deal is not None and "product_id" in data and data["product_id"] != current and current is not None:
        raise Conflict("The product is a commercial boundary and cannot change once the deal has one; "
                       "open a new deal for the other product.")
    product_id = data.get("product_id", current)
    errors = {}
    if deal is None and product_id is None and required():
        errors["product_id"] = "Choose the product this deal sells."
    product = None
    if product_id is not None:
        if catalogue() is None:
            errors["product_id"] = "This platform has no product catalogue; leave the product out."
        else:
            product = find_product(product_id)
            if product is None:
                errors["product_id"] = f"No product #{product_id} in the catalogue."
    plan_id = data.get("plan_id")
    if plan_id is not None and "product_id" not in errors:
        owner, plan = find_plan(plan_id)
        if product is None:
            errors["plan_id"] = "Choose the deal's product before a plan."
        elif plan is None:
            errors["plan_id"] = f"No plan #{plan_id} in the catalogue."
        elif owner["id"] != product["id"]:
            errors["plan_id"] = (f"{plan['name']} is a plan of {owner['name']}, not of this deal's product "
                                 f"{product['name']}.")
    if errors:
        raise Invalid(errors)
