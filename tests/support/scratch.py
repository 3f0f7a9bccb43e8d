"""An empty database of its own for tests that build a whole schema (migrations, a second
host): a SQLite file under ``tmp_path``, or a scratch PostgreSQL database beside the suite's."""
import uuid
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def scratch_database(suite_url, tmp_path, prefix: str = "kw_scratch"):
    url = sa.make_url(str(suite_url))
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / f'{prefix}.db'}"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
