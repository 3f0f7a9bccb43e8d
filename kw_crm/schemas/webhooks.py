"""Webhook endpoint and delivery shapes. URL, events and secret are checked by the webhooks
service (the settings page shares it); these schemas check types and unknown fields first."""
from marshmallow import Schema, fields, validate

from .base import StrictSchema, Text, Timestamp

EVENTS_DESCRIPTION = "Event names (see GET /webhooks/events), or \"*\" for every event."


class WebhookInput(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(1, 2000), metadata={
        "description": "http(s) URL that receives a JSON POST per event."})
    events = fields.List(fields.String(validate=validate.Length(1, 60)), required=True,
                         validate=validate.Length(1, 100), metadata={"description": EVENTS_DESCRIPTION})
    secret = fields.String(allow_none=True, validate=validate.Length(16, 200), metadata={
        "description": "Signs the bodies (HMAC-SHA256); absent: one is generated and returned once."})
    description = Text(200)


class WebhookUpdate(WebhookInput):
    active = fields.Boolean(metadata={"description": "true re-enables a disabled endpoint; false pauses it."})


class WebhookOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(allow_none=True)
    active = fields.Boolean(required=True)
    consecutive_failures = fields.Integer(required=True)
    disabled_at = Timestamp(allow_none=True)
    disabled_reason = fields.String(allow_none=True, metadata={"description": "Why it was disabled."})
    created_at = Timestamp(allow_none=True)


class WebhookCreated(WebhookOut):
    secret = fields.String(required=True, metadata={"description": "Shown in this answer only."})


class DeliveryOut(Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The body's id: the same on a resend."})
    event = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "delivered", "failed")))
    attempts = fields.Integer(required=True)
    response_status = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = Timestamp(allow_none=True)
    last_attempt_at = Timestamp(allow_none=True)
    delivered_at = Timestamp(allow_none=True)
