"""Tenancy by construction.

Every tenant-owned CRM model inherits :class:`TenantScoped`. While a tenant is bound (the guard
binds the request's tenant; CLI commands bind theirs with :func:`tenant_scope`), every ORM
SELECT, UPDATE and DELETE touching such a model gets ``tenant_id = <bound>`` added by a
``do_orm_execute`` hook, and every new row is stamped with the bound tenant before flush.
Querying a tenant-owned model with no tenant bound raises instead of returning every tenant's
rows. The only way around it is the explicit ``all_tenants()`` execution option."""
from contextlib import contextmanager
from functools import cache

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria
from sqlalchemy.sql import visitors

_BOUND = "_kw_crm_tenant_id"
ALL_TENANTS = {"kw_crm_all_tenants": True}


class TenantNotBound(RuntimeError):
    """A tenant-owned model was queried or written without a tenant bound."""


class TenantScoped:
    tenant_id: Mapped[int] = mapped_column(index=True)


def current_tenant_id() -> int | None:
    return g.get(_BOUND) if has_app_context() else None


def require_tenant_id() -> int:
    tenant_id = current_tenant_id()
    if tenant_id is None:
        raise TenantNotBound("no CRM tenant is bound")
    return tenant_id


def bind_tenant(tenant_id: int) -> None:
    setattr(g, _BOUND, tenant_id)


@contextmanager
def tenant_scope(tenant_id: int):
    """Bind ``tenant_id`` for the block (CLI commands, tests, background work)."""
    previous = g.get(_BOUND)
    bind_tenant(tenant_id)
    try:
        yield tenant_id
    finally:
        setattr(g, _BOUND, previous)


@cache
def _tenant_tables() -> frozenset:
    from .db import Base

    return frozenset(m.local_table for m in Base.registry.mappers if issubclass(m.class_, TenantScoped))


def _touches_tenant_model(state: ORMExecuteState) -> bool:
    """Does the statement read a tenant-owned table anywhere: as an entity, only in FROM
    (``select(func.count()).select_from(Model)``) or inside a subquery (``Query.count()``)?"""
    if any(issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    tables = _tenant_tables()
    return any(element in tables for element in visitors.iterate(state.statement))


def _scope_statement(state: ORMExecuteState) -> None:
    if state.is_column_load or state.execution_options.get("kw_crm_all_tenants"):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        # A relationship load's parent row was tenant-checked when it was loaded.
        if state.is_relationship_load or not _touches_tenant_model(state):
            return
        raise TenantNotBound("CRM query without a bound tenant")
    # Added to every statement while a tenant is bound: the criteria reach tenant models
    # wherever they appear (subqueries of Query.count(), joins, FROM-only tables) and cost
    # nothing where none appears.
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
    )


def _stamp_new_rows(session: Session, _flush_context, _instances) -> None:
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            bound = current_tenant_id()
            if obj.tenant_id is None:
                if bound is None:
                    raise TenantNotBound(f"new {type(obj).__name__} without a bound tenant")
                obj.tenant_id = bound
            elif bound is not None and obj.tenant_id != bound:
                raise TenantNotBound(f"new {type(obj).__name__} for tenant {obj.tenant_id} while {bound} is bound")


def install() -> None:
    """Register the session hooks once per process (they apply to every Session)."""
    if not event.contains(Session, "do_orm_execute", _scope_statement):
        event.listen(Session, "do_orm_execute", _scope_statement)
        event.listen(Session, "before_flush", _stamp_new_rows)
