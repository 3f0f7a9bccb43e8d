"""Conversion input: the sold plan (existence and product checks live in the service)."""
from marshmallow import validate

from ..db import MAX_ID
from .base import StrictSchema
from .deals import StrictInt


class ConvertSchema(StrictSchema):
    plan_id = StrictInt(required=True, validate=validate.Range(1, MAX_ID))
