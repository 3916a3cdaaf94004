"""Instruments, the readings they produce, and the charging data of a piece of equipment."""

from __future__ import annotations

from django.db import models

from apps.core.models.base import BusinessOwned, Timestamped
from apps.diagnostics import units


class InstrumentFamily(models.TextChoices):
    ESS = "ess", "Bluetooth SIG Environmental Sensing"
    TESTO = "testo", "Testo"
    FIELDPIECE = "fieldpiece", "Fieldpiece"
    UEI = "uei", "UEi"
    OTHER = "other", "Other"


class Instrument(BusinessOwned, Timestamped):
    family = models.CharField(max_length=20, choices=InstrumentFamily.choices)
    model = models.CharField(max_length=80, blank=True)
    serial = models.CharField(max_length=80)
    firmware = models.CharField(max_length=40, blank=True)
    calibrated_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["family", "serial"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "family", "serial"], name="diag_instrument_serial_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_family_display()} {self.model} #{self.serial}".replace("  ", " ")


class Quantity(models.TextChoices):
    SUCTION_PRESSURE = "suction_pressure", "Suction pressure"
    LIQUID_PRESSURE = "liquid_pressure", "Liquid pressure"
    SUCTION_LINE_TEMP = "suction_line_temp", "Suction line temperature"
    LIQUID_LINE_TEMP = "liquid_line_temp", "Liquid line temperature"
    RETURN_DRY_BULB = "return_dry_bulb", "Return air dry bulb"
    RETURN_WET_BULB = "return_wet_bulb", "Return air wet bulb"
    SUPPLY_DRY_BULB = "supply_dry_bulb", "Supply air dry bulb"
    SUPPLY_WET_BULB = "supply_wet_bulb", "Supply air wet bulb"
    OUTDOOR_DRY_BULB = "outdoor_dry_bulb", "Outdoor dry bulb"
    RELATIVE_HUMIDITY = "relative_humidity", "Relative humidity"
    BAROMETRIC_PRESSURE = "barometric_pressure", "Barometric pressure"
    CO = "co", "Flue CO"
    AMBIENT_CO = "ambient_co", "Ambient CO"
    O2 = "o2", "Flue O2"
    CO2 = "co2", "Flue CO2"
    FLUE_TEMP = "flue_temp", "Flue temperature"
    DRAFT = "draft", "Draft"
    STATIC_PRESSURE = "static_pressure", "Total external static pressure"
    VOLTAGE = "voltage", "Voltage"
    AMPERAGE = "amperage", "Amperage"
    TEMPERATURE = "temperature", "Temperature (unassigned probe)"
    PRESSURE = "pressure", "Pressure (unassigned probe)"


class CaptureMethod(models.TextChoices):
    BLE = "ble", "Bluetooth"
    IMPORT = "import", "File import"
    MANUAL = "manual", "Typed in"


class Phase(models.TextChoices):
    TEST_IN = "in", "Test in"
    TEST_OUT = "out", "Test out"


class Reading(BusinessOwned, Timestamped):
    """One measurement. `client_id` is generated where the reading is taken (the agent, the app),
    so an upload repeated after a lost response stores it once."""

    client_id = models.UUIDField()
    work_order = models.ForeignKey(
        "core.WorkOrder", on_delete=models.CASCADE, related_name="diagnostic_readings"
    )
    equipment = models.ForeignKey(
        "core.Equipment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diagnostic_readings",
    )
    quantity = models.CharField(max_length=30, choices=Quantity.choices)
    value = models.DecimalField(max_digits=12, decimal_places=4)
    unit = models.CharField(max_length=10, choices=units.UNIT_CHOICES)
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, null=True, blank=True, related_name="readings"
    )
    instrument_serial = models.CharField(max_length=80, blank=True)
    capture_method = models.CharField(max_length=10, choices=CaptureMethod.choices)
    taken_at = models.DateTimeField()
    phase = models.CharField(max_length=3, choices=Phase.choices, default=Phase.TEST_IN)
    entered_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["taken_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "client_id"], name="diag_reading_client_id_unique"
            )
        ]
        indexes = [models.Index(fields=["work_order", "phase", "quantity", "taken_at"])]

    def __str__(self) -> str:
        return f"{self.get_quantity_display()} {self.value} {self.unit}"

    @property
    def canonical_value(self) -> float:
        """The value in the unit the analysis uses (psig, °F, ppm, %, inWC, V, A)."""
        return units.to_canonical(self.quantity, float(self.value), self.unit)


class Metering(models.TextChoices):
    FIXED = "fixed", "Fixed orifice (piston / cap tube)"
    TXV = "txv", "TXV / EEV"


class EquipmentProfile(BusinessOwned, Timestamped):
    """Charging data the core equipment record does not hold (from the nameplate / manual)."""

    equipment = models.OneToOneField(
        "core.Equipment", on_delete=models.CASCADE, related_name="diagnostic_profile"
    )
    metering = models.CharField(max_length=10, choices=Metering.choices, blank=True)
    target_subcool_f = models.DecimalField(
        "target subcooling (°F)", max_digits=5, decimal_places=1, null=True, blank=True
    )
    nominal_tons = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)

    def __str__(self) -> str:
        return f"Charging data for {self.equipment}"
