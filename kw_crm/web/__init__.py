"""HTML pages of the CRM: thin views (parse with a form -> call a service -> render)."""
from flask import Blueprint, current_app, flash, redirect, render_template, request

from .. import host
from ..errors import CrmError
from ..guard import protect
from ..services.currencies import format_money

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
]


def has_endpoint(endpoint: str) -> bool:
    """Link to another area's page only where it exists (areas are optional to each other)."""
    return endpoint in current_app.view_functions


@web_bp.app_context_processor
def _crm_template_helpers():
    return {"crm_layout": host.layout_template(), "crm_nav_entries": _nav, "has_endpoint": has_endpoint,
            "money": format_money}


def _nav():
    return [(label, endpoint) for label, endpoint in CRM_NAV if has_endpoint(endpoint)]


def render(template: str, status: int = 200, **context):
    return render_template(f"kw_crm/{template}", **context), status


def fail_back(error: CrmError, fallback: str):
    """Show a service's refusal on the page the admin came from; for a 422 the field messages
    are the useful part."""
    flash(" ".join(m for messages in error.fields.values() for m in messages) if error.fields else error.message)
    target = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else fallback
    return redirect(target)


@web_bp.errorhandler(CrmError)
@admin_bp.errorhandler(CrmError)
def _crm_error(error: CrmError):
    return render("error.html", status=error.status, error=error)


from . import contacts, customers, dashboard, deals, forecast, imports, settings  # noqa: E402,F401
