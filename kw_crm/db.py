"""The CRM's declarative base and its view of the host's database session.

CRM models have their own metadata (tables prefixed ``crm_``, a naming convention that keeps
constraint names stable on SQLite and PostgreSQL) but share the host's Flask-SQLAlchemy
session, so host rows (a new PortalCustomer) and CRM rows commit in one transaction."""
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import Integer, MetaData, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Session
from werkzeug.local import LocalProxy

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _host_session() -> Session:
    return current_app.extensions["sqlalchemy"].session


session: Session = LocalProxy(_host_session)  # type: ignore[assignment]


MAX_ID = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL


def is_valid_id(value) -> bool:
    """Could ``value`` be a row id? Larger numbers would overflow the database driver."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def id_in(column, ids: Iterable[int]):
    """``column IN ids`` as ONE bound parameter however many ids there are: a PostgreSQL array
    (``= ANY(:ids)``), a JSON list on SQLite (``IN (SELECT value FROM json_each(:ids))``). One
    statement whatever the count (no chunking, no bound-parameter limit), and the planner works
    from the values instead of estimating a subquery - on a never-analysed table such a subquery
    estimated at one row made a nested loop of 20,000 x 40,000 rows."""
    values = sorted({int(i) for i in ids if i is not None})
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(Integer), unique=True))
    listed = func.json_each(bindparam(None, json.dumps(values), unique=True)).table_valued("value")
    return column.in_(select(listed.c.value))


def plan_for_bound_values() -> None:
    """PostgreSQL: plan the rest of this transaction's statements for the values they run with.

    psycopg prepares a statement on its fifth execution on a connection, and after five more
    PostgreSQL may switch to a generic plan made without the values. For an array of ids
    (:func:`id_in`) on tables not analysed yet that plan reads every row of the tenant: the ranked
    queue went from 0.15 s to 1.2 s on its tenth request. ``SET LOCAL`` ends with the transaction.
    SQLite prepares nothing across calls: a no-op there."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def contains_pattern(text: str) -> str:
    """A LIKE pattern (``escape="\\"``) matching ``text`` anywhere, case-folded, with the
    user's ``%``, ``_`` and backslashes taken literally."""
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def utcnow() -> datetime:
    """Naive UTC timestamps: one convention on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


_after_commit: list[Callable[[], None]] = []


def on_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` after every :func:`commit` (signals and the job path register here, so
    this low floor never imports the floors above it)."""
    if callback not in _after_commit:
        _after_commit.append(callback)


def commit() -> None:
    """Commit the shared session, then let the registered callbacks send the signals and hand
    on the jobs (mail...) the transaction queued. Services end their writes with this."""
    session.commit()
    for callback in _after_commit:
        callback()
