"""Per-tenant feature flags."""
from sqlalchemy import select

from .models import Tenant, TenantFeature, db


def enabled_features(tenant_id: int | None) -> set[str]:
    if tenant_id is None:
        return set()
    rows = db.session.scalars(select(TenantFeature.name).where(TenantFeature.tenant_id == tenant_id))
    return set(rows)


def is_enabled(tenant_id: int | None, name: str) -> bool:
    return tenant_id is not None and db.session.get(TenantFeature, (tenant_id, name)) is not None


def set_feature(tenant: Tenant, name: str, enabled: bool) -> None:
    current = db.session.get(TenantFeature, (tenant.id, name))
    if enabled and current is None:
        db.session.add(TenantFeature(tenant_id=tenant.id, name=name))
    elif not enabled and current is not None:
        db.session.delete(current)


def get_or_create_tenant(name: str, default_features) -> Tenant:
    tenant = db.session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        tenant = Tenant(name=name)
        db.session.add(tenant)
        db.session.flush()
        for feature in default_features:
            set_feature(tenant, feature, True)
    return tenant
