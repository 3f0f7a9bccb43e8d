"""Marshmallow schemas of the contacts API: input (strict, per-field messages) and output."""
from marshmallow import Schema, fields, validate

from ..models import CONTACT_STATUSES, CONTACT_TYPES
from ..services.activities import NOTE_MAX
from .base import Id, StrictSchema, Text


class ContactInput(StrictSchema):
    BLANK_IS_NONE = ("email", "phone", "job_title", "notes")
    first_name = Text(100, required=True, min_length=1)
    last_name = Text(100, required=True, min_length=1)
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    phone = Text(50)
    job_title = Text(150)
    company = Text(200)
    customer_id = Id(allow_none=True)
    type = fields.String(validate=validate.OneOf(CONTACT_TYPES))
    status = fields.String(validate=validate.OneOf(CONTACT_STATUSES))
    owner_id = Id(allow_none=True)
    vendor_user_id = Id(allow_none=True)
    notes = Text(NOTE_MAX)
    is_decision_maker = fields.Boolean()


class ContactOutput(Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String()
    phone = fields.String()
    job_title = fields.String()
    company = fields.String()
    customer_id = fields.Integer()
    type = fields.String()
    status = fields.String()
    owner_id = fields.Integer()
    notes = fields.String()
    is_decision_maker = fields.Boolean()
    vendor_user_id = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class BulkInput(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(("reassign", "delete")))
    ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=1000))
    owner_id = Id(allow_none=True)


class NoteInput(StrictSchema):
    body = Text(NOTE_MAX, required=True, min_length=1)


class NoteOutput(Schema):
    id = fields.Integer()
    contact_id = fields.Integer()
    body = fields.String()
    author_id = fields.Integer()
    created_at = fields.DateTime()


class TimelineEntry(Schema):
    kind = fields.String()
    id = fields.Integer()
    created_at = fields.DateTime()
    body = fields.String()
    author_id = fields.Integer()
    type = fields.String()
    title = fields.String()
    subject = fields.String()
    description = fields.String()
    due_date = fields.Date()
    completed_at = fields.DateTime()
    owner_id = fields.Integer()
    # communications (kind "communication"; created_at is when it happened)
    channel = fields.String()
    direction = fields.String()
    preview = fields.String()
    source = fields.String()
    customer_id = fields.Integer()
    deal_id = fields.Integer()
    activity_id = fields.Integer()
    conversation_id = fields.Integer()
    logged_by_id = fields.Integer()
    occurred_at = fields.DateTime()
    provenance = fields.Function(lambda e: {k: v.isoformat() if hasattr(v, "isoformat") else v
                                            for k, v in e["provenance"].items()} if "provenance" in e else None)


class AttachmentOutput(Schema):
    id = fields.Integer()
    contact_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    uploaded_by_id = fields.Integer()
    created_at = fields.DateTime()
