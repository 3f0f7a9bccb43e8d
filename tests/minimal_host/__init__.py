"""A host of its own, written from the README's "How a host enables kw_crm" steps alone (not
host_stub): Flask, Flask-SQLAlchemy, CSRFProtect, two models, the required CRM hooks, a layout
with only ``title`` and ``content``, pluggy loading the ``kw_platform`` entry points, and the
CRM's migrations applied through ``kw_crm.platform``. The minimal-host tests drive the CRM
through it, so the guide is checked against something other than host_stub."""
from datetime import UTC, datetime
from pathlib import Path

import pluggy
from flask import Flask, session
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from kw_crm import platform

db = SQLAlchemy()
hookimpl = platform.hookimpl


class Org(db.Model):
    __tablename__ = "mini_orgs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    crm_enabled: Mapped[bool] = mapped_column(default=True)


class Person(db.Model):
    """The user model: the attributes the CRM reads (README step 3)."""

    __tablename__ = "mini_people"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("mini_orgs.id"))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    can_delete: Mapped[bool] = mapped_column(default=False)


class Company(db.Model):
    """The customer (company) model, unique per tenant by lower(name) as the README asks."""

    __tablename__ = "mini_companies"
    __table_args__ = (Index("uq_mini_companies_name", "tenant_id", func.lower("name"), unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("mini_orgs.id"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC).replace(tzinfo=None))


class CrmHooks:
    """The required hooks of kw_crm/hookspecs.py."""

    def __init__(self, sent_mail: list):
        self.sent_mail = sent_mail

    @hookimpl
    def crm_current_user(self):
        uid = session.get("uid")
        person = db.session.get(Person, uid) if uid else None
        return person if person is not None and person.active else None

    @hookimpl
    def crm_current_tenant_id(self):
        user = self.crm_current_user()
        return user.tenant_id if user else None

    @hookimpl
    def crm_login_url(self, next_url):
        return f"/signin?next={next_url}"

    @hookimpl
    def crm_feature_enabled(self, tenant_id, name):
        org = db.session.get(Org, tenant_id)
        return name == "crm" and org is not None and org.crm_enabled

    @hookimpl
    def crm_user_has_permission(self, user, permission):
        return permission == "crm.delete" and user.can_delete

    @hookimpl
    def crm_user_model(self):
        return Person

    @hookimpl
    def crm_customer_model(self):
        return Company

    @hookimpl
    def crm_create_customer(self, tenant_id, name, fields):
        company = Company(tenant_id=tenant_id, name=name)
        db.session.add(company)
        db.session.flush()
        return company

    @hookimpl
    def crm_send_mail(self, to, subject, body):
        self.sent_mail.append({"to": to, "subject": subject, "body": body})

    @hookimpl
    def crm_layout_template(self):
        return "layout.html"


def create_app(database_url: str, csrf: bool = True, hooks: object | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates"))
    app.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="mini-secret", TESTING=True,
                      CRM_JOB_RUNNER="inline")  # the won mail is sent right after the commit
    db.init_app(app)
    if csrf:
        CSRFProtect(app)
    app.extensions["mini_mail"] = []
    # README step 2: pluggy, the platform hookspecs, every kw_platform entry point
    pm = pluggy.PluginManager(platform.PROJECT)
    pm.add_hookspecs(platform)
    pm.load_setuptools_entrypoints(platform.PROJECT)
    pm.hook.platform_add_hookspecs(plugin_manager=pm)
    # README step 3: the CRM extension interface, registered before the plugins initialise
    pm.register(hooks or CrmHooks(app.extensions["mini_mail"]), name="mini.crm")
    pm.hook.platform_init_app(app=app, plugin_manager=pm)
    app.extensions["mini_plugins"] = pm
    return app


def build_schema(app: Flask) -> None:
    """README step 4: the host's own tables (its business), then each plugin's history."""
    with app.app_context():
        db.create_all()
        with db.engine.connect() as connection:
            for spec in platform.plugin_migration_specs(app.extensions["mini_plugins"]):
                platform.upgrade_plugin(connection, spec)


def add_org_with_people(app: Flask) -> dict:
    with app.app_context():
        org = Org(name="Mini Org")
        db.session.add(org)
        db.session.flush()
        people = {role: Person(tenant_id=org.id, email=f"{role.lower()}@mini.test", name=role.title(), role=role,
                               can_delete=role == "ADMIN") for role in ("ADMIN", "STAFF")}
        db.session.add_all(people.values())
        db.session.commit()
        ids = {"org": org.id, **{role: p.id for role, p in people.items()}}
        assert db.session.scalar(select(func.count(Person.id))) == 2
        return ids
