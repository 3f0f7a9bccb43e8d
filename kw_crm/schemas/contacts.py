"""Marshmallow schemas of the contacts API: input (strict, per-field messages) and output."""
from marshmallow import Schema, fields, validate

from ..db import MAX_ID
from ..models import CONTACT_STATUSES, CONTACT_TYPES
from ..services.activities import NOTE_MAX
from .base import Id, StrictSchema, Text, Timestamp
from .common import QueryArgs
from .communications import ProvenanceOut


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
    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    job_title = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    type = fields.String(required=True, validate=validate.OneOf(CONTACT_TYPES))
    status = fields.String(required=True, validate=validate.OneOf(CONTACT_STATUSES))
    owner_id = fields.Integer(allow_none=True)
    notes = fields.String(allow_none=True)
    is_decision_maker = fields.Boolean(required=True)
    vendor_user_id = fields.Integer(allow_none=True)
    deal_count = fields.Integer(metadata={"description": "Non-archived deals of the contact."})
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)


class ContactFilterArgs(QueryArgs):
    type = fields.String(validate=validate.OneOf(CONTACT_TYPES, error="Pick one of: {choices}."))
    status = fields.String(validate=validate.OneOf(CONTACT_STATUSES, error="Pick one of: {choices}."))
    q = Text(200, allow_none=False, metadata={"description": "Matches name, email or company."})
    owner_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    customer_id = fields.Integer(validate=validate.Range(1, MAX_ID))


class ContactListArgs(ContactFilterArgs):
    after = fields.String(validate=validate.Length(max=1020), metadata={
        "description": "Keyset paging: the X-Next-Cursor of the previous page (instead of offset)."})


class BulkInput(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(("reassign", "delete")))
    ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=1000))
    owner_id = Id(allow_none=True)


class NoteInput(StrictSchema):
    body = Text(NOTE_MAX, required=True, min_length=1)


class BulkResult(Schema):
    action = fields.String(required=True, validate=validate.OneOf(("reassign", "delete")))
    count = fields.Integer(required=True, metadata={"description": "Contacts changed."})
    ids = fields.List(fields.Integer(), required=True)


class NoteOutput(Schema):
    id = fields.Integer(required=True)
    contact_id = fields.Integer(allow_none=True)
    body = fields.String(required=True)
    author_id = fields.Integer(allow_none=True)
    created_at = Timestamp(allow_none=True)


class TimelineEntry(Schema):
    kind = fields.String()
    id = fields.Integer()
    created_at = Timestamp()
    body = fields.String()
    author_id = fields.Integer()
    type = fields.String()
    title = fields.String()
    subject = fields.String()
    description = fields.String()
    due_date = fields.Date()
    completed_at = Timestamp()
    owner_id = fields.Integer()
    # communications (kind "communication"; created_at is when it happened)
    channel = fields.String(allow_none=True)
    direction = fields.String(allow_none=True)
    preview = fields.String(allow_none=True)
    source = fields.String(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    deal_id = fields.Integer(allow_none=True)
    activity_id = fields.Integer(allow_none=True)
    conversation_id = fields.Integer(allow_none=True)
    logged_by_id = fields.Integer(allow_none=True)
    occurred_at = Timestamp(allow_none=True)
    provenance = fields.Nested(ProvenanceOut)


class AttachmentOutput(Schema):
    id = fields.Integer(required=True)
    contact_id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(required=True)
    uploaded_by_id = fields.Integer(allow_none=True)
    created_at = Timestamp(allow_none=True)
