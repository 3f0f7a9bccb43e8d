"""The priority function on hand-made facts: each signal moves the score the documented way,
billing signals exist only when billing facts are given (viewers with billing rights), and the
recommendation and sequence blockers follow their rules. No database: the function is pure."""
from dataclasses import replace
from datetime import date, timedelta

import pytest

from kw_crm.services.priority import (
    BLOCK_BILLING,
    BLOCK_CONTEXT,
    BLOCK_CONTRACTED,
    Billing,
    Facts,
    rank,
)

TODAY = date(2026, 6, 10)
# A neutral row: a linked deal of average value at 40%, a prospect with unknown health, due in
# ten days, last contacted 20 days ago, stage entered 20 days ago - no signal beyond "value
# near the average" fires.
BASE = Facts(today=TODAY, activity_type="call", due_date=TODAY + timedelta(days=10), has_customer=True,
             lifecycle_stage="prospect", health_score=None, deal_title="Big rollout", deal_linked=True,
             value_ratio=1.0, probability=40, stage_label="Qualified", days_since_stage_move=20,
             communications_14d=0, days_since_contact=20, billing=None)
NO_DEAL = dict(deal_linked=False, value_ratio=None, probability=None, stage_label=None, deal_title=None,
               days_since_stage_move=None)
PAST_DUE = Billing(past_due_ar_cents={"USD": 120_000}, outstanding_ar_cents={"USD": 150_000})


def test_the_neutral_row_scores_as_documented():
    ranking = rank(BASE)
    assert (ranking.fit, ranking.intent, ranking.score) == (60, 30, 45)  # fit 50+10, intent 30, (60+30)/2
    assert [(s.label, s.effect) for s in ranking.signals] == [("Deal value near the average open deal (1.0x)", "+")]
    assert ranking.blockers == [] and ranking.eligible


CASES = [
    # name, changes, part that moves, direction, signal text, signal effect
    ("large deal", dict(value_ratio=2.3), "fit", +1, "Large deal: 2.3x", "+"),
    ("small deal", dict(value_ratio=0.2), "fit", -1, "Small deal: 0.2x", "-"),
    ("no open deal", NO_DEAL, "fit", -1, "No open deal", "-"),
    ("late stage", dict(probability=80, stage_label="Negotiation"), "fit", +1, "Late stage: Negotiation (80%)", "+"),
    ("early stage", dict(probability=10, stage_label="Lead"), "fit", -1, "Early stage: Lead (10%)", "-"),
    ("qualified", dict(lifecycle_stage="qualified"), "fit", +1, "Qualified account", "+"),
    ("existing customer", dict(lifecycle_stage="customer"), "fit", +1, "Existing customer", "+"),
    ("churned", dict(lifecycle_stage="churned"), "fit", -1, "Churned account", "-"),
    ("churn risk", dict(health_score=22), "fit", -1, "Churn risk: health 22", "-"),
    ("healthy", dict(health_score=85), "fit", +1, "Healthy account: health 85", "+"),
    ("overdue", dict(due_date=TODAY - timedelta(days=3)), "intent", +1, "Overdue by 3 days", "+"),
    ("due today", dict(due_date=TODAY), "intent", +1, "Due today", "+"),
    ("due soon", dict(due_date=TODAY + timedelta(days=2)), "intent", +1, "Due in 2 days", "+"),
    ("due this week", dict(due_date=TODAY + timedelta(days=6)), "intent", +1, "Due this week", "+"),
    ("due far away", dict(due_date=TODAY + timedelta(days=30)), "intent", -1, "Due in 30 days", "-"),
    ("no due date", dict(due_date=None), "intent", -1, "No due date", "-"),
    ("busy conversation", dict(communications_14d=4, days_since_contact=1), "intent", +1, "4 communications in 14 days", "+"),
    ("one conversation", dict(communications_14d=1, days_since_contact=2), "intent", +1, "1 communication in 14 days", "+"),
    ("gone quiet", dict(days_since_contact=45), "intent", -1, "Gone quiet", "-"),
    ("never contacted", dict(days_since_contact=None), "intent", -1, "never contacted", "-"),
    ("stage just moved", dict(days_since_stage_move=3), "intent", +1, "Deal entered Qualified 3 days ago", "+"),
    ("stalled deal", dict(days_since_stage_move=90), "intent", -1, "Deal stalled: 90 days in Qualified", "-"),
    ("past-due AR", dict(billing=PAST_DUE), "fit", -1, "Past-due AR 1,200.00 USD", "-"),
    ("active subscription", dict(billing=Billing(active_products=("Meridian",))), "fit", +1,
     "Active subscription: Meridian", "+"),
    ("trial running", dict(billing=Billing(trial_products=("RMM",))), "intent", +1, "Trial running: RMM", "+"),
]


