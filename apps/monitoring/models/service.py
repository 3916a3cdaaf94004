from django.db import models

from apps.core.labels import local_stamp, readable
from apps.core.models import BusinessOwned


class Heartbeat(models.Model):
    """The last time a worker of one queue ran the heartbeat task (readiness reads these)."""

    component = models.CharField(max_length=60, unique=True)
    beat_at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{readable(self.component)} at {local_stamp(self.beat_at, '%Y-%m-%d %H:%M:%S %Z')}"


class WeeklyReportDelivery(BusinessOwned):
    """One weekly report email per business and week; the unique row makes sending idempotent."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    week_start = models.DateField(help_text="Monday of the week reported on (local date).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    recipients = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Without it Django makes the plural "weekly report deliverys".
        verbose_name_plural = "weekly report deliveries"
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "week_start"], name="weekly_report_once_per_week"
            )
        ]

    def __str__(self) -> str:
        return f"Weekly report {self.week_start} ({self.get_status_display()})"
