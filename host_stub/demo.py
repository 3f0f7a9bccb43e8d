"""``flask demo``: a demo tenant with an admin, a staff and a vendor login, plus each plugin's
sample data."""
from flask import current_app
from sqlalchemy import func, select

from .features import get_or_create_tenant, set_feature
from .models import User, db

DEMO_USERS = [
    ("admin@example.com", "admin", "ADMIN", "Ada Admin", ["crm.delete"]),
    ("sales@example.com", "sales", "ADMIN", "Sam Seller", []),
    ("staff@example.com", "staff", "STAFF", "Stella Staff", []),
    ("vendor@example.com", "vendor", "VENDOR", "Victor Vendor", []),
]


def build_demo() -> list[str]:
    tenant = get_or_create_tenant("default", current_app.config["PORTAL_DEFAULT_FEATURES"])
    set_feature(tenant, "crm", True)
    admin = None
    for email, password, role, name, grants in DEMO_USERS:
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            user = User(email=email, tenant_id=tenant.id, name=name, role=role, permissions=grants)
            user.set_password(password)
            db.session.add(user)
        admin = admin or user
    db.session.commit()
    lines = [f"tenant {tenant.name}: log in at /login as admin@example.com / admin"]
    for result in current_app.extensions["host_stub"].plugin_manager.hook.platform_seed_demo(
            tenant_id=tenant.id, admin_id=admin.id):
        lines.extend(result or [])
    return lines
