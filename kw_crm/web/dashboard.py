"""The CRM dashboard page: the same numbers as ``GET /api/crm/dashboard``."""
from ..services import dashboard
from . import render, web_bp


@web_bp.route("/dashboard", endpoint="dashboard")
def dashboard_page():
    return render("dashboard/index.html", d=dashboard.summary())
