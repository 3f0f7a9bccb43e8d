"""Helpers for the product, conversion and automation tests: the host catalogue as the API
serves it, and a host billing that fails half-way (a second hook implementation wrapping
host_stub's, the way another billing plugin could)."""
from contextlib import contextmanager

import pluggy

hookimpl = pluggy.HookimplMarker("kw_platform")


def catalogue(client) -> dict:
    """``{"Meridian": {"id": .., "plans": {"Meridian Pro": {...}}}, ...}``."""
    response = client.get("/api/crm/products")
    assert response.status_code == 200, response.get_json()
    return {p["name"]: {**p, "plans": {plan["name"]: plan for plan in p["plans"]}} for p in response.get_json()}


def plan(client, product: str, name: str) -> dict:
    return catalogue(client)[product]["plans"][name]


class BillingFailsHalfWay:
    """Lets host_stub create the subscription (and its invoice and events), then raises, as a
    billing system that crashes after writing part of its records."""

    @hookimpl(wrapper=True)
    def crm_create_subscription(self, tenant_id, customer_id, product, plan, trial, currency, deal_id):
        result = yield
        assert result["id"]  # host_stub really wrote its rows
        raise RuntimeError("payment gateway timed out after the subscription was written")


@contextmanager
def billing_failing_half_way(app):
    pm = app.extensions["host_stub"].plugin_manager
    plugin = BillingFailsHalfWay()
    pm.register(plugin, name="test.billing-fails")
    try:
        yield
    finally:
        pm.unregister(plugin)
