"""Webhook endpoints (``/api/crm/webhooks``), their delivery log, resend and a test ping."""
from flask import jsonify

from .. import signals
from ..guard import current_actor, require_delete_permission
from ..schemas.webhooks import DeliveryOut, WebhookCreated, WebhookInput, WebhookOut, WebhookUpdate
from ..services import webhooks
from . import api_bp, doc, list_response, load, page_params

webhook_out, delivery_out = WebhookOut(), DeliveryOut()


@api_bp.get("/webhooks/events")
@doc("Event names an endpoint can subscribe to", response={"type": "array", "items": {"type": "string"}},
     tag="Webhooks")
def webhook_events():
    """Every signal of kw_crm.signals, including those other modules add."""
    return jsonify([webhooks.ALL_EVENTS, *signals.event_names()])


@api_bp.get("/webhooks")
@doc("List webhook endpoints", response=WebhookOut, paged=True, tag="Webhooks")
def webhooks_list():
    limit, offset = page_params()
    rows, total = webhooks.list_endpoints(limit, offset)
    return list_response(webhook_out.dump(rows, many=True), total)


@api_bp.post("/webhooks")
@doc("Add a webhook endpoint", body=WebhookInput, response=WebhookCreated, status=201, tag="Webhooks")
def webhooks_create():
    """Each subscribed event is POSTed as JSON `{id, event, occurred_at, data}` with the header
    `X-KW-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the secret>`."""
    endpoint = webhooks.create_endpoint(load(WebhookInput()), actor_id=current_actor().id)
    return jsonify(WebhookCreated().dump(endpoint)), 201


@api_bp.get("/webhooks/<int:webhook_id>")
@doc("Get a webhook endpoint", response=WebhookOut, tag="Webhooks")
def webhooks_get(webhook_id: int):
    return jsonify(webhook_out.dump(webhooks.get_endpoint(webhook_id)))


@api_bp.patch("/webhooks/<int:webhook_id>")
@doc("Change, pause or re-enable a webhook endpoint", body=WebhookUpdate(partial=True), response=WebhookOut,
     tag="Webhooks")
def webhooks_update(webhook_id: int):
    webhooks.get_endpoint(webhook_id)
    endpoint = webhooks.update_endpoint(webhook_id, load(WebhookUpdate(), partial=True), actor_id=current_actor().id)
    return jsonify(webhook_out.dump(endpoint))


@api_bp.delete("/webhooks/<int:webhook_id>")
@doc("Delete a webhook endpoint and its delivery log", status=204, tag="Webhooks")
def webhooks_delete(webhook_id: int):
    require_delete_permission()  # it deletes the delivery log too: a destructive action
    webhooks.delete_endpoint(webhook_id, actor_id=current_actor().id)
    return "", 204


@api_bp.get("/webhooks/<int:webhook_id>/deliveries")
@doc("The endpoint's delivery log, newest first", response=DeliveryOut, paged=True, tag="Webhooks")
def webhooks_deliveries(webhook_id: int):
    limit, offset = page_params()
    rows, total = webhooks.list_deliveries(webhook_id, limit, offset)
    return list_response(delivery_out.dump(rows, many=True), total)


@api_bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend")
@doc("Send a delivery again", response=DeliveryOut, status=202, tag="Webhooks")
def webhooks_resend(webhook_id: int, delivery_id: int):
    """The same body and event id; the receiver can drop a repeat by the id."""
    delivery = webhooks.resend(webhook_id, delivery_id, actor_id=current_actor().id)
    return jsonify(delivery_out.dump(delivery)), 202


@api_bp.post("/webhooks/<int:webhook_id>/ping")
@doc("Send a test event (`ping`)", response=DeliveryOut, status=202, tag="Webhooks")
def webhooks_ping(webhook_id: int):
    delivery = webhooks.send_test(webhook_id, actor_id=current_actor().id)
    return jsonify(delivery_out.dump(delivery)), 202
