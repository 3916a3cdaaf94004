import os

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thorbis.settings")

app = Celery("thorbis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def drop_stale_connections(task=None, **kwargs) -> None:
    """Connections are reused across tasks (CELERY_DB_REUSE_MAX): apply Django's own rules for a
    request (CONN_MAX_AGE, CONN_HEALTH_CHECKS) before each task, so a restarted database costs
    one reconnect, not a run of failed tasks. An eager task runs inside its caller's transaction,
    whose connection is not ours to close."""
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()
