"""Deals, stages and pipeline API (contract section 5).

Optimistic concurrency: GET /deals/<id> returns ``version`` (and an ``ETag: "<version>"``);
PATCH must carry that version, as the JSON field ``version`` or an ``If-Match`` header; a stale
one is a 409 "changed by someone else"."""
from flask import jsonify, request

from ..errors import Invalid
from ..guard import current_actor, require_delete_permission
from ..inputs import parse_id, request_json
from ..schemas.deals import (
    ArchiveSchema,
    BulkStageSchema,
    CloseSchema,
    DealSchema,
    DealUpdateSchema,
    StageMoveSchema,
)
from ..services import deals, stages
from . import api_bp, list_response, load, page_params


def _deal_response(deal, status: int = 200):
    response = jsonify(deals.serialise(deal))
    response.status_code = status
    response.headers["ETag"] = f'"{deal.version}"'
    return response


@api_bp.get("/deals")
def list_deals():
    limit, offset = page_params()
    items, total = deals.search(**deals.valid_filters(request.args), limit=limit, offset=offset)
    return list_response([deals.serialise(d) for d in items], total)


@api_bp.post("/deals")
def create_deal():
    deal = deals.create(load(DealSchema()), actor_id=current_actor().id)
    return _deal_response(deal, 201)


@api_bp.get("/deals/<int:deal_id>")
def get_deal(deal_id: int):
    return _deal_response(deals.get(deal_id))


def _if_match_version() -> int | None:
    raw = (request.headers.get("If-Match") or "").strip().removeprefix("W/").strip('"')
    if not raw:
        return None
    version = parse_id(raw)
    if version is None:
        raise Invalid({"version": "If-Match must carry the deal's version, e.g. \"3\"."})
    return version


@api_bp.patch("/deals/<int:deal_id>")
def update_deal(deal_id: int):
    deals.get(deal_id)  # unknown ids are a 404 before any validation
    data = load(DealUpdateSchema(), partial=True)
    version = data.pop("version", None)
    version = version if version is not None else _if_match_version()
    deal = deals.update(deal_id, data, version=version, actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.delete("/deals/<int:deal_id>")
def delete_deal(deal_id: int):
    deals.get(deal_id)
    require_delete_permission()
    deals.delete(deal_id, actor_id=current_actor().id)
    return "", 204


@api_bp.post("/deals/<int:deal_id>/stage")
def move_deal(deal_id: int):
    deals.get(deal_id)
    data = load(StageMoveSchema())
    deal = deals.move_stage(deal_id, data["stage"], reason=data.get("reason"), actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.post("/deals/<int:deal_id>/close")
def close_deal(deal_id: int):
    deals.get(deal_id)
    data = load(CloseSchema())
    deal = deals.close(deal_id, data["outcome"], reason=data.get("reason"), actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.post("/deals/<int:deal_id>/archive")
def archive_deal(deal_id: int):
    deals.get(deal_id)
    require_delete_permission()
    data = load(ArchiveSchema())
    deal = deals.archive(deal_id, data["reason"], actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.post("/deals/bulk-stage")
def bulk_stage():
    data = load(BulkStageSchema())
    return jsonify(deals.bulk_stage(data["ids"], data["stage"], actor_id=current_actor().id))


@api_bp.get("/pipeline")
def pipeline():
    return jsonify(deals.pipeline())


@api_bp.get("/stages")
def list_stages():
    return jsonify([stages.serialise(s) for s in stages.list_stages()])


@api_bp.put("/stages")
def replace_stages():
    data = request_json()
    if isinstance(data, dict) and "stages" in data:
        if set(data) - {"stages"}:
            raise Invalid({key: ["Unknown field."] for key in sorted(set(data) - {"stages"})})
        data = data["stages"]
    if not isinstance(data, list):
        raise Invalid({"stages": "Send the full list of stages (a JSON array)."})
    if stages.removes_stages(data):
        require_delete_permission()
    result = stages.replace_stages(data, actor_id=current_actor().id)
    return jsonify([stages.serialise(s) for s in result])
