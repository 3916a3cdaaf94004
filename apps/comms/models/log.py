"""The communication log: every text, call and email, in and out."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.labels import local_stamp, readable
from apps.core.models.base import BusinessOwned, Timestamped


class Channel(models.TextChoices):
    SMS = "sms", "SMS"
    VOICE = "voice", "Voice"
    EMAIL = "email", "Email"


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound"
    INBOUND = "inbound", "Inbound"


# Rank of each status; a callback may only move a message up. Twilio does not order its
# callbacks, so a late "sent" must never overwrite "delivered". Terminal states share the top.
STATUS_RANK: dict[str, int] = {
    "pending": 0,
    "scheduled": 1,
    "accepted": 1,
    "queued": 2,
    "sending": 3,
    "sent": 4,
    "initiated": 4,
    "ringing": 5,
    "in-progress": 6,
    "receiving": 6,
    "received": 9,
    "delivered": 9,
    "undelivered": 9,
    "failed": 9,
    "read": 10,
    "completed": 9,
    "busy": 9,
    "no-answer": 9,
    "canceled": 9,
    "bounced": 9,
    "rejected": 9,
    "opened": 10,
    "clicked": 11,
}


class CommunicationLog(BusinessOwned, Timestamped):
    channel = models.CharField(max_length=5, choices=Channel.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    template_kind = models.CharField(max_length=30, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    recipient = models.CharField(max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=20, default="pending")
    status_history = models.JSONField(default=list, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    error_code = models.CharField(max_length=10, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)
    cost_is_estimate = models.BooleanField(default=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    encoding = models.CharField(max_length=6, blank=True)
    work_order = models.ForeignKey(
        "core.WorkOrder", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    customer = models.ForeignKey(
        "core.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="Inbound: seen by staff")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["provider_id"]),
            models.Index(fields=["business", "customer", "created_at"]),
        ]

    @property
    def status_label(self) -> str:
        return readable(self.status)

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} {self.get_direction_display().lower()} {self.recipient}"
        )


class ScheduledMessage(BusinessOwned, Timestamped):
    """The durable outbox. The unique dedupe key is what makes a message go out at most once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    class Audience(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        TECHNICIAN = "technician", "Technician"

    kind = models.CharField(max_length=30)
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.SMS)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    dedupe_key = models.CharField(max_length=200, unique=True)
    due_at = models.DateTimeField()
    urgent = models.BooleanField(default=False, help_text="Ignores quiet hours")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    work_order = models.ForeignKey(
        "core.WorkOrder", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        "core.Invoice", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    technician = models.ForeignKey(
        "core.Technician", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    context = models.JSONField(default=dict, blank=True, help_text="e.g. ETA minutes")
    log = models.ForeignKey(
        CommunicationLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    processed_at = models.DateTimeField(null=True, blank=True)
    # When a worker was last handed this row. The beat dispatcher skips rows handed over recently,
    # so a backlog is not re-enqueued on every tick; a lost task is picked up after a while.
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.dedupe_key


class AppointmentConfirmation(BusinessOwned):
    """The customer confirmed a visit by replying "C" (or "confirm") to the confirmation text."""

    work_order = models.ForeignKey("core.WorkOrder", on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField()
    inbound_log = models.ForeignKey(
        CommunicationLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["work_order", "window_start"], name="comms_confirmation_once_per_window"
            )
        ]

    def __str__(self) -> str:
        return f"Confirmed {local_stamp(self.confirmed_at)}"
