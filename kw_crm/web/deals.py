"""Deal pages: the board (no drag-and-drop: stage moves happen on the deal page and with the
bulk stage tool), the new-deal form and the deal page with its actions.

Forms post plain fields that go through the same marshmallow schema as the API (the amount is
typed in currency units and turned into cents here), so the rules are the API's rules."""
from flask import current_app, redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from .. import host
from ..errors import CrmError, Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import parse_id
from ..models import Contact
from ..schemas.deals import MAX_VALUE_CENTS, DealSchema, DealUpdateSchema
from ..services import audit, automation, deals, pipeline_view, products, stages
from ..services.currencies import ISO_4217_ACTIVE, format_amount, parse_amount
from . import fail_back, render, web_bp
from .notices import notify
from .paging import paging

FORM_FIELDS = ("title", "value", "currency", "stage", "expected_close_date", "owner_id", "contact_id",
               "customer_id", "product_id", "plan_id", "notes", "closed_reason")




def _form_data(form, *, fields=FORM_FIELDS) -> dict:
    """Form strings -> the API's JSON types (empty optional fields become null)."""
    data, errors = {}, {}
    for name in fields:
        if name not in form:
            continue
        raw = form.get(name, "").strip()
        if name == "value":
            try:
                cents = parse_amount(raw or "0")
            except ValueError as exc:
                errors["value_cents"] = [str(exc)]
                continue
            if not 0 <= cents <= MAX_VALUE_CENTS:
                errors["value_cents"] = ["The amount must be between 0 and 10 000 000 000 000."]
                continue
            data["value_cents"] = cents
        elif name in ("owner_id", "contact_id", "customer_id", "product_id", "plan_id"):
            if not raw and name == "customer_id":
                continue  # "the contact's": the service fills it in from the contact
            if not raw:
                data[name] = None
            elif parse_id(raw) is not None:
                data[name] = parse_id(raw)
            else:
                errors[name] = ["Choose from the list."]
        elif name == "expected_close_date":
            data[name] = raw or None
        else:
            data[name] = raw
    if errors:
        raise Invalid(errors)
    return data


def _choices() -> dict:
    User = host.user_model()
    Customer = host.customer_model()
    return {
        "stages": stages.list_stages(),
        "users": _scalars(host.tenant_users().where(User.active.is_(True)).order_by(User.name)),
        "contacts": _scalars(select(Contact).order_by(Contact.last_name, Contact.first_name).limit(500)),
        "customers": _scalars(host.tenant_customers().order_by(Customer.name).limit(500)),
        "currencies": sorted(ISO_4217_ACTIVE),
        "default_currency": current_app.config["CRM_DEFAULT_CURRENCY"],
        "catalogue": products.catalogue(), "product_required": products.required(),
    }


def _scalars(statement):
    from ..db import session

    return list(session.scalars(statement))


@web_bp.get("/deals", endpoint="deals")
def deals_board():
    all_stages = stages.list_stages()
    filters = pipeline_view.parse_filters(request.args, all_stages)
    owners = pipeline_view.owners()
    return render("deals/board.html", board=pipeline_view.board(filters, stages=all_stages, user_names=dict(owners)),
                  filters=filters, include_closed=filters.include_closed, owners=owners)


@web_bp.get("/deals/table", endpoint="deals_table")
def deals_table():
    """The board's deals as a paged, sortable table (where a column's "N more" leads)."""
    all_stages = stages.list_stages()
    filters = pipeline_view.parse_filters(request.args, all_stages)
    sort = pipeline_view.parse_sort(request.args.get("sort"))
    page = paging(pipeline_view.PAGE_SIZE).page
    owners = pipeline_view.owners()
    table = pipeline_view.table(filters, sort=sort, page=page, stages=all_stages, user_names=dict(owners))
    return render("deals/table.html", table=table, filters=filters, stages=all_stages, owners=owners)


