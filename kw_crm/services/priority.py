"""Next-action priority: one pure function from the facts of an open activity to its rank.

No database access here: ``services/queue.py`` reads the facts of a whole queue in a constant
number of queries and calls :func:`rank` per row, so the rules can be tested on hand-made facts
and explained line by line. Ranking writes nothing.

The formula (every number is a named constant below)::

    fit    = clamp(50 + value + stage + lifecycle + health [+ billing_fit], 0, 100)
    intent = clamp(30 + due + communications + movement [+ trial], 0, 100)
    score  = round((fit + intent) / 2)

*Fit* - is the account and opportunity worth seller time?
  - value: the opportunity's value relative to the tenant's average open deal *of the same
    currency* (``value_ratio``; the linked deal, else the customer's best open deal):
    >= 1.5x average +20, >= 0.75x +10, smaller -5; no open deal at all -25.
  - stage: ``(probability - 40) * 0.4`` - an 80% stage adds 16, a 10% stage takes 12.
  - lifecycle: qualified +5, customer +5 (expansion), prospect 0, churned -15.
  - health: below 30 (churn risk) -20, 70 or more +10, unknown or between 0.
  - billing (only for viewers allowed to see billing): past-due AR -20, an active
    subscription +5.
*Intent* - is there momentum now?
  - due date: overdue +30, due today +25, within 3 days +15, within 7 days +5, more than
    14 days away -10, no due date -10.
  - communications: 3 or more in the last 14 days +25, 1-2 +15; none for 30 days -10.
  - stage movement of the linked deal (days since it entered its current stage, by a stage
    change or by being created there): within 14 days +20; 60 days or more -10.
  - billing (viewer only): a trial subscription running +15 (conversion window).

Each contribution is also a *signal*: a human-readable label with its effect ("+" raises the
score, "-" lowers it); the rows show the strongest three of each kind.

The *next best action* is the first rule that applies: billing trouble -> finance first; no
opportunity context -> qualify; churn risk -> rescue; overdue -> do it today; stalled deal ->
re-engage; late-stage deal -> push to close; recent conversation -> follow up; else the planned
step. *Sequence eligibility* (a bounded templated follow-up) is refused with explicit blockers:
already contracted (lifecycle customer, or an active subscription seen with billing rights),
billing trouble (past-due AR, billing rights only) and not enough opportunity context (no open
deal linked or on the customer)."""
import math
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

FIT_BASE, INTENT_BASE = 50, 30

VALUE_LARGE_RATIO, VALUE_LARGE = 1.5, 20
VALUE_TYPICAL_RATIO, VALUE_TYPICAL = 0.75, 10
VALUE_SMALL = -5
NO_OPPORTUNITY = -25
STAGE_PIVOT, STAGE_WEIGHT = 40, 0.4
LIFECYCLE_POINTS = {"prospect": 0, "qualified": 5, "customer": 5, "churned": -15}
CHURN_RISK_BELOW, CHURN_RISK = 30, -20
HEALTHY_FROM, HEALTHY = 70, 10
PAST_DUE_AR, ACTIVE_SUBSCRIPTION = -20, 5

OVERDUE, DUE_TODAY, DUE_SOON, DUE_THIS_WEEK, DUE_FAR, NO_DUE_DATE = 30, 25, 15, 5, -10, -10
DUE_SOON_DAYS, DUE_THIS_WEEK_DAYS, DUE_FAR_DAYS = 3, 7, 14
COMMS_WINDOW_DAYS, COMMS_MANY, COMMS_MANY_POINTS, COMMS_SOME_POINTS = 14, 3, 25, 15
QUIET_DAYS, QUIET = 30, -10
MOVED_DAYS, MOVED, STALLED_DAYS, STALLED = 14, 20, 60, -10
TRIAL = 15

LATE_STAGE_PROBABILITY = 60
SHOWN_SIGNALS = 3

BLOCK_CONTRACTED = "already contracted"
BLOCK_BILLING = "billing trouble"
BLOCK_CONTEXT = "not enough opportunity context"


@dataclass(slots=True)
class Billing:
    """What the host's billing hook says about the customer (only built for viewers allowed
    to see billing)."""

    past_due_ar_cents: dict[str, int] = field(default_factory=dict)
    outstanding_ar_cents: dict[str, int] = field(default_factory=dict)
    active_products: tuple[str, ...] = ()
    trial_products: tuple[str, ...] = ()


