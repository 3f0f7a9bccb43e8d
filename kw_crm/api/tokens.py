"""API tokens (``/api/crm/tokens``): list, create (the secret is in that answer only), revoke."""
from flask import jsonify

from ..guard import current_actor
from ..schemas.tokens import TokenCreated, TokenInput, TokenOutput
from ..services import tokens
from . import api_bp, doc, list_response, load, page_params

token_out = TokenOutput()


def dump_token(row, schema=token_out, secret: str | None = None) -> dict:
    data = {c: getattr(row, c) for c in ("id", "name", "prefix", "user_id", "created_at", "expires_at",
                                         "last_used_at", "revoked_at")}
    data["state"] = tokens.state(row)
    if secret is not None:
        data["token"] = secret
    return schema.dump(data)


@api_bp.get("/tokens")
@doc("List API tokens", response=TokenOutput, paged=True, tag="API tokens")
def tokens_list():
    """Active tokens first, newest first; the secrets are never shown again."""
    limit, offset = page_params()
    rows, total = tokens.list_tokens(limit, offset)
    return list_response([dump_token(t) for t in rows], total)


@api_bp.post("/tokens")
@doc("Create an API token", body=TokenInput, response=TokenCreated, status=201, tag="API tokens")
def tokens_create():
    """The token acts as you, in this tenant. Keep the `token` of this answer: only its hash is stored."""
    data = load(TokenInput())
    created = tokens.create(data["name"], data.get("expires_at"), actor_id=current_actor().id)
    return jsonify(dump_token(created.token, TokenCreated(), secret=created.secret)), 201


@api_bp.delete("/tokens/<int:token_id>")
@doc("Revoke an API token", status=204, tag="API tokens")
def tokens_revoke(token_id: int):
    """Requests with the token are refused (401) from now on."""
    tokens.revoke(token_id, actor_id=current_actor().id)
    return "", 204
