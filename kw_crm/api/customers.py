"""Customers, the owner lookup and the dashboard (JSON)."""
import csv
import io

from flask import Response, jsonify, request, stream_with_context

from ..guard import current_actor, require_delete_permission
from ..schemas.customers import (
    ArchiveInput,
    CustomerCreateInput,
    CustomerUpdateInput,
    customer_out,
    customers_out,
)
from ..services import customers, dashboard
from . import api_bp, jsonable, list_response, load, page_params

EXPORT_COLUMNS = ("id", "name", "lifecycle_stage", "health_score", "lead_source", "billing_email", "owner_id",
                  "owner_name", "last_contacted_at", "archived_at", "archive_reason", "created_at")


@api_bp.get("/customers")
def customers_list():
    filters = customers.parse_filters(request.args)
    limit, offset = page_params()
    items, total = customers.list_customers(filters, limit, offset)
    return list_response(customers_out.dump(items), total)


@api_bp.post("/customers")
def customers_create():
    created = customers.create_customer(load(CustomerCreateInput()), actor_id=current_actor().id)
    return jsonify(customer_out.dump(created)), 201


@api_bp.get("/customers/export.csv")
def customers_export():
    """Streamed CSV: rows are read in server-side batches and written as they come."""
    from ..csvsafe import safe_cell

    filters = customers.parse_filters(request.args)

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for row in customers.iter_customers(filters):
            writer.writerow([safe_cell(jsonable(row[c])) for c in EXPORT_COLUMNS])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=customers.csv"})


@api_bp.get("/customers/<int:customer_id>")
def customer_get(customer_id):
    return jsonify(customer_out.dump(customers.get_customer(customer_id)))


@api_bp.patch("/customers/<int:customer_id>")
def customer_update(customer_id):
    return jsonify(customer_out.dump(customers.update_customer(customer_id, load(CustomerUpdateInput()), actor_id=current_actor().id)))


@api_bp.post("/customers/<int:customer_id>/archive")
def customer_archive(customer_id):
    require_delete_permission()
    data = load(ArchiveInput())
    return jsonify(customer_out.dump(customers.archive_customer(customer_id, data.get("reason"),
                                                                actor_id=current_actor().id)))


@api_bp.delete("/customers/<int:customer_id>")
def customer_delete(customer_id):
    customers.get_customer(customer_id)  # 404 before 403, like every other id route
    require_delete_permission()
    customers.delete_customer(customer_id, actor_id=current_actor().id)
    return "", 204


@api_bp.get("/customers/<int:customer_id>/workspace")
def customer_workspace(customer_id):
    data = customers.workspace(customer_id)
    data["customer"] = customer_out.dump(data["customer"])
    data.pop("user_names")  # page-only helper; the API gives ids
    return jsonify(jsonable(data))


@api_bp.get("/users")
def users_lookup():
    """Active users of the tenant matching ``q`` (the account-owner lookup)."""
    return jsonify(customers.search_owners(request.args.get("q")))


@api_bp.get("/dashboard")
def dashboard_summary():
    return jsonify(jsonable(dashboard.summary()))
