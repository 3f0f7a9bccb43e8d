"""The only place that calls the host: thin accessors over the CRM extension hooks."""
from flask import current_app
from sqlalchemy import Select, func, select

from .tenancy import require_tenant_id


def _hook():
    return current_app.extensions["kw_crm"].plugin_manager.hook


def current_user():
    return _hook().crm_current_user()


def current_tenant_id() -> int | None:
    return _hook().crm_current_tenant_id()


def login_url(next_url: str) -> str:
    return _hook().crm_login_url(next_url=next_url)


def feature_enabled(tenant_id: int | None, name: str) -> bool:
    return tenant_id is not None and bool(_hook().crm_feature_enabled(tenant_id=tenant_id, name=name))


def has_permission(user, permission: str) -> bool:
    return user is not None and bool(_hook().crm_user_has_permission(user=user, permission=permission))


def user_model():
    return _hook().crm_user_model()


def customer_model():
    return _hook().crm_customer_model()


def tenant_users() -> Select:
    """Users of the bound tenant (the host's table, filtered here because it is not ours)."""
    User = user_model()
    return select(User).where(User.tenant_id == require_tenant_id())


def active_tenant_user(user_id: int):
    """The active user ``user_id`` of the bound tenant, or ``None``."""
    from .db import is_valid_id, session

    if not is_valid_id(user_id):
        return None
    User = user_model()
    return session.scalar(tenant_users().where(User.id == user_id, User.active.is_(True)))


def tenant_customers() -> Select:
    Customer = customer_model()
    return select(Customer).where(Customer.tenant_id == require_tenant_id())


def tenant_customer(customer_id: int):
    from .db import is_valid_id, session

    if not is_valid_id(customer_id):
        return None
    Customer = customer_model()
    return session.scalar(tenant_customers().where(Customer.id == customer_id))


def customer_by_name(name: str):
    from .db import session

    Customer = customer_model()
    return session.scalar(tenant_customers().where(func.lower(Customer.name) == name.strip().lower()))


def create_customer(name: str, **fields):
    return _hook().crm_create_customer(tenant_id=require_tenant_id(), name=name.strip(), fields=fields)


def send_mail(to: str, subject: str, body: str, *, message_id: str | None = None) -> None:
    _hook().crm_send_mail(to=to, subject=subject, body=body, message_id=message_id)


def layout_template() -> str:
    return _hook().crm_layout_template() or "kw_crm/standalone.html"


def contact_tabs(contact) -> list[dict]:
    return [tab for tab in _hook().crm_contact_tabs(contact=contact) if tab]


def user_admin_url(user) -> str | None:
    return _hook().crm_user_admin_url(user=user)


def customer_has_active_subscription(customer_id: int) -> bool:
    return bool(_hook().crm_customer_has_active_subscription(tenant_id=require_tenant_id(), customer_id=customer_id))


def customer_has_finance_history(customer_id: int) -> bool:
    return bool(_hook().crm_customer_has_finance_history(tenant_id=require_tenant_id(), customer_id=customer_id))


def customer_billing_summary(customer_id: int) -> dict | None:
    return _hook().crm_customer_billing_summary(tenant_id=require_tenant_id(), customer_id=customer_id)


def products() -> list[dict] | None:
    """The host's catalogue for the bound tenant, or ``None`` when the host sells nothing."""
    hook = _hook().crm_products
    if not hook.get_hookimpls():
        return None
    return hook(tenant_id=require_tenant_id()) or []


def offers_products() -> bool:
    return bool(_hook().crm_products.get_hookimpls())


def create_subscription(customer_id: int, product: dict, plan: dict, *, currency: str, deal_id: int) -> dict:
    """Ask the host for a subscription; a bare id answer becomes ``{"id": id}``."""
    result = _hook().crm_create_subscription(
        tenant_id=require_tenant_id(), customer_id=customer_id, product=product, plan=plan,
        trial=bool(plan.get("trial")), currency=currency, deal_id=deal_id)
    if result is None:
        raise RuntimeError("the host did not create a subscription (no crm_create_subscription answer)")
    return result if isinstance(result, dict) else {"id": result}


def offers_subscriptions() -> bool:
    return bool(_hook().crm_create_subscription.get_hookimpls())


def customer_billing_activity(customer_id: int, limit: int) -> dict | None:
    return _hook().crm_customer_billing_activity(tenant_id=require_tenant_id(), customer_id=customer_id,
                                                 limit=limit)


def delete_customer(customer_id: int) -> bool:
    """Ask the host to delete its company record; ``False`` when the host does not allow it."""
    return bool(_hook().crm_delete_customer(tenant_id=require_tenant_id(), customer_id=customer_id))


def tenant_id_by_name(name: str) -> int | None:
    """The id of the tenant called ``name`` (for CLI commands), ``None`` when unknown or when
    the host does not offer the lookup."""
    return _hook().crm_tenant_id_by_name(name=name)


def user_can_view_billing(user) -> bool:
    """May ``user`` see billing data? A host without the hook shows billing to nobody."""
    return user is not None and bool(_hook().crm_user_can_view_billing(user=user))


def customers_billing_posture(customer_ids) -> dict[int, dict]:
    """Billing posture of many customers in one call (``{}`` when the host has no billing)."""
    ids = sorted({int(i) for i in customer_ids if i is not None})
    if not ids:
        return {}
    return _hook().crm_customers_billing_posture(tenant_id=require_tenant_id(), customer_ids=ids) or {}
