"""Deal input schemas: types and ranges only (existence and tenancy checks live in the service).

Money is strict: ``value_cents`` must be a JSON integer 0..10^15 — no floats (even 10.0), no
strings, no booleans — so no amount is ever silently rounded."""
from marshmallow import ValidationError, fields, validate

from ..db import MAX_ID
from ..services.currencies import normalise
from .base import StrictSchema

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
