"""API tokens: create (the secret is returned once), list, revoke, and authenticate a bearer.

A token acts as the admin who created it, in that admin's tenant; the guard still applies every
access rule to that admin (role, feature flag, permissions), so a token can never do more than
its admin could in a browser."""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from .. import host
from ..db import commit, session, utcnow
from ..errors import Invalid, NotFound
from ..models import ApiToken
from ..tenancy import ALL_TENANTS
from . import audit

SECRET_PREFIX = "kwcrm_"
NAME_MAX = 100
# last_used_at is written at most this often per token, so a busy client does not turn every
# read into a write.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Created:
    token: ApiToken
    secret: str


def create(name: str, expires_at: datetime | None, *, actor_id: int) -> Created:
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid({"expires_at": ["The expiry must be in the future."]})
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=_hash(secret), prefix=secret[:len(SECRET_PREFIX) + 4],
                     user_id=actor_id, expires_at=expires_at)
    session.add(token)
    session.flush()
    audit.record("api_token", token.id, "created", actor_id=actor_id, changes={"name": [None, name]})
    commit()
    return Created(token, secret)


def list_tokens(limit: int, offset: int) -> tuple[list[ApiToken], int]:
    from sqlalchemy import func

    total = session.scalar(select(func.count(ApiToken.id))) or 0
    rows = list(session.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())
                                .limit(limit).offset(offset)))
    return rows, total


def get(token_id: int) -> ApiToken:
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id))
    if token is None:
        raise NotFound("No such API token.")
    return token


def revoke(token_id: int, *, actor_id: int) -> ApiToken:
    """Revoke at once; revoking twice is harmless (the first time is kept)."""
    token = get(token_id)
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by_id = utcnow(), actor_id
        audit.record("api_token", token.id, "revoked", actor_id=actor_id)
        commit()
    return token


def state(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked`` (what the settings page and the API show)."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def authenticate(secret: str):
    """``(user, token)`` for a usable bearer secret, else ``None`` (unknown, revoked, expired,
    or its admin is gone or inactive). Runs before any tenant is bound."""
    if not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret))
                           .execution_options(**ALL_TENANTS))
    now = utcnow()
    if token is None or state(token, now) != "active":
        return None
    User = host.user_model()
    user = session.get(User, token.user_id)
    if user is None or not getattr(user, "active", True) or getattr(user, "tenant_id", None) != token.tenant_id:
        return None
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
                        .execution_options(**ALL_TENANTS))
        session.commit()
    return user, token
