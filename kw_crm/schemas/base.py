"""The one input layer's common base: every CRM JSON body is loaded through a subclass of
:class:`StrictSchema`, so a field the schema does not know is a 422 on every endpoint (marshmallow
``unknown = RAISE``), never silently dropped. ``tests/test_unknown_fields.py`` checks that every
input schema of the package derives from it."""
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from ..db import MAX_ID
from ..inputs import text_problem
from ..timestamps import iso_timestamp


def _no_control_chars(value: str) -> None:
    problem = text_problem(value, multiline=True)
    if problem:
        raise ValidationError(problem)


def Id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def Text(max_length: int, *, required: bool = False, allow_none: bool = True, min_length: int = 0, **kwargs):
    """A stripped string with a length range and no control characters."""
    return fields.String(required=required, allow_none=allow_none and not required,
                         validate=[validate.Length(min=min_length, max=max_length), _no_control_chars], **kwargs)


class StrictSchema(Schema):
    """Refuses unknown fields and non-object bodies; strips surrounding spaces of strings and turns
    the blank values of ``BLANK_IS_NONE`` fields into ``None``."""

    BLANK_IS_NONE: tuple[str, ...] = ()

    class Meta:
        unknown = RAISE

    @pre_load
    def _strip(self, data, **_kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Expected a JSON object.")
        data = {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        for name in self.BLANK_IS_NONE:
            if data.get(name) == "":
                data[name] = None
        return data


class Timestamp(fields.DateTime):
    """A moment in an answer, written as every answer writes one: UTC with ``Z``
    (:mod:`kw_crm.timestamps`). Takes datetimes (naive = UTC) and, for values stored as text in
    JSON columns (a contract snapshot), ISO strings."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return value
        return iso_timestamp(value)


class PassThrough(fields.Raw):
    """A known field whose rules live in the service (customers): the schema only vouches that
    the name is allowed."""


def load_or_invalid(schema: Schema, data) -> dict:
    """``schema.load(data)`` with a refusal as the services' :class:`Invalid` (for callers outside
    the JSON API: pages, the CLI, Python entry points)."""
    from ..errors import Invalid

    try:
        return schema.load(data)
    except ValidationError as error:
        raise Invalid(error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}) from None
