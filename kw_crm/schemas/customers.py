"""JSON shapes of customers, the workspace and the dashboard (output side; input rules live in
the services so the pages and the API share them)."""
from marshmallow import Schema, fields


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
