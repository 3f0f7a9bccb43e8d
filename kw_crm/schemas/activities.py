"""JSON shapes of activities and the ranked queue rows.

``title`` is the activity's headline (seed 004); ``subject`` (seed 000) is accepted as another
name for it on input and returned as a copy of it."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from ..models import ACTIVITY_TYPES
from ..services.activities import NOTE_MAX, TITLE_MAX
from .base import Id, StrictSchema, Text, Timestamp
from .common import QueryArgs


class _TitleOrSubject(StrictSchema):
    BLANK_IS_NONE = ("description", "due_date")

    @pre_load
    def _subject_is_title(self, data, **_kwargs):
        if isinstance(data, dict) and "subject" in data:
            data = dict(data)
            subject = data.pop("subject")
            if "title" in data and data["title"] != subject:
                raise ValidationError({"subject": ["Send title or subject (the same field), not both."]})
            data["title"] = subject
        return data


class ActivityCreateInput(_TitleOrSubject):
    """``POST /activities``: queue work needs a title, a due date and a customer, contact or
    deal (the service checks the links and the due date, so pages and API agree)."""

    title = Text(TITLE_MAX, required=True, min_length=1)
    type = fields.String(validate=validate.OneOf(ACTIVITY_TYPES))
    description = Text(NOTE_MAX)
    due_date = fields.Date(allow_none=True)
    customer_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    deal_id = Id(allow_none=True)
    owner_id = Id(allow_none=True)


class ActivityUpdateInput(_TitleOrSubject):
    title = Text(TITLE_MAX, min_length=1, allow_none=False)
    type = fields.String(validate=validate.OneOf(ACTIVITY_TYPES))
    description = Text(NOTE_MAX)
    due_date = fields.Date(allow_none=True)
    customer_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)
    deal_id = Id(allow_none=True)
    owner_id = Id(allow_none=True)


class ContactActivityInput(_TitleOrSubject):
    """``POST /contacts/<id>/activities`` (seed 000): the due date stays optional there."""

    type = fields.String(required=True, validate=validate.OneOf(ACTIVITY_TYPES))
    title = Text(TITLE_MAX, required=True, min_length=1)
    description = Text(NOTE_MAX)
    due_date = fields.Date(allow_none=True)
    owner_id = Id(allow_none=True)
    deal_id = Id(allow_none=True)


class ActivityOutput(Schema):
    id = fields.Integer()
    type = fields.String()
    title = fields.String()
    subject = fields.String()  # a copy of title (the model's synonym; rows carry both keys)
    description = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    deal_id = fields.Integer(allow_none=True)
    completed_at = Timestamp(allow_none=True)
    created_at = Timestamp()


class ActivityRowOutput(ActivityOutput):
    customer_name = fields.String(allow_none=True)
    deal_title = fields.String(allow_none=True)
    owner_name = fields.String(allow_none=True)


class _Priority(Schema):
    score = fields.Integer()
    fit = fields.Integer()
    intent = fields.Integer()


class _Signal(Schema):
    label = fields.String()
    effect = fields.String()


class _Sequence(Schema):
    eligible = fields.Boolean()
    blockers = fields.List(fields.String())


class _Context(Schema):
    customer_name = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    deal_title = fields.String(allow_none=True)
    stage_label = fields.String(allow_none=True)
    owner_name = fields.String(allow_none=True)


class QueueRowOutput(Schema):
    activity = fields.Nested(ActivityOutput)
    priority = fields.Nested(_Priority)
    signals = fields.List(fields.Nested(_Signal))
    next_best_action = fields.String()
    sequence = fields.Nested(_Sequence)
    context = fields.Nested(_Context, metadata={"description": "Names of the linked records, for display."})


class ActivityFilterArgs(QueryArgs):
    """``GET /activities`` filters (read by the view, which shares its checks with the page)."""

    owner_id = Id()
    customer_id = Id()
    contact_id = Id()
    deal_id = Id()
    status = fields.String(validate=validate.OneOf(("open", "done", "all")), metadata={"description": "Default open."})
    due_before = fields.Date(metadata={"description": "Due on or before this day."})
    due_after = fields.Date(metadata={"description": "Due on or after this day."})


class QueueArgs(QueryArgs):
    owner_id = Id(metadata={"description": "Another user's queue (default: yours)."})
