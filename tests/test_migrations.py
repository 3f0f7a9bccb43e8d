"""Migrations are the schema: the test database was built by running them (conftest), and the
models must not drift from them."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from host_stub.models import db
from kw_crm.db import Base


def diff(app, metadata, prefix_filter):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": lambda obj, name, type_, reflected, compare_to:
                type_ != "table" or prefix_filter(name),
            "compare_type": True,
        })
        return compare_metadata(context, metadata)


pytestmark = pytest.mark.filterwarnings("ignore:.*expression-based index")


def test_crm_models_match_the_crm_migrations(app):
    assert diff(app, Base.metadata, lambda name: name.startswith("crm_")) == []


def test_host_models_match_the_host_migrations(app):
    host_tables = set(db.metadata.tables)
    assert diff(app, db.metadata, lambda name: name in host_tables) == []


def test_crm_history_is_recorded_in_its_own_version_table(app):
    with app.app_context(), db.engine.connect() as conn:
        crm_head = conn.execute(sa.text("SELECT version_num FROM alembic_version_kw_crm")).scalars().all()
        host_head = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    assert len(crm_head) == 1 and crm_head[0].startswith("c")
    assert len(host_head) == 1 and host_head[0].startswith("h")


def test_every_crm_table_is_prefixed_and_tenant_owned(app):
    for name, table in Base.metadata.tables.items():
        assert name.startswith("crm_")
        assert "tenant_id" in table.c, name


def test_upgrade_is_idempotent(app):
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()  # a second run applies nothing and fails nothing
