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
    BulkStageResult,
    BulkStageSchema,
    CloseSchema,
    DealFilterArgs,
    DealOut,
    DealSchema,
    DealUpdateSchema,
    PipelineRow,
    StageIn,
    StageMoveSchema,
    StageOut,
)
from ..services import deals, stages
from . import api_bp, doc, list_response, load, page_params, query_args


def _deal_response(deal, status: int = 200):
    response = jsonify(deals.serialise(deal))
    response.status_code = status
    response.headers["ETag"] = f'"{deal.version}"'
    return response


@api_bp.get("/deals")
@doc("List deals", query=DealFilterArgs, response=DealOut, paged=True)
def list_deals():
    limit, offset = page_params()
    items, total = deals.search(**query_args(DealFilterArgs()), limit=limit, offset=offset)
    return list_response([deals.serialise(d) for d in items], total)


@api_bp.post("/deals")
@doc("Create a deal", body=DealSchema, response=DealOut, status=201, headers={"ETag": "The deal's version, for If-Match."})
def create_deal():
    deal = deals.create(load(DealSchema()), actor_id=current_actor().id)
    return _deal_response(deal, 201)


@api_bp.get("/deals/<int:deal_id>")
@doc("Get a deal", response=DealOut, headers={"ETag": "The deal's version, for If-Match."})
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
@doc("Change a deal", body=DealUpdateSchema(partial=True), response=DealOut, headers={"ETag": "The deal's version, for If-Match."})
def update_deal(deal_id: int):
    deals.get(deal_id)  # unknown ids are a 404 before any validation
    data = load(DealUpdateSchema(), partial=True)
    version = data.pop("version", None)
    version = version if version is not None else _if_match_version()
    deal = deals.update(deal_id, data, version=version, actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.delete("/deals/<int:deal_id>")
@doc("Delete a deal (needs crm.delete)", status=204)
def delete_deal(deal_id: int):
    deals.get(deal_id)
    require_delete_permission()
    deals.delete(deal_id, actor_id=current_actor().id)
    return "", 204


@api_bp.post("/deals/<int:deal_id>/stage")
@doc("Move a deal to a stage", body=StageMoveSchema, response=DealOut, headers={"ETag": "The deal's version, for If-Match."})
def move_deal(deal_id: int):
    deals.get(deal_id)
    data = load(StageMoveSchema())
    deal = deals.move_stage(deal_id, data["stage"], reason=data.get("reason"), actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.post("/deals/<int:deal_id>/close")
@doc("Close a deal as won or lost", body=CloseSchema, response=DealOut, headers={"ETag": "The deal's version, for If-Match."})
def close_deal(deal_id: int):
    deals.get(deal_id)
    data = load(CloseSchema())
    deal = deals.close(deal_id, data["outcome"], reason=data.get("reason"), actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.post("/deals/<int:deal_id>/archive")
@doc("Archive a deal (needs crm.delete)", body=ArchiveSchema, response=DealOut, headers={"ETag": "The deal's version, for If-Match."})
def archive_deal(deal_id: int):
    deals.get(deal_id)
    require_delete_permission()
    data = load(ArchiveSchema())
    deal = deals.archive(deal_id, data["reason"], actor_id=current_actor().id)
    return _deal_response(deal)


@api_bp.post("/deals/bulk-stage")
@doc("Move several deals to a stage, all or nothing", body=BulkStageSchema, response=BulkStageResult)
def bulk_stage():
    data = load(BulkStageSchema())
    return jsonify(deals.bulk_stage(data["ids"], data["stage"], actor_id=current_actor().id))


@api_bp.get("/pipeline")
@doc("Pipeline totals per stage and currency", response={"type": "array", "items": PipelineRow})
def pipeline():
    return jsonify(deals.pipeline())


@api_bp.get("/stages")
@doc("The pipeline stages", tag="Stages", response={"type": "array", "items": StageOut})
def list_stages():
    return jsonify([stages.serialise(s) for s in stages.list_stages()])


@api_bp.put("/stages")
@doc("Replace the pipeline stages", tag="Stages", body={"type": "array", "items": StageIn}, response={"type": "array", "items": StageOut})
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
