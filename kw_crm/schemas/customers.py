"""JSON shapes of customers, the workspace and the dashboard.

The input rules of customers live in the services (the pages share them). The ``*Input``
schemas at the end name the allowed fields (unknown ones are a 422); the typed ``CustomerInput``,
``CustomerUpdate`` and ``CustomerArchive`` describe the services' rules for the OpenAPI document,
and the API fuzz run (tests/test_api_fuzz.py) fails when the two drift apart."""
from marshmallow import Schema, fields, validate

from ..db import MAX_ID
from ..models import LIFECYCLE_STAGES
from ..services.customers import EMAIL_MAX, LEAD_SOURCE_MAX, NAME_MAX, REASON_MAX
from .base import PassThrough, StrictSchema, Timestamp
from .common import QueryArgs
from .communications import CommunicationOut
from .deals import ContractSnapshotOut


class CustomerOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    lifecycle_stage = fields.String(required=True, validate=validate.OneOf(LIFECYCLE_STAGES))
    health_score = fields.Integer(allow_none=True)
    lead_source = fields.String(allow_none=True)
    billing_email = fields.String(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    last_contacted_at = Timestamp(allow_none=True)
    archived_at = Timestamp(allow_none=True)
    archive_reason = fields.String(allow_none=True)
    created_at = Timestamp(allow_none=True)


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


def _slice(item_schema, name: str):
    """``{items: [...], total}``: the newest rows of a section and the section's true total."""
    return Schema.from_dict({"items": fields.List(fields.Nested(item_schema), required=True),
                             "total": fields.Integer(required=True)}, name=name)


class _WorkspaceDeal(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    value_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    stage = fields.String(required=True)
    stage_label = fields.String(required=True)
    outcome = fields.String(allow_none=True, required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    owner_name = fields.String(allow_none=True, required=True)
    expected_close_date = fields.Date(allow_none=True, required=True)
    archived_at = Timestamp(allow_none=True, required=True)
    product_id = fields.Integer(allow_none=True, required=True)
    product_name = fields.String(allow_none=True, required=True)
    converted_at = Timestamp(allow_none=True, required=True)


class _WorkspaceContact(Schema):
    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    email = fields.String(allow_none=True, required=True)
    job_title = fields.String(allow_none=True, required=True)
    is_decision_maker = fields.Boolean(required=True)


class _WorkspaceActivity(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True)
    title = fields.String(required=True)
    subject = fields.String(required=True, metadata={"description": "A copy of title."})
    due_date = fields.Date(allow_none=True, required=True)
    completed_at = Timestamp(allow_none=True, required=True)
    created_at = Timestamp(required=True)


class AuditOut(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True)
    actor_id = fields.Integer(allow_none=True, required=True)
    actor_name = fields.String(allow_none=True, required=True)
    changes = fields.Dict(keys=fields.String(), allow_none=True, required=True, metadata={
        "description": "Changed field -> [old, new] (values as stored; some actions record other facts)."})
    reason = fields.String(allow_none=True, required=True)
    created_at = Timestamp(required=True)


class _BillingSummary(Schema):
    subscriptions = fields.List(fields.Dict(), metadata={
        "description": "The host's subscriptions of the customer ({id, status, product, ...}, host-defined)."})
    invoices = fields.List(fields.Dict(), metadata={"description": "The host's invoices (host-defined)."})
    outstanding_ar_cents = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "Currency code -> cents owed."})


class _Contract(Schema):
    subscription = fields.Dict(required=True, metadata={"description": "The host's subscription (host-defined)."})
    deal_id = fields.Integer(allow_none=True, required=True)
    contract_snapshot = fields.Nested(ContractSnapshotOut, allow_none=True, required=True)


class _Payment(Schema):
    id = fields.Integer(required=True)
    amount_cents = fields.Integer(required=True)
    currency = fields.String(required=True)
    method = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    received_at = Timestamp(allow_none=True)
    invoice_number = fields.String(allow_none=True)


class _BillingEvent(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    summary = fields.String(allow_none=True)
    occurred_at = Timestamp(allow_none=True)


class _BillingActivity(Schema):
    payments = fields.Nested(_slice(_Payment, "WorkspacePayments"), required=True)
    events = fields.Nested(_slice(_BillingEvent, "WorkspaceBillingEvents"), required=True)


class WorkspaceOut(Schema):
    customer = fields.Nested(CustomerOut, required=True)
    deals = fields.Nested(_slice(_WorkspaceDeal, "WorkspaceDeals"), required=True)
    contacts = fields.Nested(_slice(_WorkspaceContact, "WorkspaceContacts"), required=True)
    activities = fields.Nested(_slice(_WorkspaceActivity, "WorkspaceActivities"), required=True)
    communications = fields.Nested(_slice(CommunicationOut, "WorkspaceCommunications"), required=True)
    audit = fields.List(fields.Nested(AuditOut), required=True)
    billing = fields.Nested(_BillingSummary, allow_none=True, metadata={
        "description": "From the host's billing, when it has one."})
    contracts = fields.List(fields.Nested(_Contract), metadata={
        "description": "One card per current product contract, with its snapshot (host billing)."})
    billing_activity = fields.Nested(_BillingActivity, allow_none=True, metadata={
        "description": "Payment activity and billing events with true totals (host billing hook)."})


class UserOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class UserLookupArgs(QueryArgs):
    q = fields.String(metadata={"description": "Part of the name or email (first 100 characters)."})


class _ChurnRisk(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    health_score = fields.Integer(allow_none=True, required=True)
    lifecycle_stage = fields.String(required=True)
    owner_id = fields.Integer(allow_none=True, required=True)
    owner_name = fields.String(allow_none=True, required=True)
    last_contacted_at = Timestamp(allow_none=True, required=True)


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
    churn_risk = fields.List(fields.Nested(_ChurnRisk), required=True, metadata={
        "description": "Up to 20 active customers with health below 30, most critical first."})


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
