"""Settings: webhook endpoints (add, pause / re-enable, delete) and each one's delivery log with
resend and a test ping. The rules are the webhooks service's, shared with the API."""
from flask import redirect, request, url_for
from marshmallow import ValidationError

from .. import signals
from ..errors import Conflict, Invalid
from ..guard import current_actor, require_delete_permission
from ..schemas.webhooks import WebhookInput
from ..services import webhooks
from . import fail_back, render, web_bp
from .notices import notify

LOG_PAGE = 50


def _page(status: int = 200, **context):
    rows, _ = webhooks.list_endpoints()
    return render("settings/webhooks.html", status=status, endpoints=rows, event_names=signals.event_names(),
                  **context)


@web_bp.get("/settings/webhooks", endpoint="settings_webhooks")
def webhooks_page():
    return _page()


@web_bp.post("/settings/webhooks")
def webhooks_create():
    form = {"url": request.form.get("url", ""), "events": request.form.getlist("events"),
            "description": request.form.get("description") or None, "secret": request.form.get("secret") or None}
    try:
        endpoint = webhooks.create_endpoint(WebhookInput().load(form), actor_id=current_actor().id)
    except ValidationError as error:
        return _page(422, errors=error.messages, form=form)
    except Invalid as error:
        return _page(422, errors=error.fields, form=form)
    return _page(created=endpoint)  # rendered, so the secret never travels through the session


@web_bp.get("/settings/webhooks/<int:webhook_id>", endpoint="webhook_detail")
def webhook_detail(webhook_id: int):
    endpoint = webhooks.get_endpoint(webhook_id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = webhooks.list_deliveries(webhook_id, LOG_PAGE, (page - 1) * LOG_PAGE)
    return render("settings/webhook_detail.html", endpoint=endpoint, deliveries=rows, total=total, page=page,
                  pages=max((total + LOG_PAGE - 1) // LOG_PAGE, 1))


@web_bp.post("/settings/webhooks/<int:webhook_id>/toggle")
def webhook_toggle(webhook_id: int):
    endpoint = webhooks.get_endpoint(webhook_id)
    webhooks.update_endpoint(webhook_id, {"active": not endpoint.active}, actor_id=current_actor().id)
    notify("Endpoint enabled." if endpoint.active else "Endpoint paused: no deliveries until it is enabled.")
    if request.form.get("back") == "detail":
        return redirect(url_for("crm.webhook_detail", webhook_id=webhook_id))
    return redirect(url_for("crm.settings_webhooks"))


@web_bp.post("/settings/webhooks/<int:webhook_id>/delete")
def webhook_delete(webhook_id: int):
    require_delete_permission()  # it deletes the delivery log too: a destructive action
    webhooks.delete_endpoint(webhook_id, actor_id=current_actor().id)
    notify("Endpoint deleted with its delivery log.")
    return redirect(url_for("crm.settings_webhooks"))


@web_bp.post("/settings/webhooks/<int:webhook_id>/ping")
def webhook_ping(webhook_id: int):
    back = url_for("crm.webhook_detail", webhook_id=webhook_id)
    try:
        webhooks.send_test(webhook_id, actor_id=current_actor().id)
    except Conflict as error:
        return fail_back(error, back)
    notify("Test event queued; its attempt shows in the log below.")
    return redirect(back)


@web_bp.post("/settings/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend")
def webhook_resend(webhook_id: int, delivery_id: int):
    back = url_for("crm.webhook_detail", webhook_id=webhook_id)
    try:
        webhooks.resend(webhook_id, delivery_id, actor_id=current_actor().id)
    except Conflict as error:
        return fail_back(error, back)
    notify("Delivery queued again.")
    return redirect(back)
