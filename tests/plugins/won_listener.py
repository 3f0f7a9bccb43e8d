"""A tiny second platform plugin, as another team would write one: it is found through the
``kw_platform`` entry-point group, initialised by the host through pluggy, and reacts to the
CRM's ``deal_won`` signal. It records what it saw on its app so the tests can check it."""
import pluggy
from flask import current_app

from kw_crm import signals

hookimpl = pluggy.HookimplMarker("kw_platform")


def on_deal_won(deal, **extra):
    """Runs after the commit: the deal it receives is the stored one."""
    seen = current_app.extensions.get("won_listener")
    if seen is not None:  # only for the app this plugin was initialised on
        seen.append({"id": deal.id, "title": deal.title, "stage": deal.stage.key, "owner_id": deal.owner_id})


@hookimpl
def platform_init_app(app, plugin_manager):
    app.extensions["won_listener"] = []
    signals.deal_won.connect(on_deal_won)
