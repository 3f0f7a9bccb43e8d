"""``/crm/api-docs``: the OpenAPI document rendered by the Swagger UI files the package ships."""
from flask import url_for

from . import render, web_bp


@web_bp.get("/api-docs", endpoint="api_docs")
def api_docs():
    return render("api_docs.html", openapi_url=url_for("crm_api.openapi_document"))
