"""API token input and output."""
from datetime import UTC

from marshmallow import Schema, fields, post_load, validate

from .base import StrictSchema, Text, Timestamp


class TokenInput(StrictSchema):
    name = Text(100, required=True, min_length=1)
    expires_at = fields.AwareDateTime(default_timezone=UTC, allow_none=True, metadata={
        "description": "When the token stops working (ISO 8601; UTC when no offset is given). "
                       "Absent or null: it works until revoked."})

    @post_load
    def _to_naive_utc(self, data, **_kwargs):
        if data.get("expires_at") is not None:
            data["expires_at"] = data["expires_at"].astimezone(UTC).replace(tzinfo=None)
        return data


class TokenOutput(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "The secret's first characters."})
    user_id = fields.Integer(required=True, metadata={"description": "The admin the token acts as."})
    state = fields.String(required=True, validate=validate.OneOf(("active", "expired", "revoked")))
    created_at = Timestamp(required=True)
    expires_at = Timestamp(allow_none=True)
    last_used_at = Timestamp(allow_none=True)
    revoked_at = Timestamp(allow_none=True)


class TokenCreated(TokenOutput):
    token = fields.String(required=True, metadata={
        "description": "The secret, shown in this answer only: send it as `Authorization: Bearer <token>`."})
