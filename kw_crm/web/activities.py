"""Activity pages: the Activities tab (my ranked next actions, my overdue exception queue, the
filtered table of all activities), the create form every page posts to, edit, delete, complete
and reopen. Customer and deal pages include the same ranked rows (``activities/_rows.html``)."""
from datetime import date

from flask import current_app, redirect, request, url_for

from .. import host
from ..db import MAX_ID, is_valid_id, session, utcnow
from ..errors import CrmError, Invalid
from ..guard import current_actor, has_delete_permission, require_delete_permission
from ..inputs import safe_redirect_target
from ..models import ACTIVITY_TYPES
from ..services import activities as service
from ..services import queue
from . import fail_back, render, web_bp
from .notices import notify
from .paging import paging

QUEUE_ROWS = 20
FORM_FIELDS = ("title", "type", "due_date", "description", "customer_id", "contact_id", "deal_id", "owner_id")


def _local_next(fallback: str) -> str:
    """The ``next`` target when it is a path on this site (the product's one redirect check)."""
    return safe_redirect_target(request.form.get("next") or request.args.get("next") or "", fallback)


def parse_form(form, fields=FORM_FIELDS) -> dict:
    """Form strings -> service values; a malformed date or id is a 422 on its field."""
    values, errors = {}, {}
    for name in fields:
        if name not in form:
            continue
        raw = form.get(name, "").strip()
        if name == "due_date":
            try:
                values[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                errors[name] = "Not a valid date (use YYYY-MM-DD)."
        elif name.endswith("_id"):
            value = int(raw) if raw.isdigit() and len(raw) <= 10 else None
            if raw and (value is None or not is_valid_id(value)):
                errors[name] = f"Pick a valid record (a number from 1 to {MAX_ID})."
            values[name] = value
        else:
            values[name] = raw
    if errors:
        raise Invalid(errors)
    return values


def _query_filters() -> tuple[service.ActivityFilters, dict]:
    """The table's filters from the query string; malformed values are ignored (and shown)."""
    args, kept = request.args, {}
    ids = {}
    for name in ("owner_id", "customer_id", "deal_id"):
        raw = args.get(name, "")
        if raw.isdigit() and len(raw) <= 10 and is_valid_id(int(raw)):
            ids[name] = kept[name] = int(raw)
    dates = {}
    for name in ("due_after", "due_before"):
        try:
            dates[name] = date.fromisoformat(args.get(name, "")) if len(args.get(name, "")) == 10 else None
        except ValueError:
            dates[name] = None
        if dates[name]:
            kept[name] = dates[name].isoformat()
    status = args.get("status") if args.get("status") in service.STATUSES else "open"
    kept["status"] = status
    return service.ActivityFilters(status=status, **ids, **dates), kept


def _queue_owner():
    raw = request.args.get("queue_owner", "")
    if raw.isdigit() and len(raw) <= 10 and is_valid_id(int(raw)):
        User = host.user_model()
        user = session.scalar(host.tenant_users().where(User.id == int(raw)))
        if user is not None:
            return user
    return current_actor()


@web_bp.route("/activities", endpoint="activities")
def activities_page():
    viewer = current_actor()
    owner = _queue_owner()
    paged = paging(current_app.config["CRM_PAGE_SIZE"], sizable=True)
    next_rows, next_total = queue.queue(owner.id, viewer=viewer, limit=QUEUE_ROWS)
    overdue_rows, overdue_total = queue.overdue(owner.id, viewer=viewer, limit=QUEUE_ROWS)
    filters, kept = _query_filters()
    rows, total = service.list_activities(filters, paged.per_page, paged.offset)
    if paged.per_page != current_app.config["CRM_PAGE_SIZE"]:
        kept["per_page"] = paged.per_page
    User = host.user_model()
    users = session.scalars(host.tenant_users().where(User.active.is_(True)).order_by(User.name, User.id)).all()
    return render("activities/list.html", owner=owner, is_me=owner.id == viewer.id, next_rows=next_rows,
                  next_total=next_total, overdue_rows=overdue_rows, overdue_total=overdue_total, rows=rows,
                  total=total, kept=kept, page=paged.page, pages=paged.pages(total), users=users,
                  types=ACTIVITY_TYPES, today=utcnow().date(), can_delete=has_delete_permission(),
                  sees_billing=host.user_can_view_billing(viewer), current_user_id=viewer.id)


@web_bp.post("/activities", endpoint="activity_create")
def activity_create():
    back = _local_next(url_for("crm.activities"))
    try:
        values = parse_form(request.form)
        values.setdefault("type", "task")
        values.setdefault("title", "")
        activity = service.create_activity(**values, actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify(f"Activity \u201c{activity.title}\u201d added.")
    return redirect(back)


@web_bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
def activity_edit(activity_id: int):
    activity = service.get_activity(activity_id)
    errors, values = {}, None
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            changes = parse_form(request.form)
            service.update_activity(activity, changes, actor_id=current_actor().id)
        except Invalid as error:
            errors = error.fields
        except CrmError as error:
            errors = {"_form": [error.message]}
        else:
            notify("Activity saved.")
            return redirect(_local_next(url_for("crm.activities")))
    if values is None:
        values = {name: getattr(activity, name) for name in FORM_FIELDS}
        values["due_date"] = activity.due_date.isoformat() if activity.due_date else ""
    User = host.user_model()
    users = session.scalars(host.tenant_users().where(User.active.is_(True)).order_by(User.name, User.id)).all()
    status = 409 if "_form" in errors else 422 if errors else 200
    return render("activities/edit.html", status=status, activity=activity, values=values, errors=errors,
                  owner_options=[(u.id, u.name or u.email) for u in users], types=ACTIVITY_TYPES, next_url=_local_next(url_for("crm.activities")))


def _act(activity_id: int, action, message: str):
    activity = service.get_activity(activity_id)
    back = _local_next(url_for("crm.activities"))
    try:
        action(activity)
    except CrmError as error:
        return fail_back(error, back)
    notify(message.format(title=activity.title))
    return redirect(back)


@web_bp.post("/activities/<int:activity_id>/complete")
def activity_complete(activity_id: int):
    return _act(activity_id, lambda a: service.complete_activity(a, actor_id=current_actor().id),
                "Completed: {title}")


@web_bp.post("/activities/<int:activity_id>/reopen")
def activity_reopen(activity_id: int):
    return _act(activity_id, lambda a: service.reopen_activity(a, actor_id=current_actor().id),
                "Reopened: {title}")


@web_bp.post("/activities/<int:activity_id>/delete")
def activity_delete(activity_id: int):
    require_delete_permission()  # a 403 like every destructive action, never a redirect
    return _act(activity_id, lambda a: service.delete_activity(a, actor_id=current_actor().id),
                "Deleted: {title}")


def activity_panel(*, customer_id: int | None = None, deal_id: int | None = None) -> dict:
    """What ``customers/_activities.html`` and ``deals/_activities.html`` show: the same ranked
    rows as the queue (every owner), their true total and the last completed ones."""
    viewer = current_actor()
    if deal_id is not None:
        rows, total = queue.for_deal(deal_id, viewer=viewer)
        done = queue.recently_done(deal_id=deal_id)
    else:
        rows, total = queue.for_customer(customer_id, viewer=viewer)
        done = queue.recently_done(customer_id=customer_id)
    return {"rows": rows, "total": total, "done": done, "today": utcnow().date(), "types": ACTIVITY_TYPES,
            "can_delete": has_delete_permission(), "next_url": request.full_path}


@web_bp.app_context_processor
def _activity_helpers():
    return {"activity_panel": activity_panel}
