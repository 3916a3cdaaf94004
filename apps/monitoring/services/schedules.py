"""Monitoring's maintenance as django-celery-beat rows (visible and editable in the admin).

Idempotent: missing rows are created; existing rows keep whatever an operator changed in the
admin (interval, enabled) unless reset=True.
"""

from __future__ import annotations

import dataclasses
import json

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

QUEUES = ("urgent", "sync", "bulk", "default")


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    task: str
    description: str
    every_minutes: int | None = None
    crontab: tuple[str, str] | None = None  # (minute, hour), UTC, every day
    queue: str = "bulk"
    kwargs: dict = dataclasses.field(default_factory=dict)
    expire_seconds: int | None = None


def jobs() -> list[Job]:
    heartbeats = [
        Job(
            name=f"monitoring:heartbeat:{queue}",
            task="apps.monitoring.tasks.heartbeat_task",
            description=f"Proves a worker serves the {queue} queue (read by /readyz).",
            every_minutes=1,
            queue=queue,
            kwargs={"queue": queue},
            expire_seconds=60,  # a backlog of stale heartbeats would lie about the worker
        )
        for queue in QUEUES
    ]
    return [
        *heartbeats,
        Job(
            name="monitoring:rollup",
            task="apps.monitoring.tasks.activity_rollup_task",
            description="Hourly activity rollups for reports.",
            every_minutes=5,
        ),
        Job(
            name="monitoring:health-check",
            task="apps.monitoring.tasks.health_check_all_task",
            description="Hourly health check: alerts for stale, degraded, silent, reconnect.",
            crontab=("7", "*"),
        ),
        Job(
            name="monitoring:token-refresh",
            task="apps.monitoring.tasks.oauth_tokens_refresh_task",
            description="Refresh OAuth tokens ahead of expiry.",
            crontab=("17", "*"),
            queue="sync",
        ),
        Job(
            name="monitoring:retention",
            task="apps.monitoring.tasks.activity_retention_task",
            description="Delete integration activity older than the retention period.",
            crontab=("30", "3"),
        ),
        Job(
            name="monitoring:weekly-reports",
            task="apps.monitoring.tasks.weekly_reports_task",
            description="Email each business its weekly health report (Monday, local morning).",
            crontab=("2", "*"),
        ),
    ]


@transaction.atomic
def monitoring_schedules_setup(*, reset: bool = False) -> dict[str, str]:
    """Create (or with reset, restore) every maintenance row. Returns {name: created|reset|kept}."""
    outcome = {}
    for job in jobs():
        schedule = {"interval": None, "crontab": None}
        if job.every_minutes is not None:
            schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=job.every_minutes, period=IntervalSchedule.MINUTES
            )
        else:
            minute, hour = job.crontab
            schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
        values = {
            **schedule,
            "task": job.task,
            "kwargs": json.dumps(job.kwargs),
            "queue": job.queue,
            "description": job.description,
            "expire_seconds": job.expire_seconds,
            "enabled": True,
        }
        existing = PeriodicTask.objects.filter(name=job.name).first()
        if existing is None:
            PeriodicTask.objects.create(name=job.name, **values)
            outcome[job.name] = "created"
        elif reset:
            for field, value in values.items():
                setattr(existing, field, value)
            existing.save()
            outcome[job.name] = "reset"
        else:
            outcome[job.name] = "kept"
    return outcome
