"""The Forecasting page: the numbers of ``GET /api/crm/forecast`` drawn as charts, with the
owner and window filters as a plain GET form (the filter changes the server's query)."""
from datetime import date

from flask import request

from .. import charts
from ..errors import Invalid
from ..services import forecast
from ..services.currencies import format_money
from . import render, web_bp


def _owner_chart(report: dict, currency: str) -> charts.Chart:
    rows = [{"label": r["owner_name"] or "Unassigned",
             "values": {"open": r["open_value_cents"], "weighted": r["weighted_value_cents"]},
             "texts": {"open": format_money(r["open_value_cents"], currency),
                       "weighted": format_money(r["weighted_value_cents"], currency)}}
            for r in report["by_owner"] if r["currency"] == currency]
    return charts.bars(f"owners-{currency.lower()}", f"Open and weighted pipeline by owner, {currency}", rows,
                       series=[("open", "Open value"), ("weighted", "Weighted value")],
                       table_head=["Owner", "Open value", "Weighted value"],
                       describe=f"{len(rows)} owners with open {currency} deals; the darker part of each bar "
                                "is the value weighted by the stage's probability.")


def _aging_chart(report: dict, currency: str) -> charts.Chart:
    cells = [a for a in report["aging"] if a["currency"] == currency]
    rows = [{"label": f"{a['bucket']} days", "values": {"aging": a["value_cents"]},
             "texts": {"aging": f"{a['count']} deals · {format_money(a['value_cents'], currency)}"}} for a in cells]
    return charts.bars(f"aging-{currency.lower()}", f"Pipeline aging, {currency}", rows,
                       series=[("aging", "Open deals")], table_head=["Days open", "Deals and value"],
                       describe="Open deals by days since they were created: "
                                + "; ".join(f"{a['bucket']} days: {a['count']}" for a in cells) + ".")


def _trend_chart(report: dict) -> charts.Chart:
    days = [date.fromisoformat(t["date"]) for t in report["trend"]]
    won = [t["won_count"] for t in report["trend"]]
    lost = [t["lost_count"] for t in report["trend"]]
    extra = [[", ".join(format_money(v, c) for c, v in sorted(t["won_value_cents_by_currency"].items())) or "—"]
             for t in report["trend"]]
    return charts.columns("trend", f"Won and lost deals per day, last {report['window']} days", days, won, lost,
                          up_label="Won", down_label="Lost", table_extra=extra, table_extra_head=["Won value"],
                          describe=f"{sum(won)} deals won and {sum(lost)} lost in the last {report['window']} days, "
                                   "one column per day: won above the line, lost below.")


@web_bp.get("/forecast", endpoint="forecast")
def forecast_page():
    errors = {}
    try:
        params = forecast.parse_args(request.args)
    except Invalid as error:  # shown beside the filters, over the default forecast
        errors, params = error.fields, {"owner_id": None, "window": forecast.DEFAULT_WINDOW}
    try:
        report = forecast.report(**params)
    except Invalid as error:  # an owner who is not a user of this tenant: everyone, same window
        errors, report = error.fields, forecast.report(owner_id=None, window=params["window"])
    return render("forecast/index.html", status=422 if errors else 200, r=report, errors=errors,
                  windows=forecast.WINDOWS, trend_chart=_trend_chart(report),
                  owner_charts=[_owner_chart(report, c) for c in report["currencies"]],
                  aging_charts=[_aging_chart(report, c) for c in report["currencies"]],
                  won_total=sum(t["won_count"] for t in report["trend"]),
                  lost_total=sum(t["lost_count"] for t in report["trend"]))
