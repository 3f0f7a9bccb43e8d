"""Deal page actions of issue 12: convert to a subscription, retry a failed automation run."""
from flask import redirect, request, url_for

from ..errors import CrmError, Invalid
from ..guard import current_actor
from ..services import automation, conversion, deals
from . import fail_back, web_bp
from .notices import notify


@web_bp.post("/deals/<int:deal_id>/convert")
def deal_convert(deal_id: int):
    back = url_for("crm.deal_detail", deal_id=deal_id)
    deals.get(deal_id)
    raw = request.form.get("plan_id", "").strip()
    try:
        if not raw.isdigit() or len(raw) > 10:
            raise Invalid({"plan_id": "Choose the sold plan."})
        result = conversion.convert(deal_id, int(raw), actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify(f"Converted: subscription #{result['subscription']['id']} on {result['contract_snapshot']['plan_name']}; "
          "the deal is won.")
    return redirect(back)


@web_bp.post("/deals/<int:deal_id>/automation-runs/<int:run_id>/retry")
def deal_automation_retry(deal_id: int, run_id: int):
    back = url_for("crm.deal_detail", deal_id=deal_id)
    deals.get(deal_id)
    try:
        run = automation.retry(deal_id, run_id, actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify(f"Automation run #{run_id} is being retried (now {run['status']}).")
    return redirect(back)
