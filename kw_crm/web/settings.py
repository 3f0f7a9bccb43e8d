"""CRM settings: the pipeline stages (add, rename, reorder, probability, outcome, delete with a
move of the stage's deals)."""
import re

from flask import redirect, request, url_for

from ..errors import CrmError, Forbidden, Invalid, NotFound
from ..guard import current_actor, require_delete_permission
from ..services import stages
from . import fail_back, render, web_bp
from .notices import notify


def _rows_from_form(form) -> list[dict]:
    """The settings table -> the PUT /stages list, ordered by the position column."""
    keys, labels = form.getlist("key"), form.getlist("label")
    probabilities, outcomes, positions = form.getlist("probability"), form.getlist("outcome"), form.getlist("position")
    stale_days = form.getlist("stale_after_days") or [None] * len(keys)  # a form without the column keeps them
    automation = _automation_columns(form, len(keys))
    if not (len(keys) == len(labels) == len(probabilities) == len(outcomes) == len(positions) == len(stale_days)):
        raise Invalid({"stages": "The form was incomplete; reload the page."})
    rows = []
    for index, (key, label, probability, outcome, position, stale) in enumerate(
            zip(keys, labels, probabilities, outcomes, positions, stale_days, strict=True)):
        key, label = key.strip(), label.strip()
        if not key and not label:
            continue  # the empty "add a stage" row
        if not key:
            key = re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_")[:40] or label
        probability_value = _whole_number(probability)  # the service reports a bad one
        try:
            order = float(position)
        except ValueError:
            order = float(index)
        row = {"key": key, "label": label, "probability": probability_value, "outcome": outcome or None,
               **automation[index]}
        if stale is not None:
            row["stale_after_days"] = _whole_number(stale.strip()) if stale.strip() else None
        rows.append((order, index, row))
    return [row for _, _, row in sorted(rows, key=lambda r: (r[0], r[1]))]


def _whole_number(raw: str):
    """An int when the text is one; otherwise the text itself, for the service to refuse by name."""
    try:
        return int(raw)
    except ValueError:
        return raw


def _automation_columns(form, count: int) -> list[dict]:
    """Per row the stage's automation settings (follow-up days blank = none; yes/no selects,
    since unticked checkboxes would not keep the rows aligned). Old forms without them: {}."""
    days, handoff, notify = form.getlist("followup_days"), form.getlist("finance_handoff"), form.getlist("notify_owner")
    if not days and not handoff and not notify:
        return [{} for _ in range(count)]
    if not (len(days) == len(handoff) == len(notify) == count):
        raise Invalid({"stages": "The form was incomplete; reload the page."})
    columns = []
    for raw_days, raw_handoff, raw_notify in zip(days, handoff, notify, strict=True):
        raw_days = raw_days.strip()
        columns.append({"followup_days": int(raw_days) if raw_days.isdigit() and len(raw_days) <= 4
                        else (None if not raw_days else raw_days),
                        "finance_handoff": raw_handoff == "1", "notify_owner": raw_notify == "1"})
    return columns


@web_bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
def settings_page():
    errors = {}
    if request.method == "POST":
        try:
            rows = _rows_from_form(request.form)
            if stages.removes_stages(rows):
                require_delete_permission()
            stages.replace_stages(rows, actor_id=current_actor().id)
        except Forbidden:
            raise  # the 403 page, not a message on the form
        except Invalid as error:
            errors = error.fields
        except CrmError as error:
            errors = {"stages": [error.message]}
        else:
            notify("Stages saved.")
            return redirect(url_for("crm.settings"))
    current = stages.list_stages()
    return render("settings/stages.html", status=422 if errors else 200, stages=current,
                  counts=stages.deal_counts(), errors=errors)


@web_bp.post("/settings/stages/<key>/delete")
def settings_delete_stage(key: str):
    require_delete_permission()
    try:
        moved = stages.delete_stage(key, move_to=request.form.get("move_to") or None, actor_id=current_actor().id)
    except NotFound:
        raise
    except CrmError as error:
        return fail_back(error, url_for("crm.settings"))
    notify(f"Stage {key.upper()} deleted" + (f"; {moved} deal(s) moved." if moved else "."))
    return redirect(url_for("crm.settings"))
