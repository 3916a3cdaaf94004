from apps.diagnostics.models.findings import DiagnosticReport, Finding, FindingOverride, Severity
from apps.diagnostics.models.readings import (
    CaptureMethod,
    EquipmentProfile,
    Instrument,
    InstrumentFamily,
    Metering,
    Phase,
    Quantity,
    Reading,
)

__all__ = [
    "CaptureMethod",
    "DiagnosticReport",
    "EquipmentProfile",
    "Finding",
    "FindingOverride",
    "Instrument",
    "InstrumentFamily",
    "Metering",
    "Phase",
    "Quantity",
    "Reading",
    "Severity",
]
