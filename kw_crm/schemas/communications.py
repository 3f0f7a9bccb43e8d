"""Input schemas of the communication log, mail capture, the review queue and contact merge.

Types, lengths and enumerations only; whether a linked record exists in the tenant and belongs to
the customer is the service's question."""
import re
from datetime import UTC

from marshmallow import ValidationError, fields, validate, validates_schema

from .base import Id, StrictSchema, Text

CHANNELS = ("email", "phone", "meeting", "chat", "other")
CHANNEL_ALIASES = {"call": "phone", "letter": "other"}  # the first wave's names, still accepted
DIRECTIONS = ("inbound", "outbound")
CAPTURE_MODES = ("sync", "bcc", "forward", "import")
SUBJECT_MAX, SUMMARY_MAX = 255, 20_000
ADDRESS_MAX, MAX_RECIPIENTS = 320, 500
MESSAGE_ID_MAX = 255
# A captured body longer than this is stored cut (``body_truncated``); the API refuses requests
# above CRM_MAX_CAPTURE_BYTES (413) before reading them.
BODY_MAX = 100_000


class Channel(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        text = CHANNEL_ALIASES.get(text, text)
        if text not in CHANNELS:
            raise ValidationError(f"Use one of {', '.join(CHANNELS)}.")
        return text


class UtcDateTime(fields.DateTime):
    """ISO 8601; an offset is converted to UTC, a naive value is taken as UTC (stored naive)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            try:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            except OverflowError:  # 0001-01-01T00:00:00+01:00 has no UTC time
                raise ValidationError("The date is out of range once its UTC offset is applied.") from None
        return moment


class ManualCommunicationInput(StrictSchema):
    BLANK_IS_NONE = ("summary", "occurred_at", "contact_id", "deal_id", "activity_id")
    subject = Text(SUBJECT_MAX, required=True, min_length=1)
    summary = Text(SUMMARY_MAX)
    channel = Channel(load_default="email")
    direction = fields.String(load_default="outbound", validate=validate.OneOf(DIRECTIONS))
    occurred_at = UtcDateTime(allow_none=True, error_messages={"invalid": "Use an ISO 8601 date and time."})
    contact_id = Id(allow_none=True)
    deal_id = Id(allow_none=True)
    activity_id = Id(allow_none=True)


# A bare address of these characters is its own parse: no need for the (slow) header parser.
_CONTROL = re.compile("[\x00-\x1f]")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+\Z")


class Address(fields.String):
    """One mail address, bare or as ``Name <addr>``; loads as the lower-cased address."""

    def _deserialize(self, value, attr, data, **kwargs):
        from email.utils import parseaddr

        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > ADDRESS_MAX or _CONTROL.search(text):
            raise ValidationError("Not a valid mail address.")
        address = (text if _PLAIN_ADDRESS.match(text) else parseaddr(text)[1]).strip().lower()
        local, _, domain = address.rpartition("@")
        if not local or "." not in domain or " " in address:
            raise ValidationError("Not a valid mail address.")
        return address


class CaptureInput(StrictSchema):
    """One message from the host's mail system (``POST /communications/capture`` and
    ``kw_crm.capture.ingest``)."""

    BLANK_IS_NONE = ("thread_id", "capture_source", "capture_mode", "content_type")
    message_id = Text(MESSAGE_ID_MAX, required=True, min_length=1)
    thread_id = Text(MESSAGE_ID_MAX)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    sender = Address(required=True)
    recipients = fields.List(Address(), required=True, validate=validate.Length(max=MAX_RECIPIENTS))
    subject = fields.String(load_default="", validate=validate.Length(max=10 * SUBJECT_MAX))
    body = fields.String(load_default="")
    content_type = fields.String(allow_none=True, validate=validate.OneOf(("text/plain", "text/html")))
    occurred_at = UtcDateTime(required=True, error_messages={"invalid": "Use an ISO 8601 date and time."})
    channel = Channel(load_default="email")
    capture_source = Text(60)
    capture_mode = fields.String(allow_none=True, validate=validate.OneOf(CAPTURE_MODES))

    @validates_schema
    def _a_party(self, data, **_kwargs):
        if data.get("direction") == "outbound" and not data.get("recipients"):
            raise ValidationError("An outbound message needs at least one recipient.", "recipients")


class ResolveInput(StrictSchema):
    BLANK_IS_NONE = ("contact_id", "deal_id", "activity_id")
    customer_id = Id(required=True)
    contact_id = Id(allow_none=True)
    deal_id = Id(allow_none=True)
    activity_id = Id(allow_none=True)


class ConversationStatusInput(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(("open", "closed", "archived")))


class MergeInput(StrictSchema):
    into_id = Id(required=True)
