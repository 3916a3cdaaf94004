"""Maintenance as django-celery-beat rows: created once, admin edits kept, restorable."""

from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from apps.monitoring.services.schedules import jobs


def test_setup_is_idempotent_and_keeps_admin_edits(db, capsys):
    call_command("setup_monitoring_schedules")
    names = {j.name for j in jobs()}
    assert (
        set(
            PeriodicTask.objects.filter(name__startswith="monitoring:").values_list(
                "name", flat=True
            )
        )
        == names
    )
    retention = PeriodicTask.objects.get(name="monitoring:retention")
    assert retention.crontab.hour == "3" and retention.queue == "bulk"
    heartbeat = PeriodicTask.objects.get(name="monitoring:heartbeat:urgent")
    assert (heartbeat.queue, heartbeat.interval.every, heartbeat.expire_seconds) == (
        "urgent",
        1,
        60,
    )

    retention.enabled = False
    retention.save()
    call_command("setup_monitoring_schedules")
    assert PeriodicTask.objects.filter(name__startswith="monitoring:").count() == len(names)
    assert not PeriodicTask.objects.get(name="monitoring:retention").enabled
    assert "kept     monitoring:retention" in capsys.readouterr().out

    call_command("setup_monitoring_schedules", "--reset")
    assert PeriodicTask.objects.get(name="monitoring:retention").enabled


def test_every_scheduled_task_exists(db):
    import apps.monitoring.tasks  # noqa: F401  (registers the tasks)
    from thorbis.celery import app

    for job in jobs():
        assert job.task in app.tasks, job.task
