"""HTML pages of the CRM: thin views (parse with a form -> call a service -> render)."""
from flask import Blueprint, current_app, g, redirect, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, NotFound

from .. import host
from ..db import session
from ..errors import CrmError, as_busy
from ..guard import DELETE_PERMISSION_REASON, has_delete_permission, protect
from ..inputs import same_site_referrer
from ..services.currencies import format_money
from .icons import CONTACT_TYPE_ICONS, icon
from .messages import human_messages
from .notices import notify, pop_notices

web_bp = protect(Blueprint("crm", __name__, url_prefix="/crm", template_folder="../templates",
                           static_folder="../static", static_url_path="/static"))
# The seed's "equivalent admin route" for the import lives under /admin/crm.
admin_bp = protect(Blueprint("crm_admin", __name__, url_prefix="/admin/crm", template_folder="../templates"))

# (label, endpoint) of the CRM's own navigation; entries whose endpoint is missing are hidden.
CRM_NAV = [
    ("Contacts", "crm.contacts"),
    ("Customers", "crm.customers"),
    ("Pipeline", "crm.deals"),
    ("Activities", "crm.activities"),
    ("Dashboard", "crm.dashboard"),
    ("Forecast", "crm.forecast"),
    ("Communications", "crm.communications"),
    ("Risk & Health", "crm.risk"),
]


def has_endpoint(endpoint: str) -> bool:
    """Link to another area's page only where it exists (areas are optional to each other)."""
    return endpoint in current_app.view_functions


@web_bp.app_context_processor
def _crm_template_helpers():
    return {"crm_layout": host.layout_template(), "crm_nav_entries": _nav, "has_endpoint": has_endpoint,
            "money": format_money, "crm_notices": pop_notices, "type_icons": CONTACT_TYPE_ICONS,
            "has_delete_permission": has_delete_permission, "delete_permission_reason": DELETE_PERMISSION_REASON}


# a global, not a context variable, so macros imported from kw_crm/_ui.html can draw icons too
web_bp.add_app_template_global(icon, "crm_icon")
# ``{% for m in errors|human_messages %}``: a service's field messages without field keys
web_bp.add_app_template_filter(human_messages, "human_messages")


def _nav():
    return [(label, endpoint) for label, endpoint in CRM_NAV if has_endpoint(endpoint)]


def render(template: str, status: int = 200, **context):
    return render_template(f"kw_crm/{template}", **context), status


def fail_back(error: CrmError, fallback: str):
    """Show a service's refusal on the page the admin came from; for a 422 the field messages
    are the useful part."""
    notify(" ".join(human_messages(error.fields)) if error.fields else error.message, "error")
    return redirect(same_site_referrer(fallback))


def safe_referrer() -> str | None:
    """The page the admin came from, when it is on this site (a way back from an error)."""
    back = same_site_referrer(None)
    return back if back != request.full_path.rstrip("?") else None


@web_bp.errorhandler(CrmError)
@admin_bp.errorhandler(CrmError)
def _crm_error(error: CrmError):
    return render("error.html", status=error.status, code=error.status, message=error.message,
                  messages=human_messages(error.fields), back=safe_referrer())


@web_bp.errorhandler(OperationalError)
@admin_bp.errorhandler(OperationalError)
def _database_busy(error: OperationalError):
    busy = as_busy(error)
    session.rollback()
    return _crm_error(busy)


@web_bp.errorhandler(HTTPException)
@admin_bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    """403, 404, 405... of CRM pages as a styled page inside the host layout with a way back.
    A tenant without the CRM feature gets the plain 404, as if the CRM did not exist."""
    if error.code is None or error.code < 400 or (error.code == 404 and g.get("crm_user") is None):
        return error
    return render("error.html", status=error.code, code=error.code, message=None, messages=[], back=safe_referrer())


@web_bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@admin_bp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_found(path: str):
    """Any other address under the CRM (``/crm/contacts/abc``): the guarded, styled 404 rather
    than the bare one the router would give."""
    raise NotFound()


from . import (  # noqa: E402,F401
    activities,
    api_docs,
    communications,
    contacts,
    conversion,
    customers,
    dashboard,
    deal_page,
    deals,
    forecast,
    imports,
    risk,
    settings,
    tokens,
    webhooks,
)
