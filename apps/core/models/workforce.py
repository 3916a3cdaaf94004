import datetime as dt

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from .base import BusinessOwned, Timestamped


class ServiceCategory(BusinessOwned):
    """A trade (HVAC, plumbing, electrical); its revenue category drives accounting mappings."""

    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    revenue_category = models.CharField(
        max_length=100, help_text="e.g. 'HVAC service revenue'; mapped to an income account."
    )
    default_duration_minutes = models.PositiveIntegerField(default=90)

    class Meta:
        verbose_name_plural = "service categories"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "code"], name="category_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Skill(BusinessOwned):
    class Kind(models.TextChoices):
        SKILL = "skill", "Skill"
        CERTIFICATION = "certification", "Certification"

    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SKILL)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["business", "code"], name="skill_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Part(BusinessOwned):
    sku = models.CharField(max_length=60)
    name = models.CharField(max_length=200)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    category = models.ForeignKey(ServiceCategory, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(fields=["business", "sku"], name="part_sku_unique"),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="part_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Technician(BusinessOwned, Timestamped):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="technician"
    )
    phone = PhoneNumberField(blank=True)
    skills = models.ManyToManyField(Skill, blank=True, related_name="technicians")
    home_base_address = models.CharField(max_length=300, blank=True)
    home_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    home_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    shift_start = models.TimeField(default=dt.time(8, 0))
    shift_end = models.TimeField(default=dt.time(17, 0))
    lunch_break_minutes = models.PositiveSmallIntegerField(default=30)
    max_overtime_minutes = models.PositiveSmallIntegerField(default=60)
    active = models.BooleanField(default=True)
    van_parts = models.ManyToManyField(Part, through="VanStock", blank=True, related_name="+")

    class Meta:
        ordering = ["user__first_name", "user__last_name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(shift_end__gt=models.F("shift_start")),
                name="technician_shift_end_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username


class VanStock(BusinessOwned):
    """The parts a technician carries; routing only sends a job to a van that has its parts."""

    technician = models.ForeignKey(Technician, on_delete=models.CASCADE, related_name="stock")
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name_plural = "van stock"
        constraints = [
            models.UniqueConstraint(fields=["technician", "part"], name="vanstock_unique_part")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.part}"
