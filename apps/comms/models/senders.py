from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from apps.core.models.base import BusinessOwned, Timestamped


class SenderNumber(BusinessOwned, Timestamped):
    """A Twilio number the business texts and calls from."""

    class Role(models.TextChoices):
        MAIN = "main", "Main line"
        EMERGENCY = "emergency", "Emergency line"
        TECHNICIAN = "technician", "Technician number"

    role = models.CharField(max_length=10, choices=Role.choices)
    phone = PhoneNumberField()
    connection = models.ForeignKey(
        "integrations.IntegrationConnection", on_delete=models.PROTECT, related_name="+"
    )
    technician = models.ForeignKey(
        "core.Technician", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Twilio's US long-code default is 1 segment per second per number; toll-free 3.
    messages_per_second = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    forward_to = PhoneNumberField(blank=True, help_text="Inbound calls ring this phone")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["business", "role", "phone"]
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="comms_sender_phone_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.phone}"

    def clean(self) -> None:
        conn = self.connection if self.connection_id else None
        if conn is not None and conn.provider != "twilio":
            raise ValidationError({"connection": "Sender numbers need a Twilio connection."})
        if conn is not None and self.business_id and conn.business_id != self.business_id:
            raise ValidationError({"connection": "That connection belongs to another business."})
