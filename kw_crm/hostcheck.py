"""What kw_crm needs from the app it is plugged into, checked once at ``init_app``.

A host that misses one of these used to find out as a 500 on the first CRM page (no
CSRFProtect: every template's ``csrf_token()`` fails) or a wrong query much later (a customer
model without ``created_at``). Checking at start-up turns each into one clear message."""
from flask import Flask

from .hookspecs import REQUIRED_HOOKS

USER_ATTRIBUTES = ("id", "tenant_id", "email", "name", "role", "active")
CUSTOMER_ATTRIBUTES = ("id", "tenant_id", "name", "created_at")


class HostSetupError(RuntimeError):
    """The host app lacks something kw_crm needs; the message lists every problem."""


def problems(app: Flask, plugin_manager) -> list[str]:
    found = []
    if "csrf" not in app.extensions:
        found.append("Flask-WTF's CSRFProtect is not set up: call CSRFProtect(app) before the plugins' "
                     "platform_init_app. CRM forms and session API calls rely on it for CSRF protection.")
    if "sqlalchemy" not in app.extensions:
        found.append("Flask-SQLAlchemy is not set up: the CRM shares the host's db session "
                     "(app.extensions['sqlalchemy']).")
    if not app.secret_key:
        found.append("SECRET_KEY is not set: sessions, CSRF tokens and CRM notices need it.")
    hook = plugin_manager.hook
    missing = [name for name in REQUIRED_HOOKS if not getattr(hook, name).get_hookimpls()]
    if missing:
        found.append("The host implements none of these required CRM hooks (kw_crm/hookspecs.py): "
                     + ", ".join(missing) + ". Register the implementations before platform_init_app.")
    if "crm_user_model" not in missing:
        found += _attribute_problems("user model (crm_user_model)", hook.crm_user_model(), USER_ATTRIBUTES)
    if "crm_customer_model" not in missing:
        found += _attribute_problems("customer model (crm_customer_model)", hook.crm_customer_model(),
                                     CUSTOMER_ATTRIBUTES)
    return found


def _attribute_problems(what: str, model, attributes) -> list[str]:
    if model is None:
        return [f"The {what} hook returned nothing."]
    absent = [name for name in attributes if not hasattr(model, name)]
    return [f"The {what} {model.__name__} lacks {', '.join(absent)}."] if absent else []


def check(app: Flask, plugin_manager) -> None:
    found = problems(app, plugin_manager)
    if found:
        raise HostSetupError("kw_crm cannot run on this app:\n- " + "\n- ".join(found))
