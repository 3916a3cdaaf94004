from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models

from apps.core.models import BusinessOwned, Timestamped
from apps.core.timezones import format_local

from .connections import IntegrationConnection


class Direction(models.TextChoices):
    PUSH = "push", "Ours to theirs"
    PULL = "pull", "Theirs to ours"
    BIDIRECTIONAL = "bidirectional", "Both ways"


class SyncMapping(BusinessOwned, Timestamped):
    """Which local resource syncs with which remote resource, how, and field by field."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="sync_mappings"
    )
    local_resource = models.CharField(
        max_length=50, help_text="e.g. customer, invoice, payment, item"
    )
    remote_resource = models.CharField(max_length=50, help_text="e.g. Customer, Contact, Invoice")
    direction = models.CharField(max_length=15, choices=Direction.choices, default=Direction.PUSH)
    field_mappings = models.JSONField(
        default=dict, blank=True, help_text='{"local_field": "RemoteField"}'
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["connection", "local_resource"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "local_resource"], name="sync_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.local_resource} {self.get_direction_display().lower()} {self.remote_resource}"
        )


class SyncLog(BusinessOwned):
    """One sync run: what it did, counted, with the records that failed kept as rows."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partly failed"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        WEBHOOK = "webhook", "Webhook"
        EVENT = "event", "Domain event"

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="sync_logs"
    )
    sync_type = models.CharField(max_length=50, help_text="The resource synced, e.g. customers")
    direction = models.CharField(max_length=15, choices=Direction.choices)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    processed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [models.Index(fields=["connection", "-queued_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(processed__gte=models.F("succeeded") + models.F("failed")),
                name="synclog_counts_add_up",
            )
        ]

    def __str__(self) -> str:
        # In the active zone (the reader's business's, in a request), with its abbreviation.
        return f"{self.sync_type} {self.direction} {format_local(self.queued_at, 'Y-m-d g:i A T')}"


class SyncRecordError(BusinessOwned):
    """A record that failed in a sync, in words a bookkeeper understands; retried or dismissed."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RETRIED = "retried", "Retried"
        DISMISSED = "dismissed", "Dismissed"

    sync_log = models.ForeignKey(SyncLog, on_delete=models.CASCADE, related_name="record_errors")
    record_type = models.CharField(max_length=50)
    record_id = models.CharField(max_length=100)
    record_label = models.CharField(max_length=200, blank=True, help_text="e.g. INV-000123")
    message = models.TextField()
    vendor_code = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.record_label or self.record_id}: {self.message[:60]}"


class ExternalRef(BusinessOwned, Timestamped):
    """A local object's id at a remote system, with the vendor's version token (QBO SyncToken)."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="external_refs"
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    local_object = GenericForeignKey("content_type", "object_id")
    remote_id = models.CharField(max_length=100)
    remote_version = models.CharField(max_length=100, blank=True)
    remote_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "content_type", "object_id"], name="externalref_local_unique"
            ),
            models.UniqueConstraint(
                fields=["connection", "content_type", "remote_id"], name="externalref_remote_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_id} = {self.remote_id}"
