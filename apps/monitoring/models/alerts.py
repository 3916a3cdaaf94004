from django.db import models

from apps.core.models import BusinessOwned
from apps.integrations.models import IntegrationConnection


class Alert(BusinessOwned):
    """One incident: opened once, reminded while it stays open, resolved on recovery.

    At most one open alert per (business, key); the key names the incident (kind + connection),
    so a thousand failed calls are one alert, not a thousand.
    """

    class Kind(models.TextChoices):
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        STALE = "stale", "No activity"
        DEGRADED = "degraded", "Degraded"
        SYNC_SILENT = "sync_silent", "No successful sync"
        TOKEN_EXPIRING = "token_expiring", "Authorization about to lapse"
        NEEDS_SETUP = "needs_setup", "Setup incomplete"
        FAILING = "failing", "Never worked"

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    connection = models.ForeignKey(
        IntegrationConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    key = models.CharField(max_length=120, help_text="What makes two findings the same incident.")
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    last_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveIntegerField(default=0)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "key"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_per_key",
            )
        ]
        indexes = [models.Index(fields=["business", "resolved_at"], name="alert_business_open")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class AlertNotification(BusinessOwned):
    """One message about an alert on one channel: the outbox row a task delivers, and history."""

    class Channel(models.TextChoices):
        SLACK = "slack", "Slack"
        EMAIL = "email", "Email"

    class Event(models.TextChoices):
        OPENED = "opened", "Opened"
        REMINDER = "reminder", "Reminder"
        RESOLVED = "resolved", "Resolved"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    event = models.CharField(max_length=10, choices=Event.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    recipients = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_event_display()} via {self.get_channel_display()}"
