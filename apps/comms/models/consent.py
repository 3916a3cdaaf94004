"""Consent per (business, phone), with its history, and email suppressions."""

from __future__ import annotations

from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from apps.core.labels import local_stamp, readable
from apps.core.models.base import BusinessOwned, Timestamped


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"


class ConsentRecord(BusinessOwned, Timestamped):
    """The current state for one phone; opting out covers every sender number of the business."""

    phone = PhoneNumberField()
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    # Set from Twilio failures (21211, 30005, 30006): texting this number cannot succeed, so
    # sends stop instead of being retried blindly. Cleared by a later opt-in.
    undeliverable_code = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["business", "phone"]
        constraints = [
            models.UniqueConstraint(fields=["business", "phone"], name="comms_consent_phone_unique")
        ]

    def __str__(self) -> str:
        return f"{self.phone} {self.get_status_display().lower()}"


class ConsentEvent(BusinessOwned):
    """History: every change, what caused it (keyword, error code, staff) and when."""

    record = models.ForeignKey(ConsentRecord, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(max_length=20, help_text="keyword, error, admin, form")
    detail = models.CharField(max_length=200, blank=True, help_text="keyword or error code")
    message_sid = models.CharField(max_length=64, blank=True)
    sender = models.CharField(max_length=20, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_status_display()} by {readable(self.source).lower()} {local_stamp(self.occurred_at)}"


class EmailSuppression(BusinessOwned, Timestamped):
    """Hard bounces and complaints: no more email to this address."""

    email = models.EmailField()
    reason = models.CharField(max_length=20)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business", "email"], name="comms_suppression_unique")
        ]

    def __str__(self) -> str:
        return f"{self.email} ({readable(self.reason).lower()})"
