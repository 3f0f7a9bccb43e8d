"""The deal page: a read-only view of the deal (what a salesperson reads ten times for every
edit) with its actions, and the Edit form on its own URL (GET shows it, POST saves and returns
to the view; a refused save re-renders the form with the typed values and field messages).

Actions that the service refuses re-render the view with the message beside the action and
what the admin typed kept (an archive reason is not retyped after a 409)."""
from flask import redirect, request, url_for
from marshmallow import ValidationError
from sqlalchemy import select

from .. import host
from ..db import session, utcnow
from ..errors import CrmError, Invalid
from ..guard import current_actor, has_delete_permission, require_delete_permission
from ..inputs import parse_id
from ..models import Contact, Deal
from ..schemas.deals import DealUpdateSchema
from ..services import audit, automation, deals, products, stages
from . import fail_back, render, web_bp
from .deal_form import CLOSED_FIELDS, FORM_FIELDS, choices, form_data, values_of
from .notices import notify


def _related(deal: Deal) -> dict:
    """The records the view names: customer, contact, owner, product and plan (one query each)."""
    User = host.user_model()
    product = products.find_product(deal.product_id) if deal.product_id else None
    plan = next((p for p in (product or {}).get("plans", []) if p["id"] == deal.plan_id), None)
    return {
        "customer": host.tenant_customer(deal.customer_id) if deal.customer_id else None,
        "contact": session.scalar(select(Contact).where(Contact.id == deal.contact_id)) if deal.contact_id else None,
        "owner": session.scalar(host.tenant_users().where(User.id == deal.owner_id)) if deal.owner_id else None,
        "product": product, "plan": plan,
    }


def _view(deal: Deal, *, status: int = 200, archive: dict | None = None):
    """The read-only deal page; ``archive`` carries a refused archive's reason and message."""
    return render("deals/detail.html", status=status, deal=deal, stages=stages.list_stages(),
                  history=audit.history("deal", deal.id, limit=20),
                  automation_runs=automation.runs_for_deal(deal.id, limit=10),
                  catalogue=products.catalogue(), archive=archive or {}, today=utcnow().date(),
                  can_delete=has_delete_permission(), **_related(deal))


@web_bp.get("/deals/<int:deal_id>", endpoint="deal_detail")
def deal_detail(deal_id: int):
    return _view(deals.get(deal_id))


@web_bp.route("/deals/<int:deal_id>/edit", methods=["GET", "POST"], endpoint="deal_edit")
def deal_edit(deal_id: int):
    deal = deals.get(deal_id)
    if deal.archived_at is not None:
        notify("Archived deals cannot be edited.", "warning")
        return redirect(url_for("crm.deal_detail", deal_id=deal_id))
    errors, values = {}, values_of(deal)
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            fields = FORM_FIELDS if not deals.is_closed(deal) else CLOSED_FIELDS
            data = DealUpdateSchema().load(form_data(request.form, fields=fields), partial=True)
            deals.update(deal_id, data, version=parse_id(request.form.get("version", "")),
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
    status = 409 if "_form" in errors else 422 if errors else 200
    return render("deals/edit.html", status=status, deal=deal, values=values, errors=errors, options=choices())


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
    reason = request.form.get("reason", "")[:2000]
    try:
        deals.archive(deal_id, reason, actor_id=current_actor().id)
    except CrmError as error:
        session.rollback()
        messages = [m for ms in error.fields.values() for m in ms] if error.fields else [error.message]
        return _view(deals.get(deal_id), status=error.status, archive={"reason": reason, "errors": messages})
    notify("Deal archived.")
    return redirect(url_for("crm.deal_detail", deal_id=deal_id))


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
