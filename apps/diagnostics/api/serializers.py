from __future__ import annotations

from rest_framework import serializers

from apps.diagnostics.models import (
    CaptureMethod,
    Finding,
    InstrumentFamily,
    Phase,
    Quantity,
    Reading,
    Severity,
)
from apps.diagnostics.units import UNIT_CHOICES


class ReadingOut(serializers.ModelSerializer):
    instrument_family = serializers.CharField(
        source="instrument.family", default="", read_only=True
    )
    instrument_model = serializers.CharField(source="instrument.model", default="", read_only=True)

    class Meta:
        model = Reading
        fields = [
            "id",
            "client_id",
            "work_order",
            "equipment",
            "quantity",
            "value",
            "unit",
            "instrument_family",
            "instrument_model",
            "instrument_serial",
            "capture_method",
            "taken_at",
            "phase",
        ]
        read_only_fields = fields


class ReadingIn(serializers.Serializer):
    """One reading as the agent or the app sends it. Ids of work order / equipment are resolved
    through the caller's business by the view."""

    client_id = serializers.UUIDField()
    work_order = serializers.IntegerField(min_value=1)
    equipment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    quantity = serializers.ChoiceField(Quantity.choices)
    value = serializers.DecimalField(max_digits=12, decimal_places=4)
    unit = serializers.ChoiceField(UNIT_CHOICES)
    taken_at = serializers.DateTimeField()
    capture_method = serializers.ChoiceField(CaptureMethod.choices, default=CaptureMethod.BLE)
    phase = serializers.ChoiceField(Phase.choices, default=Phase.TEST_IN)
    instrument_family = serializers.ChoiceField(
        InstrumentFamily.choices, required=False, allow_blank=True, default=""
    )
    instrument_model = serializers.CharField(
        max_length=80, required=False, default="", allow_blank=True
    )
    instrument_serial = serializers.CharField(
        max_length=80, required=False, default="", allow_blank=True
    )


class BatchIn(serializers.Serializer):
    readings = ReadingIn(many=True, allow_empty=False, max_length=500)


class BatchOut(serializers.Serializer):
    created = serializers.IntegerField()
    already_stored = serializers.IntegerField()
    readings = ReadingOut(many=True)


class ManualIn(serializers.Serializer):
    client_id = serializers.UUIDField(required=False)
    equipment = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    quantity = serializers.ChoiceField(Quantity.choices)
    value = serializers.DecimalField(max_digits=12, decimal_places=4)
    unit = serializers.ChoiceField(UNIT_CHOICES)
    taken_at = serializers.DateTimeField(required=False)
    phase = serializers.ChoiceField(Phase.choices, default=Phase.TEST_IN)
    instrument_serial = serializers.CharField(
        max_length=80, required=False, default="", allow_blank=True
    )


class ImportIn(serializers.Serializer):
    file = serializers.FileField()
    phase = serializers.ChoiceField(Phase.choices, default=Phase.TEST_IN)
    equipment = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class AnalyzeIn(serializers.Serializer):
    phase = serializers.ChoiceField(Phase.choices, default=Phase.TEST_IN)


class FindingOut(serializers.ModelSerializer):
    # Plain strings (pass/attention/fail/danger or ""), so the schema has one SeverityEnum.
    effective_severity = serializers.CharField(read_only=True)
    override_severity = serializers.CharField(read_only=True)
    readings = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "work_order",
            "equipment",
            "phase",
            "rule_id",
            "rule_version",
            "severity",
            "override_severity",
            "override_reason",
            "effective_severity",
            "message",
            "recommendation",
            "measured",
            "readings",
        ]
        read_only_fields = fields


class OverrideIn(serializers.Serializer):
    severity = serializers.ChoiceField(Severity.choices)
    reason = serializers.CharField(max_length=2000)


class ReportEmailIn(serializers.Serializer):
    # No default: "" is not a valid value for the schema's email format.
    to = serializers.EmailField(
        required=False, allow_blank=True, help_text="Default: the customer's address"
    )
    report = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="A stored report; default: new"
    )
    client_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Makes a retried request answer with the first email instead of sending again",
    )


class ReportEmailOut(serializers.Serializer):
    log = serializers.IntegerField(source="log.pk")
    status = serializers.CharField(source="log.status")
    to = serializers.CharField(source="log.recipient")
    report = serializers.IntegerField(source="report.pk", allow_null=True, default=None)
    already_sent = serializers.BooleanField()


class TrendPointOut(serializers.Serializer):
    """One visit and phase; a measure is absent when that visit did not compute it."""

    work_order = serializers.CharField(help_text="The work order's number.")
    work_order_id = serializers.IntegerField()
    phase = serializers.CharField()
    taken_at = serializers.DateTimeField(allow_null=True)
    superheat_f = serializers.FloatField(required=False)
    subcooling_f = serializers.FloatField(required=False)
    temperature_split_f = serializers.FloatField(required=False)
    air_free_co_ppm = serializers.FloatField(required=False)


class TrendOut(serializers.Serializer):
    equipment = serializers.IntegerField()
    points = TrendPointOut(many=True)
