"""Alembic environment of the host. Runs the host's history, then (on an upgrade to head)
each plugin's own history, recorded in the plugin's own version table."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from host_stub.plugin_migrations import upgrade_plugins

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
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
        if context.get_context().opts.get("destination_rev") in ("head", "heads"):
            upgrade_plugins(connection)


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported by host_stub")
run_migrations_online()