@web_bp.post("/deals/bulk-stage")
def deals_bulk_stage():
    ids = [i for i in map(parse_id, request.form.getlist("ids")) if i is not None]
    back = url_for("crm.deals", closed=request.form.get("closed") or None)
    if request.referrer and request.referrer.startswith(request.host_url):
        back = request.referrer  # the board with its filters
    if not ids:
        notify("Select at least one deal.", "warning")
        return redirect(back)
    try:
        result = deals.bulk_stage(ids, request.form.get("stage", ""), actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify(f"Moved {len(result['moved'])} deal(s) to {result['stage']}.")
    return redirect(back)


@web_bp.route("/deals/new", methods=["GET", "POST"])
def deal_new():
    values = {"currency": current_app.config["CRM_DEFAULT_CURRENCY"], "owner_id": current_actor().id,
              "contact_id": parse_id(request.args.get("contact_id")),
              "customer_id": parse_id(request.args.get("customer_id"))}
    errors = {}
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            data = DealSchema().load(_form_data(request.form, fields=FORM_FIELDS[:-1]))
            deal = deals.create(data, actor_id=current_actor().id)
        except ValidationError as error:
            errors = error.messages
        except Invalid as error:
            errors = error.fields
        else:
            notify(f"Deal \"{deal.title}\" created.")
            return redirect(url_for("crm.deal_detail", deal_id=deal.id))
    return render("deals/new.html", status=422 if errors else 200, values=values, errors=errors, **_choices())


@web_bp.route("/deals/<int:deal_id>", methods=["GET", "POST"])
def deal_detail(deal_id: int):
    deal = deals.get(deal_id)
    errors, values = {}, None
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            version = request.form.get("version", "")
            fields = FORM_FIELDS if not deals.is_closed(deal) else ("notes", "closed_reason")
            data = DealUpdateSchema().load(_form_data(request.form, fields=fields), partial=True)
            deals.update(deal_id, data, version=parse_id(version),
                         actor_id=current_actor().id)
        except ValidationError as error:
            errors = error.messages
        except Invalid as error:
            errors = error.fields
        except CrmError as error:  # 409: stale version or an edit rule
            errors = {"_form": [error.message]}
        else:
            notify("Deal saved.")
            return redirect(url_for("crm.deal_detail", deal_id=deal_id))
    if values is None:
        values = {"title": deal.title, "value": format_amount(deal.value_cents), "currency": deal.currency,
                  "stage": deal.stage.key, "owner_id": deal.owner_id, "contact_id": deal.contact_id,
                  "customer_id": deal.customer_id, "notes": deal.notes or "", "closed_reason": deal.closed_reason or "",
                  "product_id": deal.product_id, "plan_id": deal.plan_id,
                  "expected_close_date": deal.expected_close_date.isoformat() if deal.expected_close_date else ""}
    status = 409 if "_form" in errors else 422 if errors else 200
    return render("deals/detail.html", status=status, deal=deal, values=values, errors=errors,
                  history=audit.history("deal", deal.id, limit=20),
                  automation_runs=automation.runs_for_deal(deal.id, limit=10),
                  contact=_scalars(select(Contact).where(Contact.id == deal.contact_id)) if deal.contact_id else [],
                  **_choices())


def _act(deal_id: int, action):
    back = url_for("crm.deal_detail", deal_id=deal_id)
    deals.get(deal_id)  # unknown ids: 404 page
    try:
        message = action()
    except CrmError as error:
        return fail_back(error, back)
    notify(message)
    return redirect(back)


@web_bp.post("/deals/<int:deal_id>/stage")
def deal_stage(deal_id: int):
    def move():
        deal = deals.move_stage(deal_id, request.form.get("stage", ""), actor_id=current_actor().id,
                                reason=request.form.get("reason", "").strip() or None)
        return f"Moved to {deal.stage.label}."
    return _act(deal_id, move)


@web_bp.post("/deals/<int:deal_id>/close")
def deal_close(deal_id: int):
    def close():
        outcome = request.form.get("outcome")
        if outcome not in ("won", "lost"):
            raise Invalid({"outcome": "Choose won or lost."})
        deal = deals.close(deal_id, outcome, reason=request.form.get("reason", "").strip()[:2000] or None,
                           actor_id=current_actor().id)
        return f"Deal closed as {deal.stage.outcome}."
    return _act(deal_id, close)


@web_bp.post("/deals/<int:deal_id>/archive")
def deal_archive(deal_id: int):
    deals.get(deal_id)
    require_delete_permission()  # a refusal is the 403 page, never a redirect

    def archive():
        deals.archive(deal_id, request.form.get("reason", "")[:2000], actor_id=current_actor().id)
        return "Deal archived."
    return _act(deal_id, archive)


@web_bp.post("/deals/<int:deal_id>/delete")
def deal_delete(deal_id: int):
    deals.get(deal_id)
    require_delete_permission()
    try:
        deals.delete(deal_id, actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, url_for("crm.deal_detail", deal_id=deal_id))
    notify("Deal deleted.")
    return redirect(url_for("crm.deals"))
