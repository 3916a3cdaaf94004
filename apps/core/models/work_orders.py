from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models

from .base import BusinessOwned, Timestamped
from .customers import Customer, Equipment, ServiceLocation
from .workforce import Part, ServiceCategory, Skill, Technician


class Priority(models.TextChoices):
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    EMERGENCY = "emergency", "Emergency"


class WorkOrderStatus(models.TextChoices):
    NEW = "new", "New"
    SCHEDULED = "scheduled", "Scheduled"
    DISPATCHED = "dispatched", "Dispatched"
    EN_ROUTE = "en_route", "En route"
    ON_SITE = "on_site", "On site"
    COMPLETED = "completed", "Completed"
    INVOICED = "invoiced", "Invoiced"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"
    ON_HOLD = "on_hold", "On hold"


S = WorkOrderStatus
# The only moves a work order may make. Anything else is refused by work_order_transition.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.SCHEDULED, S.DISPATCHED, S.ON_HOLD, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.DISPATCHED, S.NEW, S.ON_HOLD, S.CANCELLED}),
    S.DISPATCHED: frozenset({S.EN_ROUTE, S.SCHEDULED, S.ON_HOLD, S.CANCELLED}),
    S.EN_ROUTE: frozenset({S.ON_SITE, S.DISPATCHED, S.ON_HOLD, S.CANCELLED}),
    S.ON_SITE: frozenset({S.COMPLETED, S.ON_HOLD}),
    S.COMPLETED: frozenset({S.INVOICED}),
    S.INVOICED: frozenset({S.PAID}),
    S.PAID: frozenset(),
    S.CANCELLED: frozenset({S.NEW}),  # reopen
    S.ON_HOLD: frozenset({S.NEW, S.SCHEDULED, S.DISPATCHED, S.CANCELLED}),
}
# Moves a technician makes from the field; the office makes every other move.
TECHNICIAN_TRANSITIONS = frozenset({S.EN_ROUTE, S.ON_SITE, S.COMPLETED, S.ON_HOLD})
# While these hold, the technician is working the job and may add parts and labour.
LINE_EDITABLE_STATUSES = frozenset(
    {S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD}
)
ACTIVE_STATUSES = frozenset({S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE})


class WorkOrder(BusinessOwned, Timestamped):
    number = models.CharField(max_length=30, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="work_orders")
    location = models.ForeignKey(
        ServiceLocation, on_delete=models.PROTECT, related_name="work_orders"
    )
    category = models.ForeignKey(
        ServiceCategory, on_delete=models.PROTECT, related_name="work_orders"
    )
    summary = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    # Status changes only through services.work_orders.work_order_transition (audit + events).
    status = models.CharField(
        max_length=12, choices=WorkOrderStatus.choices, default=WorkOrderStatus.NEW, editable=False
    )
    arrival_window_start = models.DateTimeField(null=True, blank=True)
    arrival_window_end = models.DateTimeField(null=True, blank=True)
    assigned_technician = models.ForeignKey(
        Technician, on_delete=models.SET_NULL, null=True, blank=True, related_name="work_orders"
    )
    estimated_duration_minutes = models.PositiveIntegerField(default=90)
    required_skills = models.ManyToManyField(Skill, blank=True, related_name="+")
    required_parts = models.ManyToManyField(
        Part, through="WorkOrderPart", blank=True, related_name="+"
    )
    equipment = models.ManyToManyField(Equipment, blank=True, related_name="work_orders")
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["business", "number"], name="workorder_number_unique"),
            models.CheckConstraint(
                condition=models.Q(arrival_window_start__isnull=True)
                | models.Q(arrival_window_end__isnull=True)
                | models.Q(arrival_window_end__gt=models.F("arrival_window_start")),
                name="workorder_window_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(estimated_duration_minutes__gt=0),
                name="workorder_duration_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["business", "status"]),
            models.Index(fields=["business", "arrival_window_start"]),
            models.Index(fields=["assigned_technician", "arrival_window_start"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.summary}"

    @property
    def allowed_next_statuses(self) -> list[str]:
        return sorted(ALLOWED_TRANSITIONS[self.status])


class WorkOrderPart(BusinessOwned):
    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, related_name="part_requirements"
    )
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = "required part"
        constraints = [
            models.UniqueConstraint(fields=["work_order", "part"], name="workorderpart_unique")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} \u00d7 {self.part} for {self.work_order.number}"


class WorkOrderStatusChange(BusinessOwned):
    """Audit trail: every transition, who made it and when. Rows are never edited."""

    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, choices=WorkOrderStatus.choices)
    to_status = models.CharField(max_length=12, choices=WorkOrderStatus.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["changed_at", "pk"]
        verbose_name = "status change"
        verbose_name_plural = "status history"

    def __str__(self) -> str:
        before, after = WorkOrderStatus(self.from_status), WorkOrderStatus(self.to_status)
        return f"{self.work_order.number}: {before.label} \u2192 {after.label}"


class LineItem(BusinessOwned, Timestamped):
    class Kind(models.TextChoices):
        SERVICE = "service", "Service / labour"
        PART = "part", "Part"
        FEE = "fee", "Fee"

    work_order = models.ForeignKey(
        WorkOrder, on_delete=models.CASCADE, null=True, blank=True, related_name="lines"
    )
    invoice = models.ForeignKey(
        "core.Invoice", on_delete=models.SET_NULL, null=True, blank=True, related_name="lines"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    category = models.ForeignKey(ServiceCategory, on_delete=models.PROTECT, null=True, blank=True)
    part = models.ForeignKey(
        Part, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    taxable = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(work_order__isnull=False) | models.Q(invoice__isnull=False),
                name="line_belongs_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
