"""The KW platform's plugin interface, shipped as public API for any host to use:

- the **platform hookspecs** (what every portal plugin may implement; the host calls them):
  ``plugin_manager.add_hookspecs(kw_crm.platform)``;
- the **plugin migration runner**: ``upgrade_plugin(connection, spec)`` and
  ``downgrade_plugin(connection, spec)`` apply a plugin's own Alembic history (named by
  ``platform_migrations``) on the host's connection, in the plugin's own version table — from
  a host's Alembic ``env.py`` or from plain code, without Alembic's private helpers.

Plugins mark their implementations with ``pluggy.HookimplMarker("kw_platform")`` (``hookimpl``
below) and are found through the ``kw_platform`` entry-point group.
"""
import pluggy
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext, MigrationStep
from alembic.script import ScriptDirectory

PROJECT = "kw_platform"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


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
    its own, recording it in ``version_table`` (so each plugin's history stays its own).
    ``upgrade_plugin`` / ``downgrade_plugin`` below apply such a spec."""


@hookspec
def platform_nav_entries(user, tenant_id, features):
    """Called when the host renders its layout for a logged-in ``user`` of ``tenant_id`` with
    the set of enabled ``features``. Return a list of ``{"label", "url"}`` dicts (or ``[]``)."""


@hookspec
def platform_seed_demo(tenant_id, admin_id):
    """Called by ``flask demo`` after the demo tenant and its users exist (inside an app
    context). Add realistic sample data for the plugin and commit it; return a list of lines to
    print (or ``None``). Must be safe to run twice."""


# --- applying plugin migrations ---------------------------------------------------------------

def upgrade_plugin(connection, spec: dict, target: str = "heads") -> None:
    """Apply plugin ``spec``'s history (a ``platform_migrations`` answer) up to ``target`` on
    ``connection``, recorded in the spec's version table. Run it after the host's own upgrade
    (also from inside the host's Alembic ``env.py``); running it again applies nothing."""
    def steps(script, heads):
        revisions = script.iterate_revisions(target, heads, implicit_base=True)
        return [MigrationStep.upgrade_from_script(script.revision_map, r) for r in reversed(list(revisions))]
    _run(connection, spec, steps)


def downgrade_plugin(connection, spec: dict, target: str = "base") -> None:
    """Undo plugin ``spec``'s history down to ``target`` (``"base"``: drop all its tables). Run
    it before downgrading the host's own history."""
    def steps(script, heads):
        revisions = script.iterate_revisions(heads, target, select_for_downgrade=True)
        return [MigrationStep.downgrade_from_script(script.revision_map, r) for r in revisions]
    _run(connection, spec, steps)


def plugin_migration_specs(plugin_manager) -> list[dict]:
    """Every plugin's ``platform_migrations`` answer, in registration order."""
    return [spec for spec in plugin_manager.hook.platform_migrations() if spec]


def _run(connection, spec: dict, steps) -> None:
    # A MigrationContext of its own rather than alembic.command: the command API cannot nest
    # inside the host's running env.py, which is where a host chains its plugins' histories.
    script = ScriptDirectory(spec["directory"])
    context = MigrationContext.configure(connection, opts={
        "version_table": spec["version_table"],
        "script": script,
        "fn": lambda heads, _context: steps(script, heads),
        "render_as_batch": connection.dialect.name == "sqlite",
    })
    with Operations.context(context), context.begin_transaction():
        context.run_migrations()
    if connection.in_transaction():  # non-transactional-DDL dialects leave an autobegun one
        connection.commit()
