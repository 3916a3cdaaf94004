"""Beat rows for the outbox dispatcher (every 30 s) and overdue-invoice reminders (hourly).

Rows, not code, so an operator can pause or retime them in the admin like every other schedule.
"""

from django.db import migrations

JOBS = [
    ("comms:dispatch-due", "apps.comms.tasks.due_messages_dispatch_task", 30),
    ("comms:payment-reminders", "apps.comms.tasks.payment_reminders_plan_task", 3600),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in JOBS:
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": every, "queue": "urgent"}
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[j[0] for j in JOBS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("comms", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
