"""Message templates and per-business messaging settings (quiet hours, help text, links)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

from apps.core.models.base import BusinessOwned, Timestamped


class TemplateKind(models.TextChoices):
    APPOINTMENT_CONFIRMATION = "appointment_confirmation", "Appointment confirmation"
    EN_ROUTE = "en_route", "Technician en route"
    SERVICE_COMPLETE = "service_complete", "Service complete"
    EMERGENCY_RESPONSE = "emergency_response", "Emergency response"
    PAYMENT_REMINDER = "payment_reminder", "Payment reminder"
    TECHNICIAN_DISPATCH = "technician_dispatch", "Technician dispatch"
    # Sent when a route plan is applied (routing's RoutePlanApplied) or its ETAs slip.
    TECHNICIAN_ROUTE = "technician_route", "Technician route update"
    VISIT_UPDATED = "visit_updated", "Visit updated (window or technician)"
    RUNNING_LATE = "running_late", "Running late"


# Everything the renderer can fill (apps.comms.rendering builds these from a work order).
AVAILABLE_VARIABLES: tuple[str, ...] = (
    "business_name",
    "business_phone",
    "customer_name",
    "technician_name",
    "work_order_number",
    "summary",
    "address",
    "window",
    "date",
    "eta",
    "tracking_link",
    "survey_link",
    "invoice_number",
    "invoice_total",
    "amount_due",
    "due_date",
    "payment_link",
    "job_link",
    "route",
)


class MessageTemplate(BusinessOwned, Timestamped):
    kind = models.CharField(max_length=30, choices=TemplateKind.choices)
    sms_body = models.TextField(help_text="Placeholders like {customer_name}; keep under 320.")
    email_subject = models.CharField(max_length=200, blank=True)
    email_html = models.TextField(blank=True)
    email_text = models.TextField(blank=True)
    variables = models.CharField(
        "declared variables",
        max_length=500,
        help_text="Comma-separated names the texts may use, e.g. customer_name, eta.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["business", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["business", "kind"], name="comms_template_kind_unique")
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def declared(self) -> list[str]:
        return [v.strip() for v in self.variables.split(",") if v.strip()]

    def clean(self) -> None:
        from apps.comms.rendering import placeholders_in

        errors: dict[str, list[str]] = {}
        unknown = [v for v in self.declared if v not in AVAILABLE_VARIABLES]
        if unknown:
            errors["variables"] = [
                f"Unknown variable {{{name}}}; available: {', '.join(AVAILABLE_VARIABLES)}."
                for name in unknown
            ]
        declared = set(self.declared)
        for field in ("sms_body", "email_subject", "email_html", "email_text"):
            try:
                used = placeholders_in(getattr(self, field))
            except ValueError as exc:
                errors.setdefault(field, []).append(f"Malformed placeholder: {exc}.")
                continue
            for name in sorted(used - declared):
                errors.setdefault(field, []).append(
                    f"Uses undeclared variable {{{name}}}; declare it or remove it."
                )
        if errors:
            raise ValidationError(errors)


class CommsSettings(BusinessOwned, Timestamped):
    """One per business: the quiet hours and the words and links the texts carry.

    The send window is in the recipient's local time (their service location's zone), 8 am to
    9 pm by default, the common reading of the TCPA's calling hours.
    """

    send_window_start = models.TimeField(default=dt.time(8, 0))
    send_window_end = models.TimeField(default=dt.time(21, 0))
    help_text = models.CharField(
        max_length=300,
        blank=True,
        help_text="Answer to HELP/INFO. Empty: business name and main phone.",
    )
    tracking_url = models.CharField(
        max_length=300, blank=True, help_text="e.g. https://track.example.com/{work_order_number}"
    )
    survey_url = models.CharField(max_length=300, blank=True)
    payment_url = models.CharField(max_length=300, blank=True, help_text="{invoice_number} filled")
    job_url = models.CharField(max_length=300, blank=True)
    email_from = models.EmailField(blank=True)
    sms_price_per_segment = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.0079"),
        help_text="For cost estimates (USD).",
    )
    max_payment_reminders = models.PositiveSmallIntegerField(default=2)

    class Meta:
        verbose_name = "messaging settings"
        verbose_name_plural = "messaging settings"
        constraints = [
            models.UniqueConstraint(fields=["business"], name="comms_settings_one_per_business")
        ]

    def __str__(self) -> str:
        return f"Messaging settings of {self.business}"

    def clean(self) -> None:
        if self.send_window_start == self.send_window_end:
            raise ValidationError({"send_window_end": "The send window cannot be empty."})

    @classmethod
    def for_business(cls, business) -> CommsSettings:
        found = cls.objects.filter(business=business).first()
        return found or cls(business=business)
