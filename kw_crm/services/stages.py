"""Pipeline stages per tenant: the defaults are created on first use; admins add, rename,
reorder, re-weight and (when empty) delete stages. Invariants: exactly one won stage, at least
one lost stage, keys unique per tenant, probability 0-100; a stage holding deals cannot be
deleted and cannot change its outcome (that would close or reopen deals behind their backs)."""
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..db import commit, session
from ..errors import Conflict, Invalid, NotFound
from ..models import Deal, Stage
from . import audit

DEFAULT_STAGES = (
    ("LEAD", "Lead", 10, None),
    ("QUALIFIED", "Qualified", 20, None),
    ("PROPOSAL", "Proposal", 60, None),
    ("NEGOTIATION", "Negotiation", 80, None),
    ("WON", "Won", 100, "won"),
    ("LOST", "Lost", 0, "lost"),
)
# automation on entering a stage (seed 004): follow-up days per open stage, finance hand-off
DEFAULT_FOLLOWUP_DAYS = {"LEAD": 2, "QUALIFIED": 3, "PROPOSAL": 3, "NEGOTIATION": 2}
DEFAULT_FINANCE_HANDOFF = ("NEGOTIATION", "WON")
AUTOMATION_FIELDS = ("followup_days", "finance_handoff", "notify_owner")
MAX_FOLLOWUP_DAYS = 365
OUTCOMES = (None, "won", "lost")
KEY_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")
MAX_STAGES = 30
MAX_STALE_DAYS = 3650  # ten years: anything longer is a typo, not a threshold


def list_stages() -> list[Stage]:
    """The tenant's stages in board order, creating the defaults the first time."""
    stages = list(session.scalars(select(Stage).order_by(Stage.position, Stage.id)))
    if stages:
        return stages
    try:
        with session.begin_nested():
            for position, (key, label, probability, outcome) in enumerate(DEFAULT_STAGES):
                session.add(Stage(key=key, label=label, probability=probability, position=position, outcome=outcome,
                                  followup_days=DEFAULT_FOLLOWUP_DAYS.get(key),
                                  finance_handoff=key in DEFAULT_FINANCE_HANDOFF, notify_owner=False))
    except IntegrityError:
        pass  # a concurrent request created them first; read theirs
    else:
        commit()  # stage ids must stay stable even if the caller's request only reads
    return list(session.scalars(select(Stage).order_by(Stage.position, Stage.id)))


def by_key(key, stages: list[Stage] | None = None) -> Stage:
    """The stage ``key`` of the bound tenant, or a 422 naming the field."""
    if isinstance(key, str):
        wanted = key.strip().upper()
        for stage in stages if stages is not None else list_stages():
            if stage.key == wanted:
                return stage
    raise Invalid({"stage": f"Unknown stage {key!r}."})


def won_stage(stages: list[Stage] | None = None) -> Stage:
    return next(s for s in (stages or list_stages()) if s.outcome == "won")


def first_lost_stage(stages: list[Stage] | None = None) -> Stage:
    return next(s for s in (stages or list_stages()) if s.outcome == "lost")


def first_open_stage(stages: list[Stage] | None = None) -> Stage:
    stages = stages or list_stages()
    return next((s for s in stages if s.outcome is None), stages[0])


def deal_counts() -> dict[int, int]:
    """Deals (archived ones too: they still reference the stage) per stage id."""
    return dict(session.execute(select(Deal.stage_id, func.count()).group_by(Deal.stage_id)).all())


def _validate(items) -> list[dict]:
    """Check a full stage list (the PUT body or the settings form) -> normalised dicts."""
    if not isinstance(items, list) or not items:
        raise Invalid({"stages": "Send a non-empty list of stages."})
    if len(items) > MAX_STAGES:
        raise Invalid({"stages": f"At most {MAX_STAGES} stages."})
    errors: dict[str, list[str]] = {}
    cleaned, seen = [], set()
    for index, item in enumerate(items):
        problems = []
        if not isinstance(item, dict):
            errors[f"stages.{index}"] = ["Each stage must be an object."]
            continue
        unknown = set(item) - {"key", "label", "probability", "position", "outcome", "stale_after_days",
                               *AUTOMATION_FIELDS}
        if unknown:
            problems.append(f"Unknown field(s): {', '.join(sorted(map(str, unknown)))}.")
        key = item.get("key")
        key = key.strip().upper() if isinstance(key, str) else key
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            problems.append("key must be 1-40 letters, digits or _ starting with a letter.")
        elif key in seen:
            problems.append(f"key {key} is used twice.")
        seen.add(key)
        label = item.get("label", key)
        label = label.strip() if isinstance(label, str) else label
        if not isinstance(label, str) or not 1 <= len(label) <= 80:
            problems.append("label must be 1-80 characters.")
        probability = item.get("probability")
        if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= 100:
            problems.append("probability must be a whole number from 0 to 100.")
        outcome = item.get("outcome")
        if outcome not in OUTCOMES:
            problems.append('outcome must be null, "won" or "lost".')
        stale = item.get("stale_after_days")
        if stale is not None and (isinstance(stale, bool) or not isinstance(stale, int)
                                  or not 1 <= stale <= MAX_STALE_DAYS):
            problems.append(f"stale_after_days must be empty or a whole number of days from 1 to {MAX_STALE_DAYS}.")
        elif stale is not None and outcome is not None:
            problems.append("stale_after_days applies to open stages only: closed deals do not go stale.")
        automation = _automation_settings(item, problems)
        if problems:
            errors[f"stages.{index}"] = problems
        else:
            row = {"key": key, "label": label, "probability": probability, "outcome": outcome, "position": index,
                   **automation}
            if "stale_after_days" in item:  # absent: the stage keeps its threshold
                row["stale_after_days"] = stale
            cleaned.append(row)
    if errors:
        raise Invalid(errors)
    won = sum(1 for c in cleaned if c["outcome"] == "won")
    lost = sum(1 for c in cleaned if c["outcome"] == "lost")
    if won != 1 or lost < 1:
        raise Invalid({"stages": f"There must be exactly one won stage and at least one lost stage "
                                 f"(got {won} won, {lost} lost)."})
    return cleaned


