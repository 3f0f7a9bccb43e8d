"""The forecast's answer (contract 8.3): money per currency, never summed across currencies."""
from marshmallow import Schema, fields, validate

from ..services.forecast import BUCKETS, WINDOWS
from .common import QueryArgs

_DAY = {"format": "date"}
_BY_CURRENCY = {"description": "Currency code -> cents."}


class _Summary(Schema):
    currency = fields.String(required=True)
    open_count = fields.Integer(required=True)
    open_value_cents = fields.Integer(required=True)
    weighted_value_cents = fields.Integer(required=True)
    overdue_count = fields.Integer(required=True)
    stale_count = fields.Integer(required=True)


class _ByOwner(_Summary):
    owner_id = fields.Integer(allow_none=True, required=True)
    owner_name = fields.String(allow_none=True, required=True)


class _OverdueDeal(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    value_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    expected_close_date = fields.String(required=True, metadata=_DAY)
    days_overdue = fields.Integer(required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    owner_name = fields.String(allow_none=True, required=True)
    stage = fields.String(required=True)
    stage_label = fields.String(required=True)


class _Overdue(Schema):
    total = fields.Integer(required=True)
    deals = fields.List(fields.Nested(_OverdueDeal), required=True, metadata={
        "description": "The most overdue open deals (at most 50)."})


class _Stale(Schema):
    total = fields.Integer(required=True)


class _Aging(Schema):
    bucket = fields.String(required=True, validate=validate.OneOf(BUCKETS), metadata={
        "description": "Days since the deal was created."})
    currency = fields.String(required=True)
    count = fields.Integer(required=True)
    value_cents = fields.Integer(required=True)


class _TrendDay(Schema):
    date = fields.String(required=True, metadata=_DAY)
    won_count = fields.Integer(required=True)
    lost_count = fields.Integer(required=True)
    won_value_cents_by_currency = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                              metadata=_BY_CURRENCY)
    lost_value_cents_by_currency = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True,
                                               metadata=_BY_CURRENCY)


class ForecastArgs(QueryArgs):
    owner_id = fields.Integer(validate=validate.Range(min=1), metadata={"description": "One owner's deals."})
    window = fields.Integer(validate=validate.OneOf(WINDOWS), metadata={"description": "Days (default 90)."})


class ForecastOut(Schema):
    window = fields.Integer(required=True, validate=validate.OneOf(WINDOWS))
    owner_id = fields.Integer(allow_none=True, required=True)
    today = fields.String(required=True, metadata=_DAY)
    currencies = fields.List(fields.String(), required=True)
    summary = fields.List(fields.Nested(_Summary), required=True)
    by_owner = fields.List(fields.Nested(_ByOwner), required=True)
    overdue = fields.Nested(_Overdue, required=True)
    stale = fields.Nested(_Stale, required=True)
    aging = fields.List(fields.Nested(_Aging), required=True)
    trend = fields.List(fields.Nested(_TrendDay), required=True, metadata={
        "description": "One row per day of the window, by the day deals closed."})
