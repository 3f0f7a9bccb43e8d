"""Platform hooks: what any portal plugin may implement. The host calls them; plugins answer.

Plugins mark their implementations with ``pluggy.HookimplMarker("kw_platform")`` and are found
through the ``kw_platform`` entry-point group.
"""
import pluggy

hookspec = pluggy.HookspecMarker("kw_platform")


@hookspec
def platform_add_hookspecs(plugin_manager):
    """Called once, right after all plugins are loaded and before any other platform hook.

    A plugin that defines an extension interface of its own adds it here with
    ``plugin_manager.add_hookspecs(module)`` so the host (or other plugins) can implement it.
    """


@hookspec
def platform_features():
    """Called at start-up. Return a list of feature-flag names the plugin needs; the host lets
    admins switch each one on per tenant (``flask features enable NAME``)."""


@hookspec
def platform_init_app(app, plugin_manager):
    """Called once per app from ``create_app`` after the host's own extensions are set up.
    Register blueprints, CLI groups and signal receivers here. Return nothing."""


@hookspec
def platform_migrations():
    """Called when the host builds its schema. Return a dict ``{"name", "directory",
    "version_table"}`` naming an Alembic script directory whose history the host applies after
    its own, recording it in ``version_table`` (so each plugin's history stays its own)."""


@hookspec
def platform_nav_entries(user, tenant_id, features):
    """Called when the host renders its layout for a logged-in ``user`` of ``tenant_id`` with
    the set of enabled ``features``. Return a list of ``{"label", "url"}`` dicts (or ``[]``)."""


@hookspec
def platform_seed_demo(tenant_id, admin_id):
    """Called by ``flask demo`` after the demo tenant and its users exist (inside an app
    context). Add realistic sample data for the plugin and commit it; return a list of lines to
    print (or ``None``). Must be safe to run twice."""
