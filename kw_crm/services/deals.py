"""Deals: create, edit, move through the pipeline, close, archive, delete; the pipeline totals
(the board and the deal table are services.pipeline_view).

Every stage change goes through :func:`_enter_stage`, so whichever path moves a deal (edit form,
API stage call, bulk tool, close, PATCH) gets the same audit entry, signals, lifecycle rules and
the one WON mail. Edit rules (seed 004): closed deals accept only notes and closed_reason,
archived deals accept nothing, won deals can be neither archived nor deleted."""
import logging
from datetime import date
from functools import wraps

from flask import current_app, has_request_context, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .. import host, jobs, signals
from ..db import commit, is_valid_id, session, utcnow
from ..errors import Conflict, Invalid, NotFound
from ..models import AutomationRun, Contact, Deal, Stage
from ..schemas.deals import DealOut
from . import audit, automation, lifecycle, outbox, pipeline_view, products
from . import stages as stage_service
from .currencies import format_money

_deal_out = DealOut()

log = logging.getLogger("kw_crm.deals")
EDITABLE = ("title", "value_cents", "currency", "stage", "expected_close_date", "owner_id", "contact_id",
            "customer_id", "notes", "closed_reason", "product_id", "plan_id")
CLOSED_EDITABLE = ("notes", "closed_reason")
STALE_MESSAGE = "This deal was changed by someone else since you opened it; reload it and apply your change again."


# ---------------------------------------------------------------------------- reading

def get(deal_id: int) -> Deal:
    deal = session.scalar(select(Deal).where(Deal.id == deal_id)) if is_valid_id(deal_id) else None
    if deal is None:
        raise NotFound("No such deal.")
    return deal


def search(*, limit: int = 50, offset: int = 0, **filters) -> tuple[list[Deal], int]:
    """One page of deals matching the list filters (see :func:`filter_conditions`), newest
    first, and the filtered total."""
    conditions = filter_conditions(**filters)
    total = session.scalar(select(func.count(Deal.id)).where(*conditions))
    items = list(session.scalars(select(Deal).where(*conditions).order_by(Deal.id.desc()).limit(limit).offset(offset)))
    return items, total


def filter_conditions(*, stage: str | None = None, owner_id: int | None = None, contact_id: int | None = None,
                      customer_id: int | None = None, q: str | None = None, include_archived: bool = False) -> list:
    """WHERE conditions of the deal list's filters (the API list and the CSV export share them)."""
    conditions = []
    if stage:
        conditions.append(Deal.stage_id == stage_service.by_key(stage).id)
    for column, value in ((Deal.owner_id, owner_id), (Deal.contact_id, contact_id), (Deal.customer_id, customer_id)):
        if value is not None:
            conditions.append(column == value)
    if q:
        conditions.append(pipeline_view.search_condition(q))
    if not include_archived:
        conditions.append(Deal.archived_at.is_(None))
    return conditions


def is_closed(deal: Deal) -> bool:
    return deal.stage.outcome is not None


def currencies_in_use() -> list[str]:
    """The currencies of the tenant's deals (the currency picker offers them first)."""
    return list(session.scalars(select(Deal.currency).distinct()))


def serialise(deal: Deal) -> dict:
    """The API's shape of a deal (``DealOut``, which the OpenAPI document shows); webhooks send
    the same."""
    return _deal_out.dump(deal)


# ---------------------------------------------------------------------------- totals

def _totals_by_stage() -> dict[int, list[dict]]:
    """One GROUP BY stage, currency query: per stage a list of per-currency totals."""
    rows = session.execute(
        select(Deal.stage_id, Deal.currency, func.count(Deal.id), func.coalesce(func.sum(Deal.value_cents), 0))
        .where(Deal.archived_at.is_(None)).group_by(Deal.stage_id, Deal.currency)
        .order_by(Deal.stage_id, Deal.currency)).all()
    totals: dict[int, list[dict]] = {}
    for stage_id, currency, count, value in rows:
        totals.setdefault(stage_id, []).append({"currency": currency, "count": count, "value_cents": int(value)})
    return totals


