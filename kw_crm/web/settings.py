"""CRM settings: the pipeline stages as a list (label, probability, kind, staleness and the
automation on entering each stage; move up/down or drag to reorder; delete with a move of the
stage's deals). Reordering changes the board's column order only: no deal changes stage.

The form posts one value per row for every column (plain lists, the shape the tests and older
pages post); the automation flags are checkboxes named ``<flag>_for`` whose value is the row's
``row`` token, since unticked boxes send nothing. A refused save re-renders the rows as typed, in
the order the admin left them, each with its own messages."""
import re

from flask import redirect, request, url_for

from ..errors import CrmError, Forbidden, Invalid, NotFound
from ..guard import DELETE_PERMISSION_REASON, current_actor, has_delete_permission, require_delete_permission
from ..services import stages
from . import fail_back, render, web_bp
from .messages import human_text
from .notices import notify

COLUMNS = ("key", "label", "probability", "outcome", "position")
FLAGS = ("finance_handoff", "notify_owner")


def _read_rows(form) -> list[dict]:
    """Every row of the form as typed (``typed``) and as the PUT /stages item (``item``, None
    for the empty "add a stage" row), in the order the positions (and a no-script Move) give."""
    columns = {name: form.getlist(name) for name in COLUMNS}
    count = len(columns["key"])
    stale_days = form.getlist("stale_after_days") or [None] * count  # a form without the column keeps them
    tokens = form.getlist("row") or [str(i) for i in range(count)]
    if any(len(values) != count for values in (*columns.values(), stale_days, tokens)):
        raise Invalid({"stages": "The form was incomplete; reload the page."})
    automation = _automation_columns(form, tokens)
    rows = []
    for index in range(count):
        key, label = columns["key"][index].strip(), columns["label"][index].strip()
        stale = stale_days[index]
        typed = {"row": tokens[index], "key": key, "label": label, "probability": columns["probability"][index],
                 "outcome": columns["outcome"][index] or None, "stale_after_days": stale, **automation[index]}
        item = None
        if key or label:  # else: the empty "add a stage" row
            item = {"key": key or re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_")[:40] or label,
                    "label": label, "probability": _whole_number(typed["probability"]), "outcome": typed["outcome"],
                    **automation[index]}
            if stale is not None:
                item["stale_after_days"] = _whole_number(stale.strip()) if stale.strip() else None
        try:
            order = float(columns["position"][index])
        except ValueError:
            order = float(index)
        rows.append({"order": order, "index": index, "typed": typed, "item": item})
    rows.sort(key=lambda r: (r["order"], r["index"]))
    _apply_move(rows, form.get("move", ""))
    return rows


def _apply_move(rows: list[dict], move: str) -> None:
    """A Move up/down button pressed without script ("<row>:up"): swap with the neighbour."""
    token, _, direction = move.rpartition(":")
    at = next((i for i, r in enumerate(rows) if r["typed"]["row"] == token and r["item"]), None)
    if at is None or direction not in ("up", "down"):
        return
    other = at - 1 if direction == "up" else at + 1
    if 0 <= other < len(rows) and rows[other]["item"]:
        rows[at], rows[other] = rows[other], rows[at]


def _whole_number(raw: str):
    """An int when the text is one; otherwise the text itself, for the service to refuse by name."""
    try:
        return int(raw)
    except ValueError:
        return raw


def _automation_columns(form, tokens: list[str]) -> list[dict]:
    """Per row the stage's automation settings (follow-up days blank = none). The flags come as
    ticked ``<flag>_for`` boxes, or (older forms) as one "1"/"" value per row. Forms without
    any of them: {} (the stages keep their settings)."""
    count = len(tokens)
    days = form.getlist("followup_days")
    ticked = {flag: set(form.getlist(f"{flag}_for")) for flag in FLAGS}
    per_row = {flag: form.getlist(flag) for flag in FLAGS}
    if not days and not any(per_row.values()) and "flags" not in form:
        return [{} for _ in range(count)]
    if len(days) != count or any(values and len(values) != count for values in per_row.values()):
        raise Invalid({"stages": "The form was incomplete; reload the page."})
    columns = []
    for index, raw_days in enumerate(days):
        raw_days = raw_days.strip()
        row = {"followup_days": int(raw_days) if raw_days.isdigit() and len(raw_days) <= 4
               else (None if not raw_days else raw_days)}
        for flag in FLAGS:
            row[flag] = per_row[flag][index] == "1" if per_row[flag] else tokens[index] in ticked[flag]
        columns.append(row)
    return columns


def _saved_rows(current) -> list[dict]:
    """The stages as the form shows them before any edit."""
    return [{"typed": {"row": s.key, "key": s.key, "label": s.label, "probability": s.probability,
                       "outcome": s.outcome, "stale_after_days": s.stale_after_days, "followup_days": s.followup_days,
                       "finance_handoff": s.finance_handoff, "notify_owner": s.notify_owner}, "item": True}
            for s in current]


def _row_errors(rows: list[dict], errors: dict) -> dict:
    """The service's ``stages.<n>`` messages (n = index among the sent stages) -> row token."""
    sent = [row["typed"]["row"] for row in rows if row["item"]]
    found = {}
    for field, messages in errors.items():
        index = field.removeprefix("stages.")
        if index.isdigit() and int(index) < len(sent):
            found[sent[int(index)]] = [human_text(m) for m in messages]
    return found


def _delete_blockers(current, counts: dict, can_delete: bool) -> dict[str, str]:
    """Why a saved stage offers no Delete (key -> reason); stages missing here can be deleted."""
    blockers = {}
    for stage in current:
        same_kind = [s for s in current if s.outcome == stage.outcome and s.id != stage.id]
        if not can_delete:
            blockers[stage.key] = DELETE_PERMISSION_REASON
        elif stage.outcome and not same_kind:
            blockers[stage.key] = f"The only {stage.outcome} stage: the pipeline needs one."
        elif counts.get(stage.id) and not same_kind:
            blockers[stage.key] = "No other stage of the same kind to take its deals."
    return blockers


@web_bp.route("/settings", methods=["GET", "POST"], endpoint="settings")
def settings_page():
    errors, rows = {}, None
    if request.method == "POST":
        try:
            rows = _read_rows(request.form)
            items = [row["item"] for row in rows if row["item"]]
            if stages.removes_stages(items):
                require_delete_permission()
            stages.replace_stages(items, actor_id=current_actor().id)
        except Forbidden:
            raise  # the 403 page, not a message on the form
        except Invalid as error:
            errors = error.fields
        except CrmError as error:
            errors = {"stages": [error.message]}
        else:
            notify("Stages saved.")
            return redirect(url_for("crm.settings"))
    current, counts, can_delete = stages.list_stages(), stages.deal_counts(), has_delete_permission()
    if rows is None:  # a GET, or a form too broken to read back: the saved stages
        rows = _saved_rows(current)
    new_row = next((r["typed"] for r in rows if not r["item"]), None)
    row_errors = _row_errors(rows, errors)
    return render("settings/stages.html", status=422 if errors else 200, stages=current,
                  rows=[r["typed"] for r in rows if r["item"]], new_row=new_row, counts=counts,
                  errors=errors, row_errors=row_errors,
                  form_errors=[m for f, ms in errors.items() if not f.startswith("stages.") for m in ms],
                  delete_blockers=_delete_blockers(current, counts, can_delete))


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
