"""Deal input schemas: types and ranges only (existence and tenancy checks live in the service).

Money is strict: ``value_cents`` must be a JSON integer 0..10^15 — no floats (even 10.0), no
strings, no booleans — so no amount is ever silently rounded."""
from marshmallow import Schema, ValidationError, fields, validate

from ..db import MAX_ID
from ..services.currencies import normalise
from .base import StrictSchema, Timestamp
from .common import QueryArgs

MAX_VALUE_CENTS = 10**15


class StrictInt(fields.Integer):
    """An integer that refuses booleans (``True`` is an int in Python) and anything else."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class Currency(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        code = normalise(super()._deserialize(value, attr, data, **kwargs))
        if code is None:
            raise ValidationError(f"Unknown currency {value!r}: use an active ISO 4217 code such as USD or EUR.")
        return code


class Trimmed(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class DealSchema(StrictSchema):
    title = Trimmed(required=True, validate=validate.Length(1, 200, error="A title of 1-200 characters is required."))
    value_cents = StrictInt(validate=validate.Range(0, MAX_VALUE_CENTS,
                                                    error="Must be between 0 and 10^15 cents."))
    currency = Currency()
    stage = fields.String(validate=validate.Length(min=1, max=40))
    expected_close_date = fields.Date(allow_none=True)
    owner_id = StrictInt(validate=validate.Range(1, MAX_ID))  # every deal has an owner (the WON mail)
    contact_id = StrictInt(allow_none=True, validate=validate.Range(1, MAX_ID))
    customer_id = StrictInt(allow_none=True, validate=validate.Range(1, MAX_ID))
    notes = Trimmed(allow_none=True, validate=validate.Length(max=20_000))
    closed_reason = Trimmed(allow_none=True, validate=validate.Length(max=2_000))
    product_id = StrictInt(allow_none=True, validate=validate.Range(1, MAX_ID))  # the host catalogue's
    plan_id = StrictInt(allow_none=True, validate=validate.Range(1, MAX_ID))


class DealUpdateSchema(DealSchema):
    """PATCH: any subset of the fields plus the ``version`` the client read."""

    version = StrictInt(validate=validate.Range(1, MAX_ID))


class StageMoveSchema(StrictSchema):
    stage = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = Trimmed(allow_none=True, validate=validate.Length(max=2_000))


class CloseSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(("won", "lost")))
    reason = Trimmed(allow_none=True, validate=validate.Length(max=2_000))


class ArchiveSchema(StrictSchema):
    reason = Trimmed(required=True, validate=validate.Length(
        1, 2_000, error="A reason (1-2000 characters) is required to archive a deal."))


class BulkStageSchema(StrictSchema):
    ids = fields.List(StrictInt(validate=validate.Range(1, MAX_ID)), required=True, validate=validate.Length(min=1, max=500))
    stage = fields.String(required=True, validate=validate.Length(min=1, max=40))


class DealFilterArgs(QueryArgs):
    stage = fields.String(validate=validate.Length(max=40), metadata={"description": "A stage key, e.g. LEAD."})
    owner_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    contact_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    customer_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Part of the title."})
    include_archived = fields.Boolean(metadata={"description": "Include archived deals (default false)."})


class ContractSnapshotOut(Schema):
    """The sold plan, frozen at conversion (stored with the deal; later catalogue changes never
    rewrite it)."""

    product_id = fields.Integer(required=True)
    product_name = fields.String(required=True)
    plan_id = fields.Integer(required=True)
    plan_name = fields.String(required=True)
    interval = fields.String(allow_none=True, required=True)
    trial = fields.Boolean(required=True)
    trial_days = fields.Integer(allow_none=True, required=True)
    price_cents = fields.Integer(allow_none=True, required=True)
    currency = fields.String(required=True)
    subscription_id = fields.Integer(required=True)
    subscription_status = fields.String(allow_none=True, required=True)
    trial_ends_at = Timestamp(allow_none=True, required=True)
    converted_at = Timestamp(required=True)


class DealOut(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    value_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    stage = fields.String(required=True, attribute="stage.key")
    stage_label = fields.String(required=True, attribute="stage.label")
    outcome = fields.String(allow_none=True, required=True, attribute="stage.outcome",
                            metadata={"description": "null (open), won or lost."})
    expected_close_date = fields.Date(allow_none=True, required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    contact_id = fields.Integer(allow_none=True, required=True)
    customer_id = fields.Integer(allow_none=True, required=True)
    notes = fields.String(allow_none=True, required=True)
    closed_reason = fields.String(allow_none=True, required=True)
    closed_at = Timestamp(allow_none=True, required=True)
    archived_at = Timestamp(allow_none=True, required=True)
    archive_reason = fields.String(allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={"description": "Send it back on PATCH (or If-Match)."})
    product_id = fields.Integer(allow_none=True)
    plan_id = fields.Integer(allow_none=True)
    converted_at = Timestamp(allow_none=True)
    subscription_id = fields.Integer(allow_none=True, metadata={"description": "The host's, once converted."})
    contract_snapshot = fields.Nested(ContractSnapshotOut, allow_none=True)
    created_at = Timestamp(allow_none=True, required=True)
    updated_at = Timestamp(allow_none=True, required=True)
    stage_changed_at = Timestamp(allow_none=True, metadata={
        "description": "When the deal entered its current stage (stale-deal rules)."})


class BulkStageResult(Schema):
    moved = fields.List(fields.Integer(), required=True)
    unchanged = fields.List(fields.Integer(), required=True)
    stage = fields.String(required=True)


class PipelineRow(Schema):
    stage = fields.String(required=True)
    label = fields.String(required=True)
    probability = fields.Integer(required=True)
    outcome = fields.String(allow_none=True, required=True)
    currency = fields.String(required=True)
    count = fields.Integer(required=True)
    value_cents = fields.Integer(required=True)
    weighted_value_cents = fields.Integer(required=True)


class StageOut(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    probability = fields.Integer(required=True)
    position = fields.Integer(required=True)
    outcome = fields.String(allow_none=True, required=True)
    stale_after_days = fields.Integer(allow_none=True, metadata={
        "description": "Open stages: days without a stage change after which a deal is stale (1-3650)."})
    followup_days = fields.Integer(allow_none=True, metadata={
        "description": "Automation: a follow-up activity for the owner, due this many days after entering."})
    finance_handoff = fields.Boolean(metadata={"description": "Automation: a finance hand-off activity on entering."})
    notify_owner = fields.Boolean(metadata={"description": "Automation: mail the deal owner on entering."})


class StageIn(Schema):
    """One stage of ``PUT /stages`` (checked by the stages service, which the settings page
    shares; the list order is the board order)."""

    key = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]{0,39}$"))
    label = fields.String(validate=validate.Length(1, 80))
    probability = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))
    position = fields.Integer(metadata={"description": "Ignored: the list order is the position."})
    outcome = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(("won", "lost")))
    stale_after_days = fields.Integer(allow_none=True, metadata={
        "description": "Open stages: days without a stage change after which a deal is stale (1-3650)."})
    followup_days = fields.Integer(allow_none=True, metadata={
        "description": "Automation: a follow-up activity for the owner, due this many days after entering."})
    finance_handoff = fields.Boolean(metadata={"description": "Automation: a finance hand-off activity on entering."})
    notify_owner = fields.Boolean(metadata={"description": "Automation: mail the deal owner on entering."})


class AutomationStepOut(Schema):
    name = fields.String(required=True, metadata={"description": "follow_up, finance_handoff or notify_mail."})
    label = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "pending, done or failed."})
    detail = fields.String(allow_none=True, required=True)
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)
    activity_id = fields.Integer(allow_none=True, required=True, metadata={
        "description": "The activity the step created, if any."})


class AutomationRunOut(Schema):
    id = fields.Integer(required=True)
    deal_id = fields.Integer(required=True)
    from_stage = fields.String(allow_none=True, required=True)
    to_stage = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("pending", "running", "done", "failed")))
    attempts = fields.Integer(required=True)
    last_error = fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)
    finished_at = Timestamp(allow_none=True, required=True)
    next_attempt_at = Timestamp(allow_none=True, required=True)
    steps = fields.List(fields.Nested(AutomationStepOut), required=True)
