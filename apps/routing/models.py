"""Plans for a day, the routes and stops inside them, and where technicians are."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import BusinessOwned, Technician, Timestamped, WorkOrder


class RoutePlan(BusinessOwned, Timestamped):
    """One optimisation of one day. A dispatcher reviews a draft, then applies or discards it."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPLIED = "applied", "Applied"
        DISCARDED = "discarded", "Discarded"
        SUPERSEDED = "superseded", "Superseded"  # was applied; a later plan replaced it

    class Kind(models.TextChoices):
        FULL = "full", "Full day"
        REPLAN = "replan", "Re-plan from the current state"

    date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FULL)
    trigger = models.CharField(
        max_length=200, blank=True, help_text="Why this plan was made, e.g. 'emergency WO-000123'."
    )
    # Deduplicates automatic re-plans: a redelivered task finds its plan and stops.
    trigger_key = models.CharField(max_length=100, blank=True, editable=False)
    based_on = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    planned_at = models.DateTimeField(help_text="The moment the plan starts from.")
    kpis = models.JSONField(default=dict, blank=True)
    travel_source = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "date"],
                condition=models.Q(status="applied"),
                name="routeplan_one_applied_per_day",
            )
        ]
        indexes = [models.Index(fields=["business", "date", "status"])]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} plan #{self.pk} ({self.get_status_display().lower()})"


class TechnicianRoute(BusinessOwned):
    """One technician's day inside a plan: when they leave, come back, drive, and eat."""

    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="routes")
    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    # Where the day (or the re-plan) starts: home, the last GPS fix, or the job on site.
    start_latitude = models.DecimalField(max_digits=9, decimal_places=6)
    start_longitude = models.DecimalField(max_digits=9, decimal_places=6)
    drive_seconds = models.PositiveIntegerField(default=0)
    distance_m = models.PositiveIntegerField(default=0)
    overtime_minutes = models.PositiveIntegerField(default=0)
    lunch_start = models.DateTimeField(null=True, blank=True)
    lunch_minutes = models.PositiveSmallIntegerField(default=0)
    lunch_skipped = models.BooleanField(default=False)

    class Meta:
        ordering = ["plan", "technician__user__first_name", "technician__user__last_name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "technician"], name="route_one_per_technician")
        ]

    def __str__(self) -> str:
        return f"{self.technician} in {self.plan}"


class RouteStop(BusinessOwned):
    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="stops")
    route = models.ForeignKey(TechnicianRoute, on_delete=models.CASCADE, related_name="stops")
    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="+")
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveSmallIntegerField()
    eta = models.DateTimeField(help_text="Arrival at the customer.")
    service_start = models.DateTimeField(help_text="Work starts (after waiting for the window).")
    departure = models.DateTimeField()
    drive_minutes = models.PositiveIntegerField(default=0, help_text="From the previous stop.")
    distance_m = models.PositiveIntegerField(default=0)
    wait_minutes = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    fixed = models.BooleanField(default=False, help_text="En route or on site: not moved.")
    eta_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "technician", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "work_order"], name="stop_once_per_plan"),
            models.UniqueConstraint(
                fields=["plan", "technician", "sequence"], name="stop_sequence_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.work_order.number}"


class UnassignedReason(models.TextChoices):
    """Short labels; RouteUnassigned.detail says the rest in words (who, which part, when)."""

    NO_SKILL = "no_skill", "Skill missing"
    NO_PARTS = "no_parts", "Parts missing"
    NO_TIME = "no_time", "No time"
    NO_LOCATION = "no_location", "Address not on the map"
    NO_TECHNICIAN = "no_technician", "Nobody working"
    # Under way or dispatched: stays with its technician; applying the plan leaves it alone.
    KEPT = "kept", "Stays with its technician"


class RouteUnassigned(BusinessOwned):
    plan = models.ForeignKey(RoutePlan, on_delete=models.CASCADE, related_name="unassigned")
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=UnassignedReason.choices)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["plan", "reason", "work_order__number"]
        verbose_name = "unassigned job"
        constraints = [
            models.UniqueConstraint(fields=["plan", "work_order"], name="unassigned_once_per_plan")
        ]

    def __str__(self) -> str:
        return f"{self.work_order.number}: {self.get_reason_display()}"


class TechnicianLocation(BusinessOwned):
    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="+")
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    accuracy_m = models.PositiveIntegerField(null=True, blank=True)
    recorded_at = models.DateTimeField(help_text="When the phone took the fix.")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["technician", "-recorded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90),
                name="techlocation_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__gte=-180, longitude__lte=180),
                name="techlocation_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.technician} at {self.latitude},{self.longitude}"
