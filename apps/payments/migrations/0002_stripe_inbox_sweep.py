"""The periodic sweep of the Stripe webhook inbox (a django-celery-beat row, editable in the
admin): the same drain the endpoint nudges, every minute, so an event whose nudge was lost waits
at most that long."""

from django.db import migrations

NAME = "payments:stripe-inbox-sweep"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "apps.payments.tasks.stripe_inbox_drain_task",
            "interval": every_minute,
            "queue": "urgent",
            "description": "Process Stripe webhook events whose drain nudge was lost.",
            "expire_seconds": 60,  # a backlog of sweeps is pointless: one is enough
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
