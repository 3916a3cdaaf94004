from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from .base import Timestamped

currency_code_validator = RegexValidator(
    r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. USD."
)


class Business(Timestamped):
    """The tenant. Every other domain row belongs to exactly one business."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = TimeZoneField(default="America/Denver")
    main_phone = PhoneNumberField(blank=True)
    emergency_phone = PhoneNumberField(blank=True)
    currency = models.CharField(max_length=3, default="USD", validators=[currency_code_validator])
    # Per-business counters for human document numbers (WO-000123, INV-000045), bumped under a
    # row lock so two dispatchers never get the same number.
    work_order_sequence = models.PositiveIntegerField(default=0, editable=False)
    invoice_sequence = models.PositiveIntegerField(default=0, editable=False)
    # Ceilings on one line of a work order or invoice, so a slip of the thumb on site (a
    # quantity of 9,999,999) is refused instead of becoming a $239,999,976 line.
    line_quantity_max = models.DecimalField(
        "largest quantity on one line",
        max_digits=10,
        decimal_places=3,
        default=Decimal("1000"),
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text="A line with more than this quantity is refused, on site and in the office.",
    )
    line_amount_max = models.DecimalField(
        "largest amount of one line",
        max_digits=12,
        decimal_places=2,
        default=Decimal("100000.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="A line worth more than this (quantity x unit price, in the business's "
        "currency) is refused.",
    )

    class Meta:
        verbose_name_plural = "businesses"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    DISPATCHER = "dispatcher", "Dispatcher"
    TECHNICIAN = "technician", "Technician"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Administrator"


class User(AbstractUser):
    """A person who signs in. Bound to one business; only platform superusers may have none."""

    business = models.ForeignKey(
        Business, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.DISPATCHER)
    phone = PhoneNumberField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(business__isnull=False),
                name="user_business_required_unless_superuser",
            )
        ]

    @property
    def is_office_staff(self) -> bool:
        return self.role in (Role.DISPATCHER, Role.MANAGER, Role.ADMIN)
