"""CSV exports of contacts and deals (``GET /contacts/export.csv``, ``GET /deals/export.csv``)
with the filters of the matching list; streamed and formula-safe like the customer export.

The filters are checked before the first byte is sent, so a bad filter is still a 422."""
from flask import Response, stream_with_context

from ..csvsafe import stream_csv
from ..schemas.contacts import ContactFilterArgs
from ..schemas.deals import DealFilterArgs
from ..services import contacts, exports
from . import api_bp, doc, query_args


def csv_response(header, rows, filename: str) -> Response:
    return Response(stream_with_context(stream_csv(header, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={filename}",
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


@api_bp.get("/contacts/export.csv")
@doc("Export contacts as CSV", query=ContactFilterArgs, content_type="text/csv", tag="Exports")
def contacts_export():
    """Every contact matching the filters, in id order, with owner name and deal count."""
    filters = contacts.ContactFilters(**query_args(ContactFilterArgs()))
    return csv_response(exports.CONTACT_COLUMNS, exports.contact_rows(filters), "contacts.csv")


@api_bp.get("/deals/export.csv")
@doc("Export deals as CSV", query=DealFilterArgs, content_type="text/csv", tag="Exports")
def deals_export():
    """Every deal matching the filters, in id order, with stage, owner, contact and customer names."""
    return csv_response(exports.DEAL_COLUMNS, exports.deal_rows(query_args(DealFilterArgs())), "deals.csv")
