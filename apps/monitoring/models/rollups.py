from django.db import models

from apps.core.labels import local_stamp, readable
from apps.core.models import BusinessOwned
from apps.integrations.models import IntegrationConnection


class ActivityHourly(BusinessOwned):
    """IntegrationActivity counted per connection and UTC hour, so reports over weeks or months
    read a few hundred rows instead of every call. Closed hours are recomputed, never summed into,
    so a rerun cannot double count."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    operations = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    temporary_errors = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)
    auth_errors = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    config_errors = models.PositiveIntegerField(default=0)
    duration_sum_ms = models.BigIntegerField(default=0)
    duration_max_ms = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField()
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "hourly activity"
        verbose_name_plural = "hourly activity"
        constraints = [
            models.UniqueConstraint(fields=["connection", "hour"], name="activity_hourly_unique")
        ]
        indexes = [models.Index(fields=["business", "hour"], name="activity_hourly_business")]

    def __str__(self) -> str:
        return f"Connection {self.connection_id}, hour of {local_stamp(self.hour)}"


class ActivityErrorHourly(BusinessOwned):
    """Errors per connection, hour and message signature (the message with ids and numbers
    blanked), with the latest real message as the example a person reads."""

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    outcome = models.CharField(max_length=16)
    signature = models.CharField(max_length=500)
    count = models.PositiveIntegerField(default=0)
    last_message = models.CharField(max_length=500)
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = "hourly error"
        verbose_name_plural = "hourly errors"
        indexes = [models.Index(fields=["business", "hour"], name="activity_errors_business")]

    def __str__(self) -> str:
        outcome = readable(self.outcome).lower()
        return f"Connection {self.connection_id}, {outcome} in the hour of {local_stamp(self.hour)}"


class RollupState(models.Model):
    """Up to when the rollups are complete: reports read rollups before, raw rows after."""

    name = models.CharField(max_length=40, unique=True)
    complete_until = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{readable(self.name)} until {local_stamp(self.complete_until)}"