@pytest.mark.parametrize("name, changes, part, direction, text, effect", CASES, ids=[c[0] for c in CASES])
def test_each_signal_moves_the_score_the_documented_way(name, changes, part, direction, text, effect):
    base, ranking = rank(BASE), rank(replace(BASE, **changes))
    assert (getattr(ranking, part) - getattr(base, part)) * direction > 0, (part, getattr(ranking, part))
    assert (ranking.score - base.score) * direction > 0, ranking.score
    other = "intent" if part == "fit" else "fit"
    assert getattr(ranking, other) == getattr(base, other)  # a signal moves only its own part
    assert [s.effect for s in ranking.signals if text in s.label] == [effect], ranking.signals


def test_billing_signals_vanish_without_billing_facts():
    trouble = replace(BASE,
                      billing=Billing(past_due_ar_cents={"EUR": 5000}, active_products=("Meridian",),
                                      trial_products=("RMM",)))
    seen, unseen = rank(trouble), rank(replace(trouble, billing=None))
    assert {"Past-due AR 50.00 EUR", "Active subscription: Meridian", "Trial running: RMM"} <= {
        s.label for s in seen.signals}
    assert not [s for s in unseen.signals if "AR" in s.label or "subscription" in s.label or "Trial" in s.label]
    assert seen.blockers == [BLOCK_CONTRACTED, BLOCK_BILLING] and unseen.blockers == []
    assert "past due" in seen.next_best_action and "past due" not in unseen.next_best_action


@pytest.mark.parametrize("changes, blockers", [
    (dict(), []),
    (dict(lifecycle_stage="customer"), [BLOCK_CONTRACTED]),
    (dict(billing=Billing(active_products=("Meridian",))), [BLOCK_CONTRACTED]),
    (dict(billing=PAST_DUE), [BLOCK_BILLING]),
    (NO_DEAL, [BLOCK_CONTEXT]),
    (dict(NO_DEAL, lifecycle_stage="customer", billing=PAST_DUE), [BLOCK_CONTRACTED, BLOCK_BILLING, BLOCK_CONTEXT]),
])
def test_sequence_blockers(changes, blockers):
    ranking = rank(replace(BASE, **changes))
    assert ranking.blockers == blockers and ranking.eligible is (not blockers)


@pytest.mark.parametrize("changes, starts", [
    (dict(billing=PAST_DUE, health_score=10), "Billing first"),
    (dict(NO_DEAL, health_score=10), "Qualify the account"),
    (dict(NO_DEAL, has_customer=False, lifecycle_stage=None), "Qualify: link this work"),
    (dict(health_score=10, due_date=TODAY - timedelta(days=2)), "Rescue"),
    (dict(due_date=TODAY - timedelta(days=2)), "Call today: this is 2 days overdue"),
    (dict(days_since_stage_move=75), "Re-engage: Big rollout has not moved for 75 days"),
    (dict(probability=80), "Push to close Big rollout"),
    (dict(communications_14d=2, days_since_contact=1), "Call while the conversation is warm"),
    (dict(billing=Billing(trial_products=("RMM",))), "Convert the trial of RMM"),
    (dict(), "Call as planned on 2026-06-20"),
])
def test_next_best_action_takes_the_first_rule_that_applies(changes, starts):
    assert rank(replace(BASE, **changes)).next_best_action.startswith(starts)


def test_scores_stay_within_0_and_100_and_show_the_strongest_signals():
    best = rank(replace(BASE, value_ratio=5, probability=100, lifecycle_stage="qualified", health_score=95,
                        due_date=TODAY - timedelta(days=1), communications_14d=9, days_since_contact=0,
                        days_since_stage_move=0, billing=Billing(trial_products=("RMM",))))
    worst = rank(replace(BASE, **NO_DEAL, lifecycle_stage="churned", health_score=3, due_date=None,
                         days_since_contact=None, billing=PAST_DUE))
    assert (best.fit, best.intent, best.score) == (100, 100, 100)
    assert worst.fit == 0 and worst.score < 10
    assert len([s for s in best.signals if s.effect == "+"]) == 3  # the strongest three of each kind
    assert [s.label for s in worst.signals][0].startswith("No open deal")  # the strongest first (-25)
