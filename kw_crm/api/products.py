"""Products and conversion API (contract 8.4): the host's catalogue and deal -> subscription."""
from flask import jsonify

from ..guard import current_actor
from ..schemas.products import ConvertOut, ConvertSchema, ProductOut
from ..services import conversion, deals, products
from . import api_bp, doc, list_response, load, page_params


@api_bp.get("/products")
@doc("The host's product catalogue", response=ProductOut, paged=True, tag="Products")
def list_products():
    """The host's catalogue (``crm_products``), paged; empty when the host sells nothing."""
    limit, offset = page_params()
    catalogue = products.catalogue() or []
    return list_response(ProductOut(many=True).dump(catalogue[offset:offset + limit]), len(catalogue))


@api_bp.post("/deals/<int:deal_id>/convert")
@doc("Convert a deal into a subscription", body=ConvertSchema, response=ConvertOut, tag="Products")
def convert_deal(deal_id: int):
    deals.get(deal_id)  # unknown ids are a 404 before any validation
    data = load(ConvertSchema())
    result = conversion.convert(deal_id, data["plan_id"], actor_id=current_actor().id)
    return jsonify(ConvertOut().dump(result))
