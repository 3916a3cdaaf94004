from django.db import models
from phonenumber_field.modelfields import PhoneNumberField
from timezone_field import TimeZoneField

from .base import Address, BusinessOwned, Timestamped


class PaymentTerms(models.IntegerChoices):
    DUE_ON_RECEIPT = 0, "Due on receipt"
    NET_15 = 15, "Net 15"
    NET_30 = 30, "Net 30"
    NET_60 = 60, "Net 60"


class Customer(BusinessOwned, Address, Timestamped):
    """Who pays. The address fields are the billing address; work happens at ServiceLocations."""

    display_name = models.CharField(max_length=200)
    company_name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True, help_text="Stored in E.164, e.g. +13035550123.")
    payment_terms = models.PositiveSmallIntegerField(
        choices=PaymentTerms.choices, default=PaymentTerms.DUE_ON_RECEIPT
    )
    sms_opt_in = models.BooleanField("agrees to texts", default=False)
    email_opt_in = models.BooleanField("agrees to email", default=True)
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["display_name"]
        indexes = [models.Index(fields=["business", "display_name"])]

    def __str__(self) -> str:
        return self.display_name


class ServiceLocation(BusinessOwned, Address, Timestamped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="locations")
    label = models.CharField(max_length=100, blank=True, help_text="e.g. Home, Rental unit B")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    timezone = TimeZoneField(default="America/Denver")
    access_notes = models.TextField(blank=True, help_text="Gate codes, pets, parking.")

    class Meta:
        ordering = ["customer__display_name", "label"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True)
                | models.Q(latitude__gte=-90, latitude__lte=90),
                name="location_latitude_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__isnull=True)
                | models.Q(longitude__gte=-180, longitude__lte=180),
                name="location_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return self.address_one_line or self.label or f"Location {self.pk}"


class Refrigerant(models.TextChoices):
    R410A = "R-410A", "R-410A"
    R32 = "R-32", "R-32"
    R454B = "R-454B", "R-454B"
    R22 = "R-22", "R-22"
    R134A = "R-134a", "R-134a"
    R407C = "R-407C", "R-407C"


class EquipmentKind(models.TextChoices):
    AIR_CONDITIONER = "air_conditioner", "Air conditioner"
    HEAT_PUMP = "heat_pump", "Heat pump"
    FURNACE = "furnace", "Furnace"
    BOILER = "boiler", "Boiler"
    WATER_HEATER = "water_heater", "Water heater"
    MINI_SPLIT = "mini_split", "Ductless mini-split"
    ELECTRICAL_PANEL = "electrical_panel", "Electrical panel"
    OTHER = "other", "Other"


class Equipment(BusinessOwned, Timestamped):
    location = models.ForeignKey(
        ServiceLocation, on_delete=models.CASCADE, related_name="equipment"
    )
    kind = models.CharField(
        max_length=30, choices=EquipmentKind.choices, default=EquipmentKind.OTHER
    )
    manufacturer = models.CharField(max_length=100)
    model_number = models.CharField(max_length=100, blank=True)
    serial_number = models.CharField(max_length=100, blank=True)
    refrigerant = models.CharField(max_length=10, choices=Refrigerant.choices, blank=True)
    install_date = models.DateField(null=True, blank=True)
    warranty_expires = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "equipment"
        ordering = ["location", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "manufacturer", "serial_number"],
                condition=~models.Q(serial_number=""),
                name="equipment_serial_unique_per_manufacturer",
            ),
            models.CheckConstraint(
                condition=models.Q(warranty_expires__isnull=True)
                | models.Q(install_date__isnull=True)
                | models.Q(warranty_expires__gte=models.F("install_date")),
                name="equipment_warranty_after_install",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model_number}".strip()
