"""Wiring the CRM into a Flask app: state, session hooks, blueprints, CLI, templates."""
from dataclasses import dataclass

from flask import Flask

from . import hostcheck, inputs, jobs, signals, tenancy


@dataclass
class CrmState:
    plugin_manager: object


def init_app(app: Flask, plugin_manager) -> None:
    hostcheck.check(app, plugin_manager)  # HostSetupError naming everything the host lacks
    app.extensions["kw_crm"] = CrmState(plugin_manager)
    app.config.setdefault("CRM_DEFAULT_CURRENCY", "USD")
    app.config.setdefault("CRM_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
    app.config.setdefault("CRM_MAX_IMPORT_BYTES", 200 * 1024 * 1024)
    app.config.setdefault("CRM_MAX_BODY_BYTES", inputs.DEFAULT_BODY_BYTES)
    app.config.setdefault("CRM_PAGE_SIZE", 50)
    app.config.setdefault("CRM_MAX_CAPTURE_BYTES", 2 * 1024 * 1024)
    app.config.setdefault("CRM_IMPORT_JOB_THRESHOLD_BYTES", 1024 * 1024)  # larger files import as a job
    app.config.setdefault("CRM_IMPORT_PROGRESS_SECONDS", 0.5)
    app.config.setdefault("CRM_IMPORT_RETENTION_DAYS", 7)
    app.config.setdefault("CRM_JOB_RUNNER", "thread")  # thread | inline | off (see kw_crm.jobs)
    app.config.setdefault("CRM_JOB_STALE_SECONDS", 900)
    app.config.setdefault("CRM_JOB_BACKOFF_SECONDS", 30)
    # First of all before_request functions: the body limit must be in place before the host's
    # CSRF check (registered earlier) parses the form.
    app.before_request_funcs.setdefault(None, []).insert(0, inputs.limit_body)
    tenancy.install()
    signals.install()
    jobs.install()

    from . import models  # noqa: F401 - registers the tables on the CRM metadata
    from .api import api_bp
    from .cli import crm_cli
    from .services import digest, outbox  # noqa: F401 - register the activity digest and mail jobs
    from .web import admin_bp, web_bp

    app.register_blueprint(web_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.cli.add_command(crm_cli)
