"""Activities API: the table, create/read/edit/delete, complete/reopen, and the ranked queues."""
from datetime import date

from flask import jsonify, request

from .. import host
from ..db import MAX_ID, is_valid_id, session
from ..errors import Invalid
from ..guard import current_actor, require_delete_permission
from ..schemas.activities import (
    ActivityCreateInput,
    ActivityFilterArgs,
    ActivityOutput,
    ActivityRowOutput,
    ActivityUpdateInput,
    QueueArgs,
    QueueRowOutput,
)
from ..services import activities as service
from ..services import queue
from . import api_bp, doc, list_response, load, page_params

activity_out = ActivityOutput()
rows_out = ActivityRowOutput(many=True)
queue_rows_out = QueueRowOutput(many=True)


def _id_arg(name: str, errors: dict) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    value = int(raw) if raw.isdigit() and len(raw) <= 10 else None
    if value is None or not is_valid_id(value):
        errors[name] = [f"{name} must be a whole number from 1 to {MAX_ID}."]
    return value


def _date_arg(name: str, errors: dict) -> date | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = [f"{name} must be a date (YYYY-MM-DD)."]
        return None


def _filters() -> service.ActivityFilters:
    errors: dict = {}
    status = request.args.get("status") or "open"
    if status not in service.STATUSES:
        errors["status"] = [f"Pick one of: {', '.join(service.STATUSES)}."]
    filters = service.ActivityFilters(
        **{name: _id_arg(name, errors) for name in ("owner_id", "customer_id", "contact_id", "deal_id")},
        status=status, due_before=_date_arg("due_before", errors), due_after=_date_arg("due_after", errors))
    if filters.due_before and filters.due_after and filters.due_after > filters.due_before:
        errors["due_after"] = ["due_after must not be later than due_before."]
    if errors:
        raise Invalid(errors)
    return filters


def queue_owner() -> int:
    """``owner_id=`` (a manager looking at someone's queue; any user of the tenant, also one
    who left) or the current user."""
    errors: dict = {}
    owner_id = _id_arg("owner_id", errors)
    if errors:
        raise Invalid(errors)
    if owner_id is None:
        return current_actor().id
    User = host.user_model()
    if session.scalar(host.tenant_users().with_only_columns(User.id).where(User.id == owner_id)) is None:
        raise Invalid({"owner_id": [f"No user #{owner_id} in this tenant."]})
    return owner_id


@api_bp.get("/activities")
@doc("List activities", query=ActivityFilterArgs, response=ActivityRowOutput, paged=True, tag="Activities")
def list_activities():
    filters = _filters()
    limit, offset = page_params()
    rows, total = service.list_activities(filters, limit, offset)
    return list_response(rows_out.dump(rows), total)


@api_bp.post("/activities")
@doc("Create an activity", body=ActivityCreateInput, response=ActivityOutput, status=201, errors=(400, 422), tag="Activities")
def create_activity():
    activity = service.create_activity(**load(ActivityCreateInput()), actor_id=current_actor().id)
    return jsonify(activity_out.dump(activity)), 201


@api_bp.get("/activities/queue")
@doc("The ranked next-action queue", query=QueueArgs, response=QueueRowOutput, paged=True, tag="Activities")
def activity_queue():
    owner_id = queue_owner()
    limit, offset = page_params()
    rows, total = queue.queue(owner_id, viewer=current_actor(), limit=limit, offset=offset)
    return list_response(queue_rows_out.dump(rows), total)


@api_bp.get("/activities/overdue")
@doc("Overdue activities", query=QueueArgs, response=QueueRowOutput, paged=True, tag="Activities")
def activity_overdue():
    owner_id = queue_owner()
    limit, offset = page_params()
    rows, total = queue.overdue(owner_id, viewer=current_actor(), limit=limit, offset=offset)
    return list_response(queue_rows_out.dump(rows), total)


@api_bp.get("/activities/<int:activity_id>")
@doc("Get an activity", response=ActivityOutput, tag="Activities")
def get_activity(activity_id: int):
    return jsonify(activity_out.dump(service.get_activity(activity_id)))


@api_bp.patch("/activities/<int:activity_id>")
@doc("Change an activity", body=ActivityUpdateInput(partial=True), response=ActivityOutput, tag="Activities")
def update_activity(activity_id: int):
    activity = service.get_activity(activity_id)
    changes = load(ActivityUpdateInput(), partial=True)
    return jsonify(activity_out.dump(service.update_activity(activity, changes, actor_id=current_actor().id)))


@api_bp.delete("/activities/<int:activity_id>")
@doc("Delete an activity", status=204, tag="Activities")
def delete_activity(activity_id: int):
    activity = service.get_activity(activity_id)
    require_delete_permission()
    service.delete_activity(activity, actor_id=current_actor().id)
    return "", 204


@api_bp.post("/activities/<int:activity_id>/complete")
@doc("Complete an activity", response=ActivityOutput, tag="Activities")
def complete_activity(activity_id: int):
    activity = service.get_activity(activity_id)
    return jsonify(activity_out.dump(service.complete_activity(activity, actor_id=current_actor().id)))


@api_bp.post("/activities/<int:activity_id>/reopen")
@doc("Reopen an activity", response=ActivityOutput, tag="Activities")
def reopen_activity(activity_id: int):
    activity = service.get_activity(activity_id)
    return jsonify(activity_out.dump(service.reopen_activity(activity, actor_id=current_actor().id)))

