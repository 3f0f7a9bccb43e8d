"""The CRM dashboard page: the same numbers as ``GET /api/crm/dashboard``, plus the pipeline by
stage and the lifecycle breakdown drawn as charts."""
from .. import charts
from ..services import dashboard, deals
from ..services.currencies import format_money
from . import render, web_bp


def _stage_charts() -> list[charts.Chart]:
    """Open stages per currency: value with its weighted part (money never summed across
    currencies: one chart per currency that has open deals)."""
    rows = [r for r in deals.pipeline() if r["outcome"] is None]
    stages = list(dict.fromkeys((r["stage"], r["label"]) for r in rows))
    by_key = {(r["stage"], r["currency"]): r for r in rows}
    result = []
    for currency in sorted({r["currency"] for r in rows if r["count"]}):
        cells = [by_key.get((key, currency)) or {"label": label, "count": 0, "value_cents": 0, "weighted_value_cents": 0}
                 for key, label in stages]
        bars = [{"label": c["label"], "values": {"open": c["value_cents"], "weighted": c["weighted_value_cents"]},
                 "texts": {"open": f"{c['count']} · {format_money(c['value_cents'], currency)}",
                           "weighted": format_money(c["weighted_value_cents"], currency)}} for c in cells]
        result.append(charts.bars(f"stages-{currency.lower()}", f"Open pipeline by stage, {currency}", bars,
                                  series=[("open", "Deals and value"), ("weighted", "Weighted value")],
                                  table_head=["Stage", "Deals and value", "Weighted value"],
                                  describe=f"Open {currency} deals per stage, in board order: "
                                           + "; ".join(f"{c['label']} {c['count']}" for c in cells) + "."))
    return result


def _lifecycle_chart(by_stage: dict) -> charts.Chart:
    rows = [{"label": stage.capitalize(), "values": {"count": count}, "texts": {"count": str(count)}}
            for stage, count in by_stage.items()]
    return charts.bars("lifecycle", "Customers by lifecycle stage", rows, series=[("count", "Customers")],
                       table_head=["Lifecycle stage", "Customers"],
                       describe="Active customers per lifecycle stage: "
                                + "; ".join(f"{stage} {count}" for stage, count in by_stage.items()) + ".")


@web_bp.route("/dashboard", endpoint="dashboard")
def dashboard_page():
    summary = dashboard.summary()
    return render("dashboard/index.html", d=summary, stage_charts=_stage_charts(),
                  lifecycle_chart=_lifecycle_chart(summary["by_lifecycle_stage"]))
