"""JSON shapes of customers, the workspace and the dashboard (output side; input rules live in
the services so the pages and the API share them)."""
from marshmallow import Schema, fields

from .base import PassThrough, StrictSchema


class CustomerOut(Schema):
    id = fields.Integer()
    name = fields.String()
    lifecycle_stage = fields.String()
    health_score = fields.Integer(allow_none=True)
    lead_source = fields.String(allow_none=True)
    billing_email = fields.String(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    last_contacted_at = fields.DateTime(allow_none=True)
    archived_at = fields.DateTime(allow_none=True)
    archive_reason = fields.String(allow_none=True)
    created_at = fields.DateTime(allow_none=True)


class _Slice(Schema):
    items = fields.List(fields.Dict())
    total = fields.Integer()


class WorkspaceOut(Schema):
    customer = fields.Nested(CustomerOut)
    deals = fields.Nested(_Slice)
    contacts = fields.Nested(_Slice)
    activities = fields.Nested(_Slice)
    communications = fields.Nested(_Slice)
    audit = fields.List(fields.Dict())
    billing = fields.Dict(allow_none=True)


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
