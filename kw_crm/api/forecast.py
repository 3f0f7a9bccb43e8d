"""Forecast API (contract 8.3): ``GET /forecast?owner_id=&window=30|90|180|365``."""
from flask import jsonify, request

from ..services import forecast
from . import api_bp


@api_bp.get("/forecast")
def get_forecast():
    report = forecast.report(**forecast.parse_args(request.args))
    report.pop("owners")  # the page's owner picker; API clients have the users they assign
    return jsonify(report)
