"""Host CLI: ``features``, ``create-user`` and ``demo`` (``db`` comes from Flask-Migrate)."""
import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from . import features as feature_flags
from .maildrop import maildrop
from .models import ROLES, User, db


def _tenant(name: str):
    return feature_flags.get_or_create_tenant(name, current_app.config["PORTAL_DEFAULT_FEATURES"])


@click.group("features")
def features_cli():
    """Switch features on and off per tenant."""


@features_cli.command("enable")
@click.argument("name")
@click.option("--tenant", "tenant_name", default="default", show_default=True)
@with_appcontext
def enable(name, tenant_name):
    _set(name, tenant_name, True)


@features_cli.command("disable")
@click.argument("name")
@click.option("--tenant", "tenant_name", default="default", show_default=True)
@with_appcontext
def disable(name, tenant_name):
    _set(name, tenant_name, False)


@features_cli.command("list")
@click.option("--tenant", "tenant_name", default="default", show_default=True)
@with_appcontext
def list_features(tenant_name):
    tenant = _tenant(tenant_name)
    db.session.commit()
    enabled = feature_flags.enabled_features(tenant.id)
    for name in sorted(current_app.extensions["host_stub"].feature_names | enabled):
        click.echo(f"{name}\t{'on' if name in enabled else 'off'}")


def _set(name, tenant_name, enabled):
    known = current_app.extensions["host_stub"].feature_names
    if name not in known:
        raise click.BadParameter(f"unknown feature {name!r}; known: {', '.join(sorted(known))}", param_hint="NAME")
    tenant = _tenant(tenant_name)
    feature_flags.set_feature(tenant, name, enabled)
    db.session.commit()
    click.echo(f"{name} {'enabled' if enabled else 'disabled'} for tenant {tenant.name}")


@click.command("create-user")
@click.argument("email")
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(ROLES, case_sensitive=False), default="ADMIN", show_default=True)
@click.option("--tenant", "tenant_name", default="default", show_default=True)
@click.option("--name", default="")
@click.option("--grant", multiple=True, help="Permission to grant, e.g. crm.delete (repeatable).")
@with_appcontext
def create_user(email, password, role, tenant_name, name, grant):
    """Create a host user (or reset an existing one's password, role and grants)."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    tenant = _tenant(tenant_name)
    if user is None:
        user = User(email=email, tenant_id=tenant.id)
        db.session.add(user)
    elif user.tenant_id != tenant.id:
        raise click.UsageError(f"{email} belongs to another tenant")
    user.name = name or user.name or email.split("@")[0].title()
    user.role = role.upper()
    user.permissions = sorted(set(user.permissions or []) | set(grant))
    user.active = True
    user.set_password(password)
    db.session.commit()
    click.echo(f"user {email} ({user.role}) in tenant {tenant.name}")


@click.command("demo")
@with_appcontext
def demo():
    """Create the demo tenant, admin@example.com / admin, and realistic CRM data."""
    from .demo import build_demo
    from .security import key_path, write_instance_key

    if write_instance_key(current_app):
        click.echo(f"session key: generated {key_path(current_app)} (keep it secret; SECRET_KEY overrides it)")
    for line in build_demo():
        click.echo(line)


def register_cli(app):
    app.cli.add_command(features_cli)
    app.cli.add_command(create_user)
    app.cli.add_command(demo)
    app.cli.add_command(maildrop)