def removes_stages(items) -> bool:
    """Would ``replace_stages(items)`` delete a stage? (Deleting needs ``crm.delete``.)"""
    wanted = {c["key"] for c in _validate(items)}
    return any(key not in wanted for key in (s.key for s in list_stages()))


def _automation_settings(item: dict, problems: list[str]) -> dict:
    """The automation fields present in ``item`` (absent ones keep the stage's current value)."""
    settings = {}
    if "followup_days" in item:
        days = item["followup_days"]
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                                 or not 0 <= days <= MAX_FOLLOWUP_DAYS):
            problems.append(f"followup_days must be null (no follow-up) or a whole number from 0 to {MAX_FOLLOWUP_DAYS}.")
        settings["followup_days"] = days
    for name in ("finance_handoff", "notify_owner"):
        if name in item:
            if not isinstance(item[name], bool):
                problems.append(f"{name} must be true or false.")
            settings[name] = item[name]
    return settings


def replace_stages(items, *, actor_id: int | None) -> list[Stage]:
    """Make the tenant's stages equal ``items`` (order = list order). Keys are the identity:
    a known key is updated, a new key created, a missing key deleted (refused while it holds
    deals). A stage sent without ``stale_after_days`` keeps its threshold. All or nothing."""
    cleaned = _validate(items)
    current = {s.key: s for s in list_stages()}
    counts = deal_counts()
    wanted = {c["key"] for c in cleaned}
    blocked = [f"{key} ({counts[s.id]} deals)" for key, s in current.items()
               if key not in wanted and counts.get(s.id)]
    if blocked:
        raise Conflict(f"A stage that holds deals cannot be deleted; move its deals first: {', '.join(blocked)}.")
    switched = [f"{c['key']}" for c in cleaned if c["key"] in current
                and current[c["key"]].outcome != c["outcome"] and counts.get(current[c["key"]].id)]
    if switched:
        raise Conflict("The outcome of a stage that holds deals cannot change (it would close or reopen them): "
                       + ", ".join(switched) + ".")
    for key, stage in current.items():
        if key not in wanted:
            session.delete(stage)
    session.flush()
    for c in cleaned:
        stage = current.get(c["key"])
        if stage is None:
            stage = Stage(**{"followup_days": None, "finance_handoff": False, "notify_owner": False, **c})
            session.add(stage)
        else:
            for name, value in c.items():  # settings left out of the request keep their value
                setattr(stage, name, value)
    audit.record("stages", 0, "replaced", actor_id=actor_id,
                 changes={"stages": [[c["key"], c["label"], c["probability"], c["outcome"], c.get("stale_after_days")]
                                     for c in cleaned]})
    try:
        commit()
    except IntegrityError as exc:  # a deal landed in a deleted stage meanwhile (FK RESTRICT)
        session.rollback()
        raise Conflict("The stages changed while saving (a deal was added to a removed stage); "
                       "reload and try again.") from exc
    return list_stages()


def delete_stage(key: str, *, move_to: str | None, actor_id: int | None) -> int:
    """Delete stage ``key``, first moving its deals to ``move_to`` (which must have the same
    outcome, so no deal is closed or reopened by a settings change). Returns deals moved."""
    stages = list_stages()
    stage = next((s for s in stages if s.key == (key or "").upper()), None)
    if stage is None:
        raise NotFound("No such stage.")
    remaining = [dict(key=s.key, label=s.label, probability=s.probability, outcome=s.outcome,
                      stale_after_days=s.stale_after_days) for s in stages if s.id != stage.id]
    try:
        _validate(remaining)
    except Invalid as error:
        raise Conflict(f"Stage {stage.key} cannot be deleted: " + " ".join(
            message for messages in error.fields.values() for message in messages)) from error
    moved = 0
    if deal_counts().get(stage.id):
        if not move_to:
            raise Conflict(f"Stage {stage.key} still holds deals; choose a stage to move them to.")
        target = by_key(move_to, stages)
        if target.id == stage.id:
            raise Invalid({"move_to": "Choose another stage."})
        if target.outcome != stage.outcome:
            raise Conflict("Deals can only be moved to a stage with the same outcome (open, won or lost).")
        deals = list(session.scalars(select(Deal).where(Deal.stage_id == stage.id)))
        for deal in deals:
            deal.stage = target
            audit.record("deal", deal.id, "stage_changed", actor_id=actor_id,
                         changes={"stage": [stage.key, target.key]}, reason=f"stage {stage.key} deleted")
        moved = len(deals)
        session.flush()
    session.delete(stage)
    for position, s in enumerate(s for s in stages if s.id != stage.id):
        s.position = position
    audit.record("stages", 0, "deleted", actor_id=actor_id, changes={"key": stage.key, "moved_deals": moved})
    commit()
    return moved


def serialise(stage: Stage) -> dict:
    return {"key": stage.key, "label": stage.label, "probability": stage.probability,
            "position": stage.position, "outcome": stage.outcome, "stale_after_days": stage.stale_after_days,
            "followup_days": stage.followup_days, "finance_handoff": stage.finance_handoff,
            "notify_owner": stage.notify_owner}
