"""Marshmallow schemas of the contacts API: input (strict, per-field messages) and output."""
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from ..db import MAX_ID
from ..models import CONTACT_STATUSES, CONTACT_TYPES
from ..services.activities import NOTE_MAX


def _no_control_chars(value: str) -> None:
    if any(ord(c) < 32 and c not in "\n\r\t" for c in value) or "\x7f" in value:
        raise ValidationError("Control characters are not allowed.")




def Id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Text(max_length: int, *, required: bool = False, allow_none: bool = True, min_length: int = 0):
    """A stripped string with a length range and no control characters."""
    return fields.String(required=required, allow_none=allow_none and not required,
                         validate=[validate.Length(min=min_length, max=max_length), _no_control_chars])


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
    deal_id = fields.Integer()


class AttachmentOutput(Schema):
    id = fields.Integer()
    contact_id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    uploaded_by_id = fields.Integer()
    created_at = fields.DateTime()
