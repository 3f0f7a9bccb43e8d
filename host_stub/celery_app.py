"""Entry point of ``celery -A host_stub.celery_app worker``: the host app (reading
``DATABASE_URL``, ``CELERY_BROKER_URL``...) and its Celery instance, which Celery finds under
the name ``celery``."""
from . import create_app

flask_app = create_app()
celery = flask_app.extensions.get("celery")
if celery is None:
    raise RuntimeError("set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run the Celery worker")
