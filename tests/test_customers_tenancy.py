"""Aggregate counts over a CRM table stay inside the bound tenant, even when the model is only
named in FROM (the dashboard's and the workspace's count queries have that shape)."""
from sqlalchemy import func, select

from kw_crm.models import Communication


def test_count_over_select_from_is_tenant_scoped(crm_scope, tenant, other_tenant):
    with crm_scope(other_tenant) as s:
        s.add(Communication(customer_id=1, subject="theirs"))
        s.commit()
    with crm_scope(tenant) as s:
        s.add(Communication(customer_id=2, subject="ours"))
        s.commit()
        assert s.scalar(select(func.count()).select_from(Communication)) == 1
        assert s.scalar(select(func.count(Communication.id))) == 1
