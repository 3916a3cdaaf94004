from django.db import models

from .connections import IntegrationConnection, ProviderKey


class InboundEvent(models.Model):
    """The webhook inbox: verified requests stored before any processing, one row per vendor event.

    The unique (provider, provider_event_id) constraint is what makes a redelivered webhook a no-op.
    Not BusinessOwned: the business is often only known once the payload is parsed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored (no handler)"
        # Names an object of another connection or business: never applied, not replayed.
        REFUSED = "refused", "Refused (not this connection's)"

    provider = models.CharField(max_length=30)
    provider_event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100, blank=True)
    business = models.ForeignKey(
        "core.Business", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    connection = models.ForeignKey(
        IntegrationConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_events",
    )
    headers = models.JSONField(default=dict)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"], name="inbound_event_unique"
            )
        ]
        indexes = [models.Index(fields=["status", "provider", "received_at"])]

    def __str__(self) -> str:
        provider = (
            ProviderKey(self.provider).label
            if self.provider in ProviderKey.values
            else self.provider
        )
        return " ".join(p for p in (provider, self.event_type, self.provider_event_id) if p)
