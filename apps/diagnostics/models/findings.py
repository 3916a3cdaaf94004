"""What the rules concluded, the technician's overrides, and generated reports."""

from __future__ import annotations

from django.db import models

from apps.core.models.base import BusinessOwned, Timestamped
from apps.diagnostics.models.readings import Phase


class Severity(models.TextChoices):
    PASS = "pass", "Pass"
    ATTENTION = "attention", "Needs attention"
    FAIL = "fail", "Fail"
    DANGER = "danger", "Danger"


SEVERITY_RANK = {Severity.PASS: 0, Severity.ATTENTION: 1, Severity.FAIL: 2, Severity.DANGER: 3}


class Finding(BusinessOwned, Timestamped):
    work_order = models.ForeignKey(
        "core.WorkOrder", on_delete=models.CASCADE, related_name="diagnostic_findings"
    )
    equipment = models.ForeignKey(
        "core.Equipment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    phase = models.CharField(max_length=3, choices=Phase.choices)
    rule_id = models.CharField(max_length=60)
    rule_version = models.PositiveIntegerField()
    severity = models.CharField(max_length=10, choices=Severity.choices)
    message = models.TextField()
    recommendation = models.TextField(blank=True)
    # Computed values the rule used (superheat, target, split ...), for the report and trends.
    measured = models.JSONField(default=dict, blank=True)
    readings = models.ManyToManyField("diagnostics.Reading", related_name="findings")
    override_severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["work_order", "phase", "rule_id"]

    def __str__(self) -> str:
        return f"{self.rule_id} v{self.rule_version}: {Severity(self.effective_severity).label}"

    @property
    def effective_severity(self) -> str:
        return self.override_severity or self.severity


class FindingOverride(BusinessOwned, Timestamped):
    """Append-only log of overrides: who changed which finding, from what, to what, and why."""

    finding = models.ForeignKey(
        Finding, on_delete=models.SET_NULL, null=True, related_name="overrides"
    )
    work_order = models.ForeignKey("core.WorkOrder", on_delete=models.CASCADE, related_name="+")
    rule_id = models.CharField(max_length=60)
    rule_version = models.PositiveIntegerField()
    from_severity = models.CharField(max_length=10, choices=Severity.choices)
    to_severity = models.CharField(max_length=10, choices=Severity.choices)
    reason = models.TextField()
    by = models.ForeignKey("core.User", on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        before, after = Severity(self.from_severity).label, Severity(self.to_severity).label
        return f"{self.rule_id}: {before} \u2192 {after}"


class DiagnosticReport(BusinessOwned, Timestamped):
    work_order = models.ForeignKey(
        "core.WorkOrder", on_delete=models.CASCADE, related_name="diagnostic_reports"
    )
    rules_version = models.CharField(max_length=200)
    html = models.TextField()
    pdf = models.BinaryField(null=True, blank=True)
    generated_by = models.ForeignKey(
        "core.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Diagnostic report #{self.pk} for {self.work_order.number}"
