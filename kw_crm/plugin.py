"""kw_crm's face to the host: the platform hook implementations, nothing else."""
from pathlib import Path

from flask import url_for

from . import FEATURE, hookspecs
from .platform import hookimpl


@hookimpl
def platform_add_hookspecs(plugin_manager):
    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def platform_features():
    return [FEATURE]


@hookimpl
def platform_init_app(app, plugin_manager):
    from .app import init_app

    init_app(app, plugin_manager)


@hookimpl
def platform_migrations():
    # An installed wheel carries the history inside the package; a source checkout (and an
    # editable install) keeps it at the top of the checkout, beside kw_crm/.
    package_dir = Path(__file__).parent
    directory = next(d for d in (package_dir / "migrations", package_dir.parent / "migrations")
                     if (d / "versions").is_dir())
    return {"name": "kw_crm", "directory": str(directory), "version_table": "alembic_version_kw_crm"}


@hookimpl
def platform_nav_entries(user, tenant_id, features):
    if FEATURE in features and getattr(user, "role", None) == "ADMIN":
        return [{"label": "CRM", "url": url_for("crm.contacts")}]
    return []


@hookimpl
def platform_seed_demo(tenant_id, admin_id):
    from .demo import seed_demo

    return seed_demo(tenant_id, admin_id)
