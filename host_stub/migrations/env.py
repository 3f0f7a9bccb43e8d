"""Alembic environment of the host. Runs the host's history, then (on an upgrade to head)
each plugin's own history, recorded in the plugin's own version table; a downgrade to base
undoes every plugin's history first (the public runner of ``kw_crm.platform``)."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from kw_crm.platform import downgrade_plugin, plugin_migration_specs, upgrade_plugin

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_db = current_app.extensions["migrate"].db


def run_migrations_online():
    engine = target_db.engine
    conf_args = dict(current_app.extensions["migrate"].configure_args)

    def skip_empty_autogenerate(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    conf_args["render_as_batch"] = engine.dialect.name == "sqlite"
    plugins = plugin_migration_specs(current_app.extensions["host_stub"].plugin_manager)
    # the target as a revision id: None for "base", the head(s) for "head"/"heads"
    target = context.get_revision_argument()
    targets = set(target) if isinstance(target, tuple) else {target}
    to_base = target is None or targets == {None}
    to_head = targets == set(context.script.get_heads())
    with engine.connect() as connection:
        if to_base:
            for spec in reversed(plugins):
                downgrade_plugin(connection, spec)
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()
        if to_head:
            for spec in plugins:
                upgrade_plugin(connection, spec)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported by host_stub")
run_migrations_online()
