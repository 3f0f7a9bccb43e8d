"""Apply each plugin's own Alembic history after the host's.

A plugin names its script directory and version table through ``platform_migrations``; its
revisions run on the host's connection, recorded in its own version table, the way Indico
keeps one ``alembic_version_plugin_<name>`` per plugin. That keeps a plugin's history
shippable: any host can apply it without merging it into its own."""
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app


def plugin_migration_specs() -> list[dict]:
    pm = current_app.extensions["host_stub"].plugin_manager
    return [spec for spec in pm.hook.platform_migrations() if spec]


def upgrade_plugins(connection, target: str = "heads") -> None:
    for spec in plugin_migration_specs():
        script = ScriptDirectory(spec["directory"])

        def steps(rev, _context, script=script):
            return script._upgrade_revs(target, rev)

        migration_context = MigrationContext.configure(
            connection,
            opts={
                "version_table": spec["version_table"],
                "script": script,
                "fn": steps,
                "render_as_batch": connection.dialect.name == "sqlite",
            },
        )
        with Operations.context(migration_context), migration_context.begin_transaction():
            migration_context.run_migrations()
        if connection.in_transaction():  # non-transactional-DDL dialects leave an autobegun one
            connection.commit()
