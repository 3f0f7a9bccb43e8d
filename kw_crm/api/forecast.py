"""Forecast API (contract 8.3): ``GET /forecast?owner_id=&window=30|90|180|365``."""
from flask import jsonify, request

from ..schemas.forecast import ForecastArgs, ForecastOut
from ..services import forecast
from . import api_bp, doc


@api_bp.get("/forecast")
@doc("The forecast (per currency, owner, aging and trend)", query=ForecastArgs, response=ForecastOut, tag="Forecast")
def get_forecast():
    report = forecast.report(**forecast.parse_args(request.args))
    report.pop("owners")  # the page's owner picker; API clients have the users they assign
    return jsonify(ForecastOut().dump(report))
