"""Marshmallow schemas of the contacts API: input (strict, per-field messages) and output."""
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from ..db import MAX_ID
from ..models import ACTIVITY_TYPES, CONTACT_STATUSES, CONTACT_TYPES
from ..services.activities import NOTE_MAX, SUBJECT_MAX
from .common import QueryArgs


def _no_control_chars(value: str) -> None:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value) or "\x7f" in value:
        raise ValidationError("Control characters are not allowed.")




def Id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Text(max_length: int, *, required: bool = False, allow_none: bool = True, min_length: int = 0, **kwargs):
    """A stripped string with a length range and no control characters."""
    return fields.String(required=required, allow_none=allow_none and not required,
                         validate=[validate.Length(min=min_length, max=max_length), _no_control_chars], **kwargs)


class StrictSchema(Schema):
    BLANK_IS_NONE: tuple[str, ...] = ()

    class Meta:
        unknown = RAISE

    @pre_load
    def _strip(self, data, **_kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Expected a JSON object.")
        data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        for name in self.BLANK_IS_NONE:
            if data.get(name) == "":
                data[name] = None
        return data


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
    created_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class ContactFilterArgs(QueryArgs):
    type = fields.String(validate=validate.OneOf(CONTACT_TYPES, error="Pick one of: {choices}."))
    status = fields.String(validate=validate.OneOf(CONTACT_STATUSES, error="Pick one of: {choices}."))
    q = Text(200, allow_none=False, metadata={"description": "Matches name, email or company."})
    owner_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    customer_id = fields.Integer(validate=validate.Range(1, MAX_ID))


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
    created_at = fields.DateTime(allow_none=True)


class ActivityInput(StrictSchema):
    BLANK_IS_NONE = ("description", "due_date")
    type = fields.String(required=True, validate=validate.OneOf(ACTIVITY_TYPES))
    subject = Text(SUBJECT_MAX, required=True, min_length=1)
    description = Text(NOTE_MAX)
    due_date = fields.Date(allow_none=True)
    owner_id = Id(allow_none=True)


class ActivityOutput(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True)
    subject = fields.String(required=True)
    description = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    deal_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime(allow_none=True)


class TimelineEntry(Schema):
    """A note (``kind: note``) or an activity (``kind: activity``) of the contact's timeline."""

    kind = fields.String(required=True, validate=validate.OneOf(("note", "activity")))
    id = fields.Integer(required=True)
    created_at = fields.DateTime(allow_none=True)
    body = fields.String(allow_none=True)
    author_id = fields.Integer(allow_none=True)
    type = fields.String(allow_none=True)
    subject = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    owner_id = fields.Integer(allow_none=True)


class AttachmentOutput(Schema):
    id = fields.Integer(required=True)
    contact_id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(allow_none=True)
    size_bytes = fields.Integer(required=True)
    uploaded_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime(allow_none=True)
