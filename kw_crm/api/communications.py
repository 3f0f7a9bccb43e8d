"""The communication log, mail capture, the capture review queue and conversations (JSON)."""

from flask import current_app, jsonify, request

from .. import capture
from ..guard import current_actor
from ..inputs import keeps_raw_text
from ..schemas.communications import (
    CaptureInput,
    CaptureResultOut,
    CommunicationOut,
    ConversationFilterArgs,
    ConversationOut,
    ConversationStatusInput,
    DismissedOut,
    ManualCommunicationInput,
    ResolveInput,
    ReviewItemOut,
)
from ..services import capture_review, communications, conversations
from ..tenancy import require_tenant_id
from . import api_bp, doc, json_body, list_response, page_params

CAPTURE_ENDPOINT = "crm_api.communications_capture"
communication_out, communications_out = CommunicationOut(), CommunicationOut(many=True)
conversation_out = ConversationOut()


@api_bp.get("/customers/<int:customer_id>/communications")
@doc("The customer's communication log", response=CommunicationOut, paged=True, tag="Communications")
def communications_list(customer_id):
    limit, offset = page_params()
    items, total = communications.list_communications(customer_id, limit, offset)
    return list_response(communications_out.dump(items), total)


@api_bp.post("/customers/<int:customer_id>/communications")
@doc("Log a communication", body=ManualCommunicationInput, response=CommunicationOut, status=201, tag="Communications")
def communications_create(customer_id):
    entry = communications.log_communication(customer_id, json_body(), actor_id=current_actor().id)
    return jsonify(communication_out.dump(entry)), 201


@api_bp.get("/communications/<int:communication_id>")
@doc("Get a communication", response=CommunicationOut, tag="Communications")
def communication_get(communication_id):
    return jsonify(communication_out.dump(communications.get_communication(communication_id)))


def _limit_capture_body():
    if request.endpoint == CAPTURE_ENDPOINT:
        request.max_content_length = current_app.config["CRM_MAX_CAPTURE_BYTES"]


@api_bp.record_once
def _install_capture_limit(state):
    # Before CSRFProtect (an app-level before_request the host registered first) reads the body.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _limit_capture_body)


@api_bp.post("/communications/capture")
@doc("Capture a mail", body=CaptureInput, response=CaptureResultOut, status=201, errors=(413,), tag="Communications")
@keeps_raw_text
def communications_capture():
    """201 with the stored result; 200 with the first result when the message id was seen."""
    result = capture.ingest(require_tenant_id(), json_body(), capture_source="api")
    duplicate = result.pop("duplicate")
    return jsonify(CaptureResultOut().dump(result)), 200 if duplicate else 201


@api_bp.get("/captures/review")
@doc("Captures waiting for review", response=ReviewItemOut, paged=True, tag="Communications")
def captures_review():
    limit, offset = page_params()
    items, total = capture_review.queue(limit, offset)
    return list_response(ReviewItemOut(many=True).dump(items), total)


@api_bp.post("/captures/<int:review_id>/resolve")
@doc("Resolve a capture", body=ResolveInput, response=CommunicationOut, tag="Communications")
def capture_resolve(review_id):
    return jsonify(communication_out.dump(capture_review.resolve(review_id, json_body(), actor_id=current_actor().id)))


@api_bp.post("/captures/<int:review_id>/dismiss")
@doc("Dismiss a capture", response=DismissedOut, tag="Communications")
def capture_dismiss(review_id):
    return jsonify(DismissedOut().dump(capture_review.dismiss(review_id, actor_id=current_actor().id)))


@api_bp.get("/customers/<int:customer_id>/conversations")
@doc("The customer's conversations", query=ConversationFilterArgs, response=ConversationOut, paged=True,
     tag="Communications")
def customer_conversations(customer_id):
    status = conversations.parse_status(request.args.get("status"))
    limit, offset = page_params()
    items, total = conversations.list_for_customer(customer_id, status, limit, offset)
    return list_response(ConversationOut(many=True).dump(items), total)


@api_bp.post("/conversations/<int:conversation_id>/status")
@doc("Set a conversation's status", body=ConversationStatusInput, response=ConversationOut, tag="Communications")
def conversation_status(conversation_id):
    return jsonify(conversation_out.dump(conversations.set_status(conversation_id, json_body(),
                                                                  actor_id=current_actor().id)))