@dataclass(slots=True)
class Facts:
    """Everything the rank of one open activity depends on."""

    today: date
    activity_type: str = "task"
    due_date: date | None = None
    has_customer: bool = False
    lifecycle_stage: str | None = None
    health_score: int | None = None
    # the opportunity: the linked open deal, else the customer's best open deal (None: none)
    deal_title: str | None = None
    deal_linked: bool = False
    value_ratio: float | None = None
    probability: int | None = None
    stage_label: str | None = None
    days_since_stage_move: int | None = None  # linked deal only: days since it entered its stage
    communications_14d: int = 0
    days_since_contact: int | None = None  # None: never contacted
    billing: Billing | None = None  # None: the viewer may not see billing, or the host has none


class Signal(NamedTuple):
    label: str
    points: int  # the signed contribution to fit or intent

    @property
    def effect(self) -> str:
        return "+" if self.points > 0 else "-"


@dataclass(slots=True)
class Ranking:
    score: int
    fit: int
    intent: int
    signals: list[Signal]  # strongest first, at most SHOWN_SIGNALS of each effect
    next_best_action: str
    blockers: list[str]

    @property
    def eligible(self) -> bool:
        return not self.blockers


def _clamp(value: float) -> int:
    """Round half up (never banker's rounding) into 0..100."""
    return int(max(0, min(100, math.floor(value + 0.5))))


def _money(cents_by_currency: dict[str, int]) -> str:
    return ", ".join(f"{cents / 100:,.2f} {currency}" for currency, cents in sorted(cents_by_currency.items()))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _fit_signals(f: Facts) -> list[Signal]:
    out = []
    if f.probability is None:
        out.append(Signal("No open deal: not enough opportunity context", NO_OPPORTUNITY))
    else:
        ratio = f.value_ratio or 0.0
        if ratio >= VALUE_LARGE_RATIO:
            out.append(Signal(f"Large deal: {ratio:.1f}x the average open deal", VALUE_LARGE))
        elif ratio >= VALUE_TYPICAL_RATIO:
            out.append(Signal(f"Deal value near the average open deal ({ratio:.1f}x)", VALUE_TYPICAL))
        else:
            out.append(Signal(f"Small deal: {ratio:.1f}x the average open deal", VALUE_SMALL))
        stage_points = round((f.probability - STAGE_PIVOT) * STAGE_WEIGHT)
        if stage_points:
            what = "Late stage" if stage_points > 0 else "Early stage"
            out.append(Signal(f"{what}: {f.stage_label or 'stage'} ({f.probability}%)", stage_points))
    lifecycle = LIFECYCLE_POINTS.get(f.lifecycle_stage or "", 0)
    if lifecycle:
        label = {"qualified": "Qualified account", "customer": "Existing customer: expansion",
                 "churned": "Churned account"}[f.lifecycle_stage]
        out.append(Signal(label, lifecycle))
    if f.health_score is not None:
        if f.health_score < CHURN_RISK_BELOW:
            out.append(Signal(f"Churn risk: health {f.health_score}", CHURN_RISK))
        elif f.health_score >= HEALTHY_FROM:
            out.append(Signal(f"Healthy account: health {f.health_score}", HEALTHY))
    if f.billing is not None:
        if f.billing.past_due_ar_cents:
            out.append(Signal(f"Past-due AR {_money(f.billing.past_due_ar_cents)}", PAST_DUE_AR))
        if f.billing.active_products:
            out.append(Signal(f"Active subscription: {', '.join(f.billing.active_products)}", ACTIVE_SUBSCRIPTION))
    return out


def _due_signal(f: Facts) -> Signal | None:
    if f.due_date is None:
        return Signal("No due date", NO_DUE_DATE)
    days = (f.due_date - f.today).days
    if days < 0:
        return Signal(f"Overdue by {_plural(-days, 'day')}", OVERDUE)
    if days == 0:
        return Signal("Due today", DUE_TODAY)
    if days <= DUE_SOON_DAYS:
        return Signal(f"Due in {_plural(days, 'day')}", DUE_SOON)
    if days <= DUE_THIS_WEEK_DAYS:
        return Signal(f"Due this week (in {days} days)", DUE_THIS_WEEK)
    if days > DUE_FAR_DAYS:
        return Signal(f"Due in {days} days: no pressure yet", DUE_FAR)
    return None


