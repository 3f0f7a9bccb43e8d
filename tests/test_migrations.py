"""Migrations are the schema: the test database was built by running them (conftest), and the
models must not drift from them."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from host_stub import create_app
from host_stub.models import Tenant, User, db
from kw_crm.db import Base
from kw_crm.demo import seed_demo
from kw_crm.models.contact import is_search_fts_table
from tests.support.scratch import scratch_database


def diff(app, metadata, prefix_filter):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": lambda obj, name, type_, reflected, compare_to:
                type_ != "table" or prefix_filter(name),
            "compare_type": True,
        })
        return compare_metadata(context, metadata)


pytestmark = pytest.mark.filterwarnings("ignore:.*expression-based index")


def crm_table(name: str) -> bool:
    """A CRM table the models describe (SQLite's search FTS tables are virtual: no model)."""
    return name.startswith("crm_") and not is_search_fts_table(name)


def test_crm_models_match_the_crm_migrations(app):
    assert diff(app, Base.metadata, crm_table) == []


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


def versions(conn) -> tuple[list[str], list[str]]:
    return (conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all(),
            conn.execute(sa.text("SELECT version_num FROM alembic_version_kw_crm")).scalars().all())


def test_upgrade_again_applies_nothing(app):
    with app.app_context(), db.engine.connect() as conn:
        before = versions(conn), sorted(sa.inspect(conn).get_table_names())
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            assert (versions(conn), sorted(sa.inspect(conn).get_table_names())) == before


def test_the_whole_history_downgrades_to_base_and_upgrades_again(database_url, tmp_path):
    """What the README tells operators to do: every revision of the host and of the CRM (other
    issues' revisions included) must undo itself, with data in the tables, and build the same
    schema again."""
    with scratch_database(database_url, tmp_path, "kw_downgrade") as url:
        fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x",
                            "CRM_STORAGE_DIR": str(tmp_path)})
        with fresh.app_context():
            upgrade()
            tenant = Tenant(name="demo")
            db.session.add(tenant)
            db.session.flush()
            admin = User(tenant_id=tenant.id, email="a@example.test", name="A", role="ADMIN", active=True)
            admin.set_password("x")
            db.session.add(admin)
            db.session.commit()
            seed_demo(tenant.id, admin.id)  # rows in the CRM tables, so downgrades meet real data
            db.session.commit()
            db.session.remove()
            with db.engine.connect() as conn:
                head = versions(conn)
                assert len(head[1]) == 1 and any(t.startswith("crm_") for t in sa.inspect(conn).get_table_names())

            downgrade(revision="base")
            with db.engine.connect() as conn:
                left = set(sa.inspect(conn).get_table_names()) - {"alembic_version", "alembic_version_kw_crm"}
                assert left == set(), f"tables the downgrades left behind: {sorted(left)}"
                assert versions(conn) == ([], [])

            upgrade()
            with db.engine.connect() as conn:
                assert versions(conn) == head
            assert diff(fresh, Base.metadata, crm_table) == []
            host_tables = set(db.metadata.tables)
            assert diff(fresh, db.metadata, lambda name: name in host_tables) == []
            db.session.remove()
            db.engine.dispose()
