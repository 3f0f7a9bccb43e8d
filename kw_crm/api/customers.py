"""Customers, the owner lookup and the dashboard (JSON)."""

from flask import jsonify, request

from ..guard import current_actor, require_delete_permission
from ..schemas.customers import (
    ArchiveInput,
    CustomerArchive,
    CustomerCreateInput,
    CustomerFilterArgs,
    CustomerInput,
    CustomerOut,
    CustomerUpdate,
    CustomerUpdateInput,
    DashboardOut,
    UserLookupArgs,
    UserOut,
    WorkspaceOut,
    customer_out,
    customers_out,
)
from ..services import customers, dashboard
from . import api_bp, doc, jsonable, list_response, load, page_params

EXPORT_COLUMNS = ("id", "name", "lifecycle_stage", "health_score", "lead_source", "billing_email", "owner_id",
                  "owner_name", "last_contacted_at", "archived_at", "archive_reason", "created_at")


@api_bp.get("/customers")
@doc("List customers", query=CustomerFilterArgs, response=CustomerOut, paged=True)
def customers_list():
    filters = customers.parse_filters(request.args)
    limit, offset = page_params()
    items, total = customers.list_customers(filters, limit, offset)
    return list_response(customers_out.dump(items), total)


@api_bp.post("/customers")
@doc("Create a customer", body=CustomerInput, response=CustomerOut, status=201)
def customers_create():
    created = customers.create_customer(load(CustomerCreateInput()), actor_id=current_actor().id)
    return jsonify(customer_out.dump(created)), 201


@api_bp.get("/customers/export.csv")
@doc("Export customers as CSV", query=CustomerFilterArgs, content_type="text/csv", tag="Exports")
def customers_export():
    """Streamed CSV: rows are read in server-side batches and written as they come."""
    from .exports import csv_response

    filters = customers.parse_filters(request.args)
    rows = ([row[c] for c in EXPORT_COLUMNS] for row in customers.iter_customers(filters))
    return csv_response(EXPORT_COLUMNS, rows, "customers.csv")


@api_bp.get("/customers/<int:customer_id>")
@doc("Get a customer", response=CustomerOut)
def customer_get(customer_id):
    return jsonify(customer_out.dump(customers.get_customer(customer_id)))


@api_bp.patch("/customers/<int:customer_id>")
@doc("Change a customer's account data", body=CustomerUpdate, response=CustomerOut)
def customer_update(customer_id):
    return jsonify(customer_out.dump(customers.update_customer(customer_id, load(CustomerUpdateInput()), actor_id=current_actor().id)))


@api_bp.post("/customers/<int:customer_id>/archive")
@doc("Archive a customer (needs crm.delete)", body=CustomerArchive, response=CustomerOut)
def customer_archive(customer_id):
    require_delete_permission()
    data = load(ArchiveInput())
    return jsonify(customer_out.dump(customers.archive_customer(customer_id, data.get("reason"),
                                                                actor_id=current_actor().id)))


@api_bp.delete("/customers/<int:customer_id>")
@doc("Delete an archived customer without history (needs crm.delete)", status=204)
def customer_delete(customer_id):
    customers.get_customer(customer_id)  # 404 before 403, like every other id route
    require_delete_permission()
    customers.delete_customer(customer_id, actor_id=current_actor().id)
    return "", 204


@api_bp.get("/customers/<int:customer_id>/workspace")
@doc("Everything the account page shows", response=WorkspaceOut)
def customer_workspace(customer_id):
    data = customers.workspace(customer_id)
    data.pop("user_names")  # page-only helper; the API gives ids
    return jsonify(jsonable(WorkspaceOut().dump(data)))


@api_bp.get("/users")
@doc("Find users of the tenant (owner lookup)", query=UserLookupArgs, response={"type": "array", "items": UserOut}, tag="Users")
def users_lookup():
    """Active users of the tenant matching ``q`` (the account-owner lookup)."""
    return jsonify(customers.search_owners(request.args.get("q")))


@api_bp.get("/dashboard")
@doc("The dashboard figures", response=DashboardOut, tag="Dashboard")
def dashboard_summary():
    return jsonify(DashboardOut().dump(dashboard.summary()))
