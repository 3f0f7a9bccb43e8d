"""Alembic environment of kw_crm's own history, for authoring revisions:

    flask --app host_stub db revision --autogenerate -d migrations -m "..."

Hosts do not run this file: they apply the revisions through ``platform_migrations`` (see
kw_crm.platform.upgrade_plugin). Revisions are recorded in ``alembic_version_kw_crm``."""
from alembic import context
from flask import current_app

from kw_crm import models  # noqa: F401 - registers the tables
from kw_crm.db import Base
from kw_crm.models.contact import is_search_fts_table

VERSION_TABLE = "alembic_version_kw_crm"


def include_object(obj, name, type_, reflected, compare_to):
    # Only the CRM's tables: the host's belong to the host's history. SQLite's search FTS table
    # (revision c0017) is a virtual table no model can declare.
    return type_ != "table" or (name.startswith("crm_") and not is_search_fts_table(name))


def run_migrations_online():
    engine = current_app.extensions["sqlalchemy"].engine

    def skip_empty(context, revision, directives):
        if directives[0].upgrade_ops.is_empty():
            directives[:] = []

    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, version_table=VERSION_TABLE,
                          include_object=include_object, render_as_batch=engine.dialect.name == "sqlite",
                          process_revision_directives=skip_empty)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
