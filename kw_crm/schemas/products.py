"""Conversion input (the sold plan: existence and product checks live in the service), the
host's catalogue and the conversion's answer."""
from marshmallow import Schema, fields, validate

from ..db import MAX_ID
from .base import StrictSchema, Timestamp
from .deals import ContractSnapshotOut, DealOut, StrictInt


class ConvertSchema(StrictSchema):
    plan_id = StrictInt(required=True, validate=validate.Range(1, MAX_ID))


class PriceOut(Schema):
    currency = fields.String(required=True)
    price_cents = fields.Integer(required=True)


class PlanOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    trial = fields.Boolean(required=True)
    trial_days = fields.Integer(allow_none=True)
    interval = fields.String(allow_none=True, required=True, metadata={"description": "month or year."})
    price_cents = fields.Integer(required=True, metadata={"description": "The plan's primary price."})
    currency = fields.String(required=True)
    prices = fields.List(fields.Nested(PriceOut), metadata={"description": "Every currency it is sold in."})


class ProductOut(Schema):
    """A product of the host's catalogue (hook ``crm_products``)."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    plans = fields.List(fields.Nested(PlanOut), required=True)


class SubscriptionOut(Schema):
    """The subscription the host created (hook ``crm_create_subscription``)."""

    id = fields.Integer(required=True)
    status = fields.String(allow_none=True)
    trial_ends_at = Timestamp(allow_none=True)
    price_cents = fields.Integer(allow_none=True)
    currency = fields.String(allow_none=True)


class ConvertOut(Schema):
    deal = fields.Nested(DealOut, required=True)
    subscription = fields.Nested(SubscriptionOut, required=True)
    contract_snapshot = fields.Nested(ContractSnapshotOut, required=True)
