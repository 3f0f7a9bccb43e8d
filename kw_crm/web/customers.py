"""Customer pages: the directory, create/edit forms and the account workspace.

Forms post plain fields (CSRF through Flask-WTF's CSRFProtect); the services validate, and a
refusal is shown beside the fields (422) or flashed on the page the admin came from (409/403)."""

from flask import redirect, request, url_for

from .. import host
from ..errors import CrmError, Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import parse_id
from ..models import CONVERSATION_STATUSES, LIFECYCLE_STAGES
from ..services import capture_review, communications, conversations, customers
from . import fail_back, render, web_bp
from .forms import TYPE_LABELS
from .messages import human_messages
from .notices import notify
from .paging import paging

PAGE_SIZE = 50
FILTER_ARGS = ("search", "lifecycle_stage", "health_min", "health_max", "include_inactive")
FORM_FIELDS = ("name", "lifecycle_stage", "lead_source", "billing_email", "owner_id", "health_score", "reason")




@web_bp.route("/customers", endpoint="customers")
def customers_page():
    errors, items, total = {}, [], 0
    paged = paging(PAGE_SIZE)
    page = paged.page
    try:
        filters = customers.parse_filters(request.args)
        items, total = customers.list_customers(filters, PAGE_SIZE, paged.offset)
    except Invalid as error:
        errors = error.fields
    pages = paged.pages(total)
    # Only the known filters travel into links: other query arguments (``endpoint``,
    # ``_method``...) would become url_for's own arguments.
    args = {k: request.args[k] for k in FILTER_ARGS if request.args.get(k)}
    return render("customers/list.html", status=422 if errors else 200, customers=items, total=total,
                  relationships=customers.relationships([c["id"] for c in items]), type_labels=TYPE_LABELS,
                  page=page, pages=pages, first=(page - 1) * PAGE_SIZE + 1 if items else 0,
                  last=(page - 1) * PAGE_SIZE + len(items), args=args, errors=errors, stages=LIFECYCLE_STAGES)


def _form_data() -> dict:
    data = {k: request.form.get(k) for k in FORM_FIELDS if k in request.form}
    for key in ("lead_source", "billing_email", "health_score", "owner_id"):
        if key in data and data[key] is not None and not data[key].strip():
            data[key] = None
    if data.get("owner_id") is not None:  # the picker sends an id; anything else stays text (a 422)
        data["owner_id"] = parse_id(data["owner_id"].strip()) or data["owner_id"]
    return data


def _owners(selected_id=None) -> list[dict]:
    """The first 200 active users (the search box fetches others), plus the current owner."""
    owners = customers.search_owners(None, limit=200)
    if selected_id and all(o["id"] != selected_id for o in owners):
        user = host.active_tenant_user(selected_id)
        if user is not None:
            owners.append({"id": user.id, "name": user.name, "email": user.email})
    return owners


@web_bp.route("/customers/new", methods=["GET", "POST"])
def customer_new():
    values = {"lifecycle_stage": "prospect", "owner_id": current_actor().id}
    errors = {}
    if request.method == "POST":
        values = _form_data()
        values.pop("health_score", None)
        values.pop("reason", None)
        try:
            created = customers.create_customer(values, actor_id=current_actor().id)
        except CrmError as error:
            errors = error.fields or {"name": [error.message]}
        else:
            notify(f"Customer {created['name']} created.")
            return redirect(url_for("crm.customer_detail", customer_id=created["id"]))
    return render("customers/form.html", status=422 if errors else 200, values=values, errors=errors,
                  stages=LIFECYCLE_STAGES, owners=_owners(), customer=None)


@web_bp.route("/customers/<int:customer_id>")
def customer_detail(customer_id):
    return _workspace(customer_id)


def _workspace(customer_id, status: int = 200, archive: dict | None = None):
    """The workspace page; ``archive`` ({"reason", "error"}) re-shows a refused archive form as typed."""
    data = customers.workspace(customer_id)
    shown = request.args.get("conversations") or "open"
    threads, threads_total = conversations.list_for_customer(
        customer_id, conversations.parse_status(shown) if shown in CONVERSATION_STATUSES else None, 10, 0)
    return render("customers/workspace.html", status, ws=data, customer=data["customer"],
                  channels=communications.CHANNELS, conversations=threads, conversations_total=threads_total,
                  conversation_filter=shown, waiting_captures=capture_review.waiting_count(),
                  archive=archive or {"reason": "", "error": None})


@web_bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
def customer_edit(customer_id):
    customer = customers.get_customer(customer_id)
    if customer["archived_at"] is not None:
        notify("This customer is archived and cannot be edited.", "error")
        return redirect(url_for("crm.customer_detail", customer_id=customer_id))
    values, errors = dict(customer), {}
    if request.method == "POST":
        values = _form_data()
        values.pop("name", None)
        try:
            customers.update_customer(customer_id, values, actor_id=current_actor().id)
        except Invalid as error:
            errors = error.fields
        except CrmError as error:
            return fail_back(error, url_for("crm.customer_detail", customer_id=customer_id))
        else:
            notify("Customer updated.")
            return redirect(url_for("crm.customer_detail", customer_id=customer_id))
    return render("customers/form.html", status=422 if errors else 200, values=values, errors=errors,
                  stages=LIFECYCLE_STAGES, owners=_owners(values.get("owner_id")), customer=customer)


@web_bp.post("/customers/<int:customer_id>/archive")
def customer_archive(customer_id):
    back = url_for("crm.customer_detail", customer_id=customer_id)
    customers.get_customer(customer_id)
    require_delete_permission()
    reason = request.form.get("reason") or ""
    try:
        customers.archive_customer(customer_id, reason, actor_id=current_actor().id)
    except CrmError as error:  # shown beside the form, which keeps the typed reason
        message = " ".join(human_messages(error.fields)) or error.message
        return _workspace(customer_id, error.status, archive={"reason": reason[:2000], "error": message})
    notify("Customer archived. It is hidden from active views; its history is kept.")
    return redirect(back)


@web_bp.post("/customers/<int:customer_id>/delete")
def customer_delete(customer_id):
    back = url_for("crm.customer_detail", customer_id=customer_id)
    customer = customers.get_customer(customer_id)
    require_delete_permission()
    try:
        customers.delete_customer(customer_id, actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify(f"Customer {customer['name']} deleted.")
    return redirect(url_for("crm.customers"))


@web_bp.post("/customers/<int:customer_id>/communications")
def customer_log_communication(customer_id):
    back = url_for("crm.customer_detail", customer_id=customer_id)
    customers.get_customer(customer_id)  # another tenant's id is the 404 page, not a redirect
    try:
        communications.log_communication(customer_id, {k: request.form.get(k) for k in ("subject", "summary", "channel")},
                                         actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify("Communication logged.")
    return redirect(back)
