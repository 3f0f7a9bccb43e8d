"""Input and output schemas of the communication log, mail capture, the review queue, conversations,
duplicates and contact merge.

Types, lengths and enumerations only; whether a linked record exists in the tenant and belongs to
the customer is the service's question."""
import re
from datetime import UTC

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .base import Id, StrictSchema, Text, Timestamp
from .common import QueryArgs

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


class ConversationFilterArgs(QueryArgs):
    status = fields.String(validate=validate.OneOf(("open", "closed", "archived", "all")), metadata={
        "description": "Threads of this status; absent or all: every thread."})


class MergeInput(StrictSchema):
    into_id = Id(required=True)


# ---------------------------------------------------------------------------- answers

class ProvenanceOut(Schema):
    """Where a communication came from and why it is linked where it is."""

    capture_source = fields.String(allow_none=True, required=True)
    capture_mode = fields.String(allow_none=True, required=True)
    message_id = fields.String(allow_none=True, required=True)
    thread_id = fields.String(allow_none=True, required=True)
    linkage_basis = fields.String(allow_none=True, required=True, metadata={
        "description": "manual, email_match, operator_review (pending_review while queued)."})
    matched_address = fields.String(allow_none=True, required=True)
    sender = fields.String(allow_none=True, required=True)
    recipients = fields.List(fields.String(), required=True)
    body_truncated = fields.Boolean(required=True)
    reviewed_by = fields.Integer(allow_none=True, required=True)
    reviewed_by_name = fields.String(allow_none=True, required=True)
    reviewed_at = Timestamp(allow_none=True, required=True)


class CommunicationOut(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(allow_none=True, required=True)
    contact_id = fields.Integer(allow_none=True, required=True)
    deal_id = fields.Integer(allow_none=True, required=True)
    activity_id = fields.Integer(allow_none=True, required=True)
    conversation_id = fields.Integer(allow_none=True, required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    subject = fields.String(required=True)
    preview = fields.String(required=True, metadata={"description": "The start of the text."})
    summary = fields.String(allow_none=True, metadata={"description": "The whole text (not in previews)."})
    source = fields.String(required=True, validate=validate.OneOf(("manual", "captured")))
    logged_by_id = fields.Integer(allow_none=True, required=True)
    logged_by_name = fields.String(allow_none=True, required=True)
    occurred_at = Timestamp(required=True)
    created_at = Timestamp(allow_none=True, required=True)
    provenance = fields.Nested(ProvenanceOut, required=True)


class CaptureResultOut(Schema):
    status = fields.String(required=True, validate=validate.OneOf(("linked", "review")))
    communication = fields.Nested(CommunicationOut, metadata={"description": "When linked."})
    review_id = fields.Integer(allow_none=True, metadata={"description": "When queued for review."})


class CandidateOut(Schema):
    customer_id = fields.Integer(allow_none=True, required=True)
    contact_id = fields.Integer(allow_none=True, required=True)
    name = fields.String(allow_none=True, required=True)
    basis = fields.String(required=True, metadata={"description": "contact_email or billing_email."})
    address = fields.String(allow_none=True)
    customer_name = fields.String(allow_none=True)


class ReviewItemOut(Schema):
    id = fields.Integer(required=True)
    communication_id = fields.Integer(required=True)
    reason = fields.String(required=True, metadata={
        "description": "no_match, ambiguous, contact_without_customer or customer_archived."})
    reason_text = fields.String(required=True)
    candidates = fields.List(fields.Nested(CandidateOut), required=True)
    candidate_count = fields.Integer(required=True)
    created_at = Timestamp(allow_none=True, required=True)
    subject = fields.String(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    sender = fields.String(allow_none=True, required=True)
    recipients = fields.List(fields.String(), required=True)
    occurred_at = Timestamp(required=True)
    preview = fields.String(required=True)
    message_id = fields.String(allow_none=True, required=True)
    thread_id = fields.String(allow_none=True, required=True)
    capture_source = fields.String(allow_none=True, required=True)
    capture_mode = fields.String(allow_none=True, required=True)


class DismissedOut(Schema):
    id = fields.Integer(required=True)
    resolution = fields.String(required=True, validate=validate.OneOf(("dismissed",)))
    resolved_at = Timestamp(required=True)
    resolved_by = fields.Integer(allow_none=True, required=True)
    resolved_by_name = fields.String(allow_none=True, required=True)


class ConversationOut(Schema):
    id = fields.Integer(required=True)
    customer_id = fields.Integer(allow_none=True, required=True)
    thread_id = fields.String(required=True)
    subject = fields.String(allow_none=True, required=True)
    message_count = fields.Integer(required=True)
    last_message_at = Timestamp(allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf(("open", "closed", "archived")))
    channel = fields.String(allow_none=True, required=True)


class _CustomerMember(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    billing_email = fields.String(allow_none=True, required=True)
    lifecycle_stage = fields.String(allow_none=True, required=True)


class CustomerDuplicatesOut(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(("similar_name", "billing_domain")))
    key = fields.String(required=True)
    explanation = fields.String(required=True)
    customers = fields.List(fields.Nested(_CustomerMember), required=True)


class _ContactMember(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    company = fields.String(allow_none=True, required=True)
    customer_id = fields.Integer(allow_none=True, required=True)
    job_title = fields.String(allow_none=True, required=True)


class ContactDuplicatesOut(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(("same_email", "same_name_company")))
    key = fields.String(required=True)
    explanation = fields.String(required=True)
    contacts = fields.List(fields.Nested(_ContactMember), required=True)
