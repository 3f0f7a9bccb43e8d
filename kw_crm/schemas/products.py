"""Conversion input: the sold plan (existence and product checks live in the service)."""
from marshmallow import Schema, validate

from ..db import MAX_ID
from .deals import StrictInt


class ConvertSchema(Schema):
    plan_id = StrictInt(required=True, validate=validate.Range(1, MAX_ID))
