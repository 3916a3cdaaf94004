import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thorbis.settings")

app = Celery("thorbis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
