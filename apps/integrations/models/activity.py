from django.db import models

from .connections import IntegrationConnection


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    TEMPORARY_ERROR = "temporary_error", "Temporary error"
    RATE_LIMITED = "rate_limited", "Rate limited"
    AUTH_ERROR = "auth_error", "Authentication error"
    REJECTED = "rejected", "Rejected by the vendor"
    # Something on our side is not set up (no credentials, no app keys): retrying cannot help,
    # a person must finish the setup. Not a temporary error.
    CONFIG_ERROR = "config_error", "Setup incomplete"


class ActivityKind(models.TextChoices):
    API_CALL = "api_call", "Outbound API call"
    SYNC = "sync", "Sync run"
    WEBHOOK = "webhook", "Inbound webhook"
    MESSAGE = "message", "Message sent"


class IntegrationActivity(models.Model):
    """One counted operation against a connection: the raw material of health and reports.

    Append-only and high-volume, so it carries business_id for tenant-scoped range scans and is
    deleted in batches by retention (monitoring).
    """

    business = models.ForeignKey("core.Business", on_delete=models.CASCADE, related_name="+")
    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    operation = models.CharField(max_length=120, help_text="e.g. 'POST invoice', 'sync customers'")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error_message = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField(db_index=False)

    class Meta:
        verbose_name_plural = "integration activity"
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["connection", "occurred_at"], name="activity_conn_time"),
            models.Index(fields=["business", "occurred_at"], name="activity_business_time"),
        ]

    def __str__(self) -> str:
        return f"{self.operation}: {self.get_outcome_display().lower()}"
