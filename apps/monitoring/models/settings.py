from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models

from apps.core.models import Business, BusinessScopedQuerySet, Timestamped
from apps.integrations.models import IntegrationConnection, ProviderKey


def split_emails(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


def validate_email_list(value: str) -> None:
    bad = []
    for address in split_emails(value):
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    if bad:
        raise ValidationError(f"Not valid email addresses: {', '.join(bad)}.")


class MonitoringSettings(Timestamped):
    """One business's health thresholds and alert channels. A business without a row gets the
    defaults below (the health guide's rules)."""

    business = models.OneToOneField(
        Business, on_delete=models.CASCADE, related_name="monitoring_settings"
    )
    stale_after_minutes = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text="A connection expected to be active is stale after this long without activity.",
    )
    degraded_error_threshold = models.PositiveIntegerField(
        default=10, help_text="More errors than this in 24 hours is degraded."
    )
    healthy_success_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("95.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Percent. A success rate above this is healthy; at or below it, a warning.",
    )
    sync_silence_hours = models.PositiveIntegerField(
        default=24,
        validators=[MinValueValidator(1)],
        help_text="Alert when a scheduled connection has had no successful sync for this long.",
    )
    alert_reminder_minutes = models.PositiveIntegerField(
        default=240,
        validators=[MinValueValidator(5)],
        help_text="Remind about an alert that is still open after this long.",
    )
    slack_connection = models.ForeignKey(
        IntegrationConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"provider": ProviderKey.SLACK},
        help_text="The Slack incoming webhook that receives alerts.",
    )
    email_alerts = models.BooleanField(default=True)
    alert_emails = models.TextField(
        blank=True,
        validators=[validate_email_list],
        help_text="Comma-separated. Empty: the business's managers and administrators.",
    )
    weekly_report = models.BooleanField(
        default=True, help_text="Email the health report as a PDF every Monday morning."
    )
    weekly_report_hour = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(23)],
        help_text="Local hour (the business's time zone) the weekly report is sent at.",
    )

    objects = BusinessScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "monitoring settings"
        verbose_name_plural = "monitoring settings"

    def __str__(self) -> str:
        return f"Monitoring settings of {self.business}"

    def clean(self) -> None:
        if self.slack_connection_id and self.business_id:
            conn = self.slack_connection
            if conn.business_id != self.business_id or conn.provider != ProviderKey.SLACK:
                raise ValidationError(
                    {"slack_connection": "Pick a Slack connection of this business."}
                )

    @property
    def alert_email_list(self) -> list[str]:
        return split_emails(self.alert_emails)
