"""The Risk & Health tab: churn-risk accounts, capture exceptions (the review queue with its
resolve dialog) and duplicate candidates with contact merge; plus the conversation actions of
the customer workspace. Thin: parse the form, call the service, show the refusal or go back."""

from flask import redirect, request, url_for
from sqlalchemy import select

from ..db import session
from ..errors import CrmError, Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import safe_redirect_target
from ..models import Activity, Deal, Stage
from ..services import capture_review, contact_merge, conversations, dashboard, duplicates
from ..services import contacts as contact_service
from . import fail_back, render, web_bp
from .notices import notify
from .paging import Paging, page_number

QUEUE_PAGE = 20
PICK_LIMIT = 200  # deals / activities offered per page of the queue


def _choices(items: list[dict]) -> tuple[dict, dict]:
    """Open deals and open activities of the customers the page's candidates name, for the
    resolve dialog's pickers: two queries for the whole page."""
    ids = {c["customer_id"] for item in items for c in item["candidates"] if c["customer_id"]}
    if not ids:
        return {}, {}
    deals, activities = {}, {}
    for deal_id, title, customer_id in session.execute(
            select(Deal.id, Deal.title, Deal.customer_id).join(Stage, Stage.id == Deal.stage_id)
            .where(Deal.customer_id.in_(ids), Deal.archived_at.is_(None), Stage.outcome.is_(None))
            .order_by(Deal.created_at.desc(), Deal.id.desc()).limit(PICK_LIMIT)):
        deals.setdefault(customer_id, []).append({"id": deal_id, "title": title})
    for activity_id, subject, customer_id in session.execute(
            select(Activity.id, Activity.subject, Activity.customer_id)
            .where(Activity.customer_id.in_(ids), Activity.completed_at.is_(None))
            .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(PICK_LIMIT)):
        activities.setdefault(customer_id, []).append({"id": activity_id, "subject": subject})
    return deals, activities


def review_queue(page: int) -> dict:
    """What the review queue partial (``communications/_review_queue.html``) needs for one page
    of the queue: four queries. Shared by Risk & Health and Communications."""
    queue, queue_total = capture_review.queue(QUEUE_PAGE, Paging(page, QUEUE_PAGE).offset)
    deals, activities = _choices(queue)
    return {"queue": queue, "queue_total": queue_total, "queue_page": page, "deals": deals,
            "activities": activities, "queue_pages": Paging(page, QUEUE_PAGE).pages(queue_total)}


def _back() -> str:
    """Where a resolve or dismiss returns: the page it was sent from (``next``), else the tab."""
    return safe_redirect_target(request.form.get("next") or "", url_for("crm.risk"))


@web_bp.route("/risk", endpoint="risk")
def risk_page():
    summary = dashboard.summary()
    return render("risk/index.html", **review_queue(page_number()),
                  churn=summary["churn_risk"], at_churn_risk=summary["at_churn_risk"],
                  customer_groups=duplicates.customer_groups(), contact_groups=duplicates.contact_groups())


def _form_id(name: str, errors: dict) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors[name] = ["Pick a record from the list."]
        return None


@web_bp.post("/captures/<int:review_id>/resolve")
def capture_resolve(review_id):
    back = _back()
    errors: dict = {}
    choice = request.form.get("candidate") or ""
    if choice and choice != "other":
        customer_part, _, contact_part = choice.partition(":")
        data = {"customer_id": customer_part, "contact_id": contact_part}
    else:
        data = {"customer_id": request.form.get("other_customer_id"), "contact_id": request.form.get("contact_id")}
    values = {}
    for key in ("customer_id", "contact_id"):
        raw = (data[key] or "").strip()
        try:
            values[key] = int(raw) if raw else None
        except ValueError:
            errors[key] = ["Pick a customer from the list."]
    values["deal_id"] = _form_id("deal_id", errors)
    values["activity_id"] = _form_id("activity_id", errors)
    try:
        if errors:
            raise Invalid(errors)
        if values["customer_id"] is None:
            raise Invalid({"customer_id": ["Pick the customer this message belongs to."]})
        entry = capture_review.resolve(review_id, {k: v for k, v in values.items() if v is not None},
                                       actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, back)
    notify(f"Linked “{entry['subject']}” to the customer (operator review).")
    return redirect(back)


@web_bp.post("/captures/<int:review_id>/dismiss")
def capture_dismiss(review_id):
    try:
        capture_review.dismiss(review_id, actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, _back())
    notify("Capture dismissed: it stays stored, linked to no customer.", "info")
    return redirect(_back())


@web_bp.post("/contacts/<int:contact_id>/merge")
def contact_merge_page(contact_id):
    contact_service.get_contact(contact_id)
    require_delete_permission()
    errors: dict = {}
    into_id = _form_id("into_id", errors)
    try:
        if errors or into_id is None:
            raise Invalid(errors or {"into_id": ["Pick the contact to keep."]})
        survivor = contact_merge.merge(contact_id, {"into_id": into_id}, actor_id=current_actor().id)
    except CrmError as error:
        return fail_back(error, url_for("crm.risk"))
    notify(f"Merged into {survivor.full_name}: notes, activities, deals, files and communications moved.")
    return redirect(url_for("crm.contact_detail", contact_id=survivor.id))


@web_bp.post("/conversations/<int:conversation_id>/status")
def conversation_status_page(conversation_id):
    back = _back()
    try:
        updated = conversations.set_status(conversation_id, {"status": request.form.get("status")},
                                           actor_id=current_actor().id)
    except CrmError as error:
        if error.status == 404:
            raise
        return fail_back(error, back)
    notify(f"Conversation “{updated['subject']}” is {updated['status']}.")
    return redirect(back)
