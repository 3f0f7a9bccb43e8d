"""host_stub's task engine: Celery, switched on by ``CELERY_BROKER_URL``.

With a broker the host implements ``crm_enqueue_job``: each job the CRM queues becomes a Celery
task that runs it in an app context, and a beat entry runs the CRM's due jobs (retries, jobs
whose worker died) every ``CELERY_RUN_DUE_SECONDS``. Run the worker and the beat with
``celery -A host_stub.celery_app worker --beat`` (see the README)."""
import importlib

import pluggy
from celery import Celery

from .models import db

hookimpl = pluggy.HookimplMarker("kw_platform")


def _plugin_callable(name: str):
    """``"kw_crm.run_job"`` -> ``kw_crm.jobs.run_job``: a plugin's job entry points live in its
    ``jobs`` module, so the host needs no import of any plugin."""
    package, _, function = name.rpartition(".")
    return getattr(importlib.import_module(f"{package}.jobs"), function)


def make_celery(app) -> Celery:
    celery = Celery(app.import_name, broker=app.config["CELERY_BROKER_URL"], set_as_current=False)
    queue = app.config.get("CELERY_QUEUE", "kw_portal")
    celery.conf.update(
        task_default_queue=queue, task_ignore_result=True, worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True, task_acks_late=True, worker_prefetch_multiplier=1,
        beat_schedule={"kw-crm-run-due": {"task": "host_stub.run_due", "options": {"queue": queue},
                                          "schedule": float(app.config.get("CELERY_RUN_DUE_SECONDS", 30))}},
    )

    class AppTask(celery.Task):
        """Every task runs in the Flask app's context and leaves no session behind."""

        def __call__(self, *args, **kwargs):
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery.Task = AppTask

    @celery.task(name="host_stub.plugin_job")
    def plugin_job(name: str, kwargs: dict):
        return _plugin_callable(name)(**kwargs)

    @celery.task(name="host_stub.run_due")
    def run_due():
        return _plugin_callable("kw_crm.run_due")()

    app.extensions["celery"] = celery
    return celery


class CeleryJobs:
    """The ``crm_enqueue_job`` implementation: one Celery task per job."""

    def __init__(self, celery: Celery):
        self.celery = celery

    @hookimpl
    def crm_enqueue_job(self, name, kwargs):
        self.celery.send_task("host_stub.plugin_job", args=[name, dict(kwargs)])
        return True
