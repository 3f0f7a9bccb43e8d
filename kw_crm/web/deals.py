"""Deal pages: the board (no drag-and-drop: stage moves happen on the deal page and with the
bulk stage tool), the deal table and the new-deal form. The deal page itself: deal_page.py."""
from flask import current_app, redirect, request, url_for
from marshmallow import ValidationError

from ..errors import CrmError, Invalid
from ..guard import current_actor
from ..inputs import parse_id
from ..schemas.deals import DealSchema
from ..services import deals, pipeline_view, stages
from . import fail_back, render, web_bp
from .deal_form import FORM_FIELDS, choices, form_data
from .notices import notify
from .paging import paging


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
            data = DealSchema().load(form_data(request.form, fields=FORM_FIELDS[:-1]))
            deal = deals.create(data, actor_id=current_actor().id)
        except ValidationError as error:
            errors = error.messages
        except Invalid as error:
            errors = error.fields
        else:
            notify(f"Deal \"{deal.title}\" created.")
            return redirect(url_for("crm.deal_detail", deal_id=deal.id))
    return render("deals/new.html", status=422 if errors else 200, values=values, errors=errors, options=choices())
