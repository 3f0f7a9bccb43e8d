"""Automation runs of a deal (contract 8.5): the list with steps, and Retry for failed runs."""
from flask import jsonify

from ..guard import current_actor
from ..schemas.deals import AutomationRunOut
from ..services import automation, deals
from . import api_bp, doc, list_response, page_params


@api_bp.get("/deals/<int:deal_id>/automation-runs")
@doc("The deal's automation runs with their steps", response=AutomationRunOut, paged=True, tag="Deals")
def list_automation_runs(deal_id: int):
    deals.get(deal_id)
    limit, offset = page_params()
    items, total = automation.runs_for_deal(deal_id, limit=limit, offset=offset)
    return list_response(AutomationRunOut(many=True).dump(items), total)


@api_bp.post("/deals/<int:deal_id>/automation-runs/<int:run_id>/retry")
@doc("Retry a failed automation run", response=AutomationRunOut, status=202, tag="Deals")
def retry_automation_run(deal_id: int, run_id: int):
    deals.get(deal_id)
    return jsonify(AutomationRunOut().dump(automation.retry(deal_id, run_id, actor_id=current_actor().id))), 202