def _intent_signals(f: Facts) -> list[Signal]:
    out = [s for s in (_due_signal(f),) if s]
    if f.communications_14d >= COMMS_MANY:
        out.append(Signal(f"{f.communications_14d} communications in {COMMS_WINDOW_DAYS} days", COMMS_MANY_POINTS))
    elif f.communications_14d > 0:
        out.append(Signal(f"{_plural(f.communications_14d, 'communication')} in {COMMS_WINDOW_DAYS} days",
                          COMMS_SOME_POINTS))
    elif f.has_customer and (f.days_since_contact is None or f.days_since_contact >= QUIET_DAYS):
        quiet = "never contacted" if f.days_since_contact is None else f"{f.days_since_contact} days"
        out.append(Signal(f"Gone quiet: no communication ({quiet})", QUIET))
    if f.deal_linked and f.days_since_stage_move is not None:
        stage = f.stage_label or "its stage"
        if f.days_since_stage_move <= MOVED_DAYS:
            ago = "today" if f.days_since_stage_move == 0 else f"{_plural(f.days_since_stage_move, 'day')} ago"
            out.append(Signal(f"Deal entered {stage} {ago}", MOVED))
        elif f.days_since_stage_move >= STALLED_DAYS:
            out.append(Signal(f"Deal stalled: {f.days_since_stage_move} days in {stage}", STALLED))
    if f.billing is not None and f.billing.trial_products:
        out.append(Signal(f"Trial running: {', '.join(f.billing.trial_products)}", TRIAL))
    return out


def _blockers(f: Facts) -> list[str]:
    blockers = []
    if f.lifecycle_stage == "customer" or (f.billing is not None and f.billing.active_products):
        blockers.append(BLOCK_CONTRACTED)
    if f.billing is not None and f.billing.past_due_ar_cents:
        blockers.append(BLOCK_BILLING)
    if f.probability is None:
        blockers.append(BLOCK_CONTEXT)
    return blockers


def _next_best_action(f: Facts) -> str:
    verb = {"call": "Call", "email": "Email", "meeting": "Meet", "task": "Do the task",
            "note": "Write the note"}.get(f.activity_type, "Act")
    overdue = f.due_date is not None and f.due_date < f.today
    if f.billing is not None and f.billing.past_due_ar_cents:
        return (f"Billing first: {_money(f.billing.past_due_ar_cents)} is past due - agree the next step "
                "with finance before selling more.")
    if f.probability is None:
        if not f.has_customer:
            return "Qualify: link this work to a customer and an open deal so it can be prioritised."
        return "Qualify the account: create a deal or link this work to an open one."
    if f.health_score is not None and f.health_score < CHURN_RISK_BELOW:
        return f"Rescue: health is {f.health_score} - address the account's problems before pitching."
    if overdue:
        return f"{verb} today: this is {_plural((f.today - f.due_date).days, 'day')} overdue."
    if f.deal_linked and f.days_since_stage_move is not None and f.days_since_stage_move >= STALLED_DAYS:
        return f"Re-engage: {f.deal_title or 'the deal'} has not moved for {f.days_since_stage_move} days - propose a concrete next step."
    if f.probability >= LATE_STAGE_PROBABILITY:
        return f"Push to close {f.deal_title or 'the deal'}: confirm the decision date and the paperwork."
    if f.communications_14d > 0:
        return f"{verb} while the conversation is warm ({_plural(f.communications_14d, 'communication')} in {COMMS_WINDOW_DAYS} days)."
    if f.billing is not None and f.billing.trial_products:
        return f"Convert the trial of {', '.join(f.billing.trial_products)} before it ends."
    when = "today" if f.due_date == f.today else f"on {f.due_date.isoformat()}" if f.due_date else "soon"
    return f"{verb} as planned {when}."


def _strongest(signals: list[Signal]) -> list[Signal]:
    positive = sorted((s for s in signals if s.points > 0), key=lambda s: -s.points)[:SHOWN_SIGNALS]
    negative = sorted((s for s in signals if s.points < 0), key=lambda s: s.points)[:SHOWN_SIGNALS]
    return sorted(positive + negative, key=lambda s: -abs(s.points))


def rank(f: Facts) -> Ranking:
    """Score one open activity (see the module docstring for the formula)."""
    fit_signals, intent_signals = _fit_signals(f), _intent_signals(f)
    fit = _clamp(FIT_BASE + sum(s.points for s in fit_signals))
    intent = _clamp(INTENT_BASE + sum(s.points for s in intent_signals))
    return Ranking(score=_clamp((fit + intent) / 2), fit=fit, intent=intent,
                   signals=_strongest(fit_signals + intent_signals),
                   next_best_action=_next_best_action(f), blockers=_blockers(f))
