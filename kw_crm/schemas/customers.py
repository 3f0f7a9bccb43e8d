"""JSON shapes of customers, the workspace and the dashboard.

The input rules of customers live in the services (the pages share them). The ``*Input``
schemas at the end name the allowed fields (unknown ones are a 422); the typed ``CustomerInput``,
``CustomerUpdate`` and ``CustomerArchive`` describe the services' rules for the OpenAPI document,
and the API fuzz run (tests/test_api_fuzz.py) fails when the two drift apart."""
from marshmallow import Schema, fields, validate

from ..db import MAX_ID
from ..models import LIFECYCLE_STAGES
from ..services.customers import EMAIL_MAX, LEAD_SOURCE_MAX, NAME_MAX, REASON_MAX
from .base import PassThrough, StrictSchema
from .common import QueryArgs


class CustomerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    lifecycle_stage = fields.String(required=True, validate=validate.OneOf(LIFECYCLE_STAGES))
    health_score = fields.Integer(allow_none=True)
    lead_source = fields.String(allow_none=True)
    billing_email = fields.String(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    last_contacted_at = fields.DateTime(allow_none=True)
    archived_at = fields.DateTime(allow_none=True)
    archive_reason = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)


class CustomerFilterArgs(QueryArgs):
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE_STAGES))
    health_min = fields.Integer(validate=validate.Range(0, 100))
    health_max = fields.Integer(validate=validate.Range(0, 100))
    search = fields.String(validate=validate.Length(max=NAME_MAX), metadata={"description": "Part of the name."})
    include_inactive = fields.Boolean(metadata={"description": "Include archived customers."})


def _Text(limit: int, **kwargs):
    return fields.String(validate=validate.Length(max=limit), **kwargs)


class CustomerInput(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(1, NAME_MAX))
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE_STAGES),
                                    metadata={"description": "Default prospect."})
    lead_source = _Text(LEAD_SOURCE_MAX, allow_none=True)
    billing_email = fields.Email(allow_none=True, validate=validate.Length(max=EMAIL_MAX))
    owner_id = fields.Integer(allow_none=True, validate=validate.Range(1, MAX_ID),
                              metadata={"description": "An active user of the tenant; default: you."})


class CustomerUpdate(StrictSchema):
    lifecycle_stage = fields.String(validate=validate.OneOf(LIFECYCLE_STAGES))
    health_score = fields.Integer(allow_none=True, validate=validate.Range(0, 100))
    lead_source = _Text(LEAD_SOURCE_MAX, allow_none=True)
    billing_email = fields.Email(allow_none=True, validate=validate.Length(max=EMAIL_MAX))
    owner_id = fields.Integer(allow_none=True, validate=validate.Range(1, MAX_ID))
    reason = _Text(REASON_MAX, allow_none=True, metadata={"description": "Why (kept in the audit trail)."})


class CustomerArchive(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(1, REASON_MAX))


class _Slice(Schema):
    items = fields.List(fields.Dict(), required=True)
    total = fields.Integer(required=True)


class WorkspaceOut(Schema):
    customer = fields.Nested(CustomerOut, required=True)
    deals = fields.Nested(_Slice, required=True)
    contacts = fields.Nested(_Slice, required=True)
    activities = fields.Nested(_Slice, required=True)
    communications = fields.Nested(_Slice, required=True)
    audit = fields.List(fields.Dict(), required=True)
    billing = fields.Dict(allow_none=True, metadata={"description": "From the host's billing, when it has one."})
    contracts = fields.List(fields.Dict(), metadata={
        "description": "One card per current product contract, with its snapshot (host billing)."})
    billing_activity = fields.Dict(allow_none=True, metadata={
        "description": "Payment activity and billing events with true totals (host billing hook)."})


class UserOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class UserLookupArgs(QueryArgs):
    q = fields.String(metadata={"description": "Part of the name or email (first 100 characters)."})


class DashboardOut(Schema):
    total_customers = fields.Integer(required=True)
    by_lifecycle_stage = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    at_churn_risk = fields.Integer(required=True)
    pipeline_value_cents = fields.Integer(required=True, metadata={"description": "In `currency` only."})
    weighted_pipeline_value_cents = fields.Integer(required=True)
    pipeline_value_cents_by_currency = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    weighted_pipeline_value_cents_by_currency = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                                            required=True)
    currency = fields.String(required=True)
    active_deals = fields.Integer(required=True)
    recent_communications = fields.Integer(required=True)
    churn_risk = fields.List(fields.Dict(), required=True)


customer_out = CustomerOut()
customers_out = CustomerOut(many=True)


class CustomerCreateInput(StrictSchema):
    """Names the fields a new customer may carry; their rules live in ``services.customers`` (the
    pages share them). ``health_score`` is known so the service can say why it is refused."""

    name = PassThrough()
    lifecycle_stage = PassThrough()
    lead_source = PassThrough()
    billing_email = PassThrough()
    owner_id = PassThrough()
    health_score = PassThrough()


class CustomerUpdateInput(StrictSchema):
    lifecycle_stage = PassThrough()
    health_score = PassThrough()
    lead_source = PassThrough()
    billing_email = PassThrough()
    owner_id = PassThrough()
    reason = PassThrough()
    # known, so the service can say they cannot be changed here
    name = PassThrough()
    id = PassThrough()
    archived_at = PassThrough()


class ArchiveInput(StrictSchema):
    reason = PassThrough()