def pipeline() -> list[dict]:
    """Per stage and currency: count, value and probability-weighted value of non-archived
    deals. Currencies are never summed together: a stage with deals in two currencies has two
    rows; a stage without deals has one row in the default currency with zeros."""
    default_currency = current_app.config["CRM_DEFAULT_CURRENCY"]
    totals = _totals_by_stage()
    rows = []
    for stage in stage_service.list_stages():
        for total in totals.get(stage.id) or [{"currency": default_currency, "count": 0, "value_cents": 0}]:
            rows.append({"stage": stage.key, "label": stage.label, "probability": stage.probability,
                         "outcome": stage.outcome, "currency": total["currency"], "count": total["count"],
                         "value_cents": total["value_cents"],
                         "weighted_value_cents": total["value_cents"] * stage.probability // 100})
    return rows


# ---------------------------------------------------------------------------- writing

def _races_are_conflicts(func):
    """A concurrent write caught by the version column (at any flush) becomes the same 409 as a
    stale ``version`` from the client, with nothing half-written; so does a linked row that a
    concurrent request deleted (foreign key)."""
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StaleDataError as exc:
            session.rollback()
            raise Conflict(STALE_MESSAGE) from exc
        except IntegrityError as exc:  # a linked contact or stage was removed between check and write
            session.rollback()
            raise Conflict("A linked record was removed while saving; reload and try again.") from exc
    return wrapper


def _check_references(data: dict, deal: Deal | None) -> None:
    """Owner, contact and customer must belong to the bound tenant (422 per field otherwise)."""
    errors = {}
    if data.get("owner_id") is not None and host.active_tenant_user(data["owner_id"]) is None:
        errors["owner_id"] = f"No active user #{data['owner_id']} in this tenant."
    if data.get("contact_id") is not None:
        contact = session.scalar(select(Contact).where(Contact.id == data["contact_id"]))
        if contact is None:
            errors["contact_id"] = f"No contact #{data['contact_id']} in this tenant."
        elif "customer_id" not in data and (deal is None or deal.customer_id is None):
            data["customer_id"] = contact.customer_id  # the deal's customer defaults to the contact's
    if data.get("customer_id") is not None and host.tenant_customer(data["customer_id"]) is None:
        errors["customer_id"] = f"No customer #{data['customer_id']} in this tenant."
    if errors:
        raise Invalid(errors)


def _blank_to_none(data: dict) -> dict:
    for name in ("notes", "closed_reason"):
        if name in data and data[name] == "":
            data[name] = None
    return data


@_races_are_conflicts
def create(data: dict, *, actor_id: int | None) -> Deal:
    data = _blank_to_none(dict(data))
    stages = stage_service.list_stages()
    stage = stage_service.by_key(data.pop("stage"), stages) if data.get("stage") else stage_service.first_open_stage(stages)
    data.setdefault("owner_id", actor_id)
    data.setdefault("currency", current_app.config["CRM_DEFAULT_CURRENCY"])
    data.setdefault("value_cents", 0)
    _check_references(data, None)
    products.check_deal(data)
    lifecycle.ensure_customer_open(data.get("customer_id"), "new deals")
    deal = Deal(**data, created_by_id=actor_id, stage=stage_service.first_open_stage(stages))
    session.add(deal)
    session.flush()
    audit.record("deal", deal.id, "created", actor_id=actor_id, changes={"title": [None, deal.title]})
    signals.send_after_commit(session, signals.deal_created, deal)
    if stage.id != deal.stage.id:
        _enter_stage(deal, stage, actor_id=actor_id, reason=data.get("closed_reason"))
    lifecycle.on_deal_saved(deal, actor_id=actor_id)
    commit()
    return deal


@_races_are_conflicts
def update(deal_id: int, data: dict, *, version: int | None, actor_id: int | None) -> Deal:
    """Apply a partial edit read at ``version``; a stale version is a 409."""
    deal = get(deal_id)
    if version is None:
        raise Invalid({"version": "Send the version you read (field `version` or an If-Match header)."})
    if deal.version != version:
        raise Conflict(STALE_MESSAGE)
    data = _blank_to_none(dict(data))
    changes = {}
    new_stage = None
    for name, value in data.items():
        if name == "stage":
            target = stage_service.by_key(value)
            if target.id != deal.stage_id:
                new_stage = target
                changes["stage"] = [deal.stage.key, target.key]
        elif getattr(deal, name) != value:
            changes[name] = [getattr(deal, name), value]
    if not changes:
        return deal
    _ensure_editable(deal, changes)
    _check_references(data, deal)
    products.check_deal(data, deal)
    if "customer_id" in data and data["customer_id"] != deal.customer_id:
        lifecycle.ensure_customer_open(data["customer_id"], "new deals")
    for name, value in data.items():
        if name != "stage":
            setattr(deal, name, value)
    audit.record("deal", deal.id, "updated", actor_id=actor_id,
                 changes={k: [_plain(v) for v in pair] for k, pair in changes.items() if k != "stage"})
    signals.send_after_commit(session, signals.deal_updated, deal)
    if new_stage is not None:
        _enter_stage(deal, new_stage, actor_id=actor_id, reason=data.get("closed_reason"))
    lifecycle.on_deal_saved(deal, actor_id=actor_id)
    _commit()
    return deal


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _ensure_editable(deal: Deal, changes) -> None:
    if deal.archived_at is not None:
        raise Conflict("Archived deals cannot be edited.")
    if is_closed(deal):
        refused = sorted(set(changes) - set(CLOSED_EDITABLE))
        if refused:
            raise Conflict(f"Closed deals accept only notes and closed_reason (refused: {', '.join(refused)}).")


@_races_are_conflicts
def move_stage(deal_id: int, stage_key: str, *, actor_id: int | None, reason: str | None = None) -> Deal:
    deal = get(deal_id)
    target = stage_service.by_key(stage_key)
    if target.id == deal.stage_id:
        return deal
    _ensure_editable(deal, {"stage": True})
    _enter_stage(deal, target, actor_id=actor_id, reason=reason)
    _commit()
    return deal


@_races_are_conflicts
def close(deal_id: int, outcome: str, *, reason: str | None, actor_id: int | None) -> Deal:
    deal = get(deal_id)
    stages = stage_service.list_stages()
    target = stage_service.won_stage(stages) if outcome == "won" else stage_service.first_lost_stage(stages)
    if deal.archived_at is not None:
        raise Conflict("Archived deals cannot be edited.")
    if is_closed(deal):
        raise Conflict(f"This deal is already closed ({deal.stage.outcome}); closed deals accept only "
                       "notes and closed_reason.")
    _enter_stage(deal, target, actor_id=actor_id, reason=reason or None)
    _commit()
    return deal


@_races_are_conflicts
def archive(deal_id: int, reason: str, *, actor_id: int | None) -> Deal:
    """Hide a deal from the pipeline, keeping its history (the caller checks crm.delete)."""
    deal = get(deal_id)
    if not reason or not reason.strip():
        raise Invalid({"reason": "A reason is required to archive a deal."})
    if deal.archived_at is not None:
        raise Conflict("This deal is archived already.")
    if deal.converted_at is not None:
        raise Conflict("Converted deals cannot be archived: they are the record of a subscription.")
    if deal.stage.outcome == "won":
        raise Conflict("Won deals cannot be archived.")
    deal.archived_at, deal.archive_reason = utcnow(), reason.strip()
    audit.record("deal", deal.id, "archived", actor_id=actor_id, reason=deal.archive_reason)
    signals.send_after_commit(session, signals.deal_archived, deal)
    _commit()
    return deal


@_races_are_conflicts
def delete(deal_id: int, *, actor_id: int | None) -> None:
    """Hard delete: cleanup only, for archived deals that were never won."""
    deal = get(deal_id)
    if deal.converted_at is not None:
        raise Conflict("Converted deals cannot be deleted: they are the record of a subscription.")
    if deal.stage.outcome == "won":
        raise Conflict("Won deals cannot be deleted.")
    if deal.archived_at is None:
        raise Conflict("Only archived deals can be deleted: archive it first (with a reason).")
    audit.record("deal", deal.id, "deleted", actor_id=actor_id, changes={"title": [deal.title, None]})
    run_ids = session.scalars(select(AutomationRun.id).where(AutomationRun.deal_id == deal.id)).all()
    jobs.forget([f"deal-won:{deal.id}:", *(f"automation:{run_id}:" for run_id in run_ids)])
    session.delete(deal)
    _commit()


@_races_are_conflicts
def bulk_stage(ids: list[int], stage_key: str, *, actor_id: int | None) -> dict:
    """Move several deals at once, all or nothing: ids that are not this tenant's deals, or
    deals that are closed or archived, are reported and nothing moves."""
    target = stage_service.by_key(stage_key)
    wanted = sorted(set(ids))
    deals = list(session.scalars(select(Deal).where(Deal.id.in_([i for i in wanted if is_valid_id(i)]))))
    found = {d.id for d in deals}
    missing = [i for i in wanted if i not in found]
    if missing:
        raise Invalid({"ids": f"Not deals of this tenant: {', '.join(map(str, missing))}. Nothing was moved."})
    blocked = [f"#{d.id} ({'archived' if d.archived_at else d.stage.outcome})" for d in deals
               if d.stage_id != target.id and (d.archived_at is not None or is_closed(d))]
    if blocked:
        raise Conflict("Closed and archived deals cannot change stage: " + ", ".join(blocked)
                       + ". Nothing was moved.")
    moved = []
    for deal in deals:
        if deal.stage_id != target.id:
            _enter_stage(deal, target, actor_id=actor_id, reason=None)
            moved.append(deal.id)
    _commit()
    return {"moved": moved, "unchanged": [d.id for d in deals if d.id not in moved], "stage": target.key}


def _commit() -> None:
    commit()


def _enter_stage(deal: Deal, target: Stage, *, actor_id: int | None, reason: str | None) -> None:
    """The one place a deal changes stage: audit, signals, the automation run, lifecycle and the
    WON mail."""
    old = deal.stage
    deal.stage = target
    deal.stage_changed_at = utcnow()
    if target.outcome is not None:
        deal.closed_at = utcnow()
        if reason:
            deal.closed_reason = reason
    session.flush()  # bumps the version: the win is identified by (deal id, version)
    action = {"won": "closed_won", "lost": "closed_lost"}.get(target.outcome, "stage_changed")
    audit.record("deal", deal.id, action, actor_id=actor_id, changes={"stage": [old.key, target.key]},
                 reason=reason)
    signals.send_after_commit(session, signals.deal_stage_changed, deal, old_stage=old.key, new_stage=target.key)
    automation.queue_run(deal, old, target, actor_id=actor_id)
    if target.outcome == "won":
        _queue_won_mail(deal)
        lifecycle.on_deal_won(deal, actor_id=actor_id)
        signals.send_after_commit(session, signals.deal_won, deal)
    elif target.outcome == "lost":
        signals.send_after_commit(session, signals.deal_lost, deal)


def _queue_won_mail(deal: Deal) -> None:
    """Queue the owner's WON mail in this transaction (outbox: delivered after commit, retried
    on failure; the dedupe key makes it one mail per win)."""
    if deal.owner_id is None:
        return
    User = host.user_model()
    owner = session.scalar(host.tenant_users().where(User.id == deal.owner_id))
    if owner is None or not getattr(owner, "email", None):
        log.warning("deal %s won but its owner #%s has no address; no mail", deal.id, deal.owner_id)
        return
    link = url_for("crm.deal_detail", deal_id=deal.id, _external=True) if has_request_context() else f"deal #{deal.id}"
    amount = format_money(deal.value_cents, deal.currency)
    body = (f"Good news: the deal \"{deal.title}\" was won ({amount}).\n\n"
            f"Reason: {deal.closed_reason or '-'}\nOpen it: {link}\n")
    outbox.queue_mail(owner.email, f"Deal won: {deal.title}", body,
                      dedupe_key=f"deal-won:{deal.id}:v{deal.version}")


def valid_filters(args) -> dict:
    """Parse the list filters of the API/board query string (422 for non-integer ids)."""
    filters, errors = {}, {}
    for name in ("owner_id", "contact_id", "customer_id"):
        raw = args.get(name)
        if raw not in (None, ""):
            try:
                filters[name] = int(raw)
            except ValueError:
                errors[name] = f"{name} must be a whole number."
                continue
            if not is_valid_id(filters[name]):
                errors[name] = f"{name} is out of range."
    if args.get("stage"):
        filters["stage"] = args["stage"]
    if args.get("q"):
        filters["q"] = args["q"][:200]
        if any(ord(ch) < 32 for ch in filters["q"]):
            errors["q"] = "The search contains control characters."
    filters["include_archived"] = args.get("include_archived", "").lower() in ("1", "true", "yes")
    if errors:
        raise Invalid(errors)
    return filters

