"""Analysis, findings citing readings, overrides (logged), reports (HTML, PDF) and trends."""

import datetime as dt

import pytest

from apps.diagnostics.models import DiagnosticReport, Finding, FindingOverride, Reading
from tests import factories as f
from tests.diagnostics.conftest import reading, undercharged_set

READINGS = "/api/v1/diagnostics/readings/"


def wo_url(work_order, action):
    return f"/api/v1/diagnostics/work-orders/{work_order.pk}/{action}/"


def upload_and_analyze(client, work_order, batch, phase="in"):
    assert client.post(READINGS, {"readings": batch}, format="json").status_code == 201
    response = client.post(wo_url(work_order, "analyze"), {"phase": phase}, format="json")
    assert response.status_code == 200, response.json()
    return {x["rule_id"]: x for x in response.json()}


def test_analysis_finds_undercharge_and_cites_its_readings(tech_client, work_order, equipment):
    batch = undercharged_set(work_order)
    found = upload_and_analyze(tech_client, work_order, batch)

    under = found["fault.undercharge"]
    assert under["severity"] == "fail" and under["equipment"] == equipment.pk
    assert under["rule_version"] == 1
    cited = set(Reading.objects.filter(pk__in=under["readings"]).values_list("quantity", flat=True))
    assert cited == {"suction_pressure", "suction_line_temp", "liquid_pressure", "liquid_line_temp",
                     "return_wet_bulb", "outdoor_dry_bulb"}  # fmt: skip
    assert under["measured"]["target_superheat_f"] == 8.0
    assert found["airflow.temperature_split"]["severity"] == "pass"


def test_barometric_reading_changes_saturation(tech_client, work_order):
    batch = [
        reading(work_order, "suction_pressure", 118, "psig"),
        reading(work_order, "suction_line_temp", 52, "F"),
    ]
    sea = upload_and_analyze(tech_client, work_order, batch)["charge.superheat"]["measured"][
        "superheat_f"
    ]
    denver = reading(work_order, "barometric_pressure", "83.43", "kPa")  # 12.1 psia
    high = upload_and_analyze(tech_client, work_order, [denver])["charge.superheat"]["measured"][
        "superheat_f"
    ]
    assert sea == pytest.approx(12.2, abs=0.1) and high == pytest.approx(13.3, abs=0.1)


def test_latest_reading_of_a_quantity_wins(tech_client, work_order):
    batch = [
        reading(work_order, "co", 400, "ppm", minutes_ago=20),
        reading(work_order, "co", 20, "ppm", minutes_ago=2),
        reading(work_order, "o2", 8, "pct"),
    ]
    found = upload_and_analyze(tech_client, work_order, batch)
    assert found["combustion.air_free_co"]["severity"] == "pass"


def test_override_is_logged_and_survives_reanalysis(tech_client, technician, work_order):
    found = upload_and_analyze(tech_client, work_order, undercharged_set(work_order))
    finding_id = found["fault.undercharge"]["id"]

    refused = tech_client.post(
        f"/api/v1/diagnostics/findings/{finding_id}/override/",
        {"severity": "pass", "reason": " "},
        format="json",
    )
    response = tech_client.post(
        f"/api/v1/diagnostics/findings/{finding_id}/override/",
        {"severity": "attention", "reason": "Charge weighed in yesterday; line probe loose."},
        format="json",
    )

    assert refused.status_code == 400
    assert response.status_code == 200
    assert (
        response.json()["effective_severity"] == "attention"
        and response.json()["severity"] == "fail"
    )
    log = FindingOverride.objects.get()
    assert (log.from_severity, log.to_severity, log.by) == ("fail", "attention", technician.user)
    again = tech_client.post(wo_url(work_order, "analyze"), {"phase": "in"}, format="json").json()
    redone = next(x for x in again if x["rule_id"] == "fault.undercharge")
    assert redone["override_severity"] == "attention" and redone["id"] != finding_id
    assert FindingOverride.objects.count() == 1


def test_findings_and_overrides_are_invisible_to_another_business(
    rival_client, tech_client, work_order
):
    found = upload_and_analyze(tech_client, work_order, undercharged_set(work_order))
    finding_id = found["fault.undercharge"]["id"]

    assert rival_client.get(wo_url(work_order, "findings")).status_code == 404
    assert rival_client.post(wo_url(work_order, "analyze"), {}, format="json").status_code == 404
    assert rival_client.get(f"/api/v1/diagnostics/findings/{finding_id}/").status_code == 404
    override = rival_client.post(
        f"/api/v1/diagnostics/findings/{finding_id}/override/",
        {"severity": "pass", "reason": "x"},
        format="json",
    )
    assert override.status_code == 404
    assert rival_client.get(wo_url(work_order, "report.html")).status_code == 404
    assert Finding.objects.get(pk=finding_id).override_severity == ""


def test_report_html_has_phases_readings_findings_and_trend(tech_client, work_order, equipment):
    upload_and_analyze(
        tech_client,
        work_order,
        undercharged_set(work_order, instrument_family="testo", instrument_serial="555"),
    )
    fixed = [reading(work_order, "suction_pressure", 118, "psig", phase="out"),
             reading(work_order, "suction_line_temp", 47, "F", phase="out"),
             reading(work_order, "liquid_pressure", 365, "psig", phase="out"),
             reading(work_order, "liquid_line_temp", 99.7, "F", phase="out"),
             reading(work_order, "return_wet_bulb", 64, "F", phase="out"),
             reading(work_order, "outdoor_dry_bulb", 96, "F", phase="out")]  # fmt: skip
    upload_and_analyze(tech_client, work_order, fixed, phase="out")

    response = tech_client.get(wo_url(work_order, "report.html"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Test in" in html and "Test out" in html
    assert "The system is low on refrigerant" in html and "Find and repair the leak" in html
    assert "Testo" in html and "555" in html and "Bluetooth" in html  # instrument + capture method
    assert "<svg" in html and "Superheat" in html
    assert DiagnosticReport.objects.filter(work_order=work_order).count() == 1


def test_report_pdf(office_client, tech_client, work_order):
    upload_and_analyze(tech_client, work_order, undercharged_set(work_order))
    response = office_client.get(wo_url(work_order, "report.pdf"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert bytes(DiagnosticReport.objects.get().pdf).startswith(b"%PDF-")


def test_trend_across_visits(
    office_client, tech_client, technician, work_order, equipment, rival_client
):
    upload_and_analyze(
        tech_client, work_order, undercharged_set(work_order, minutes_ago=60 * 24 * 30)
    )
    later = f.WorkOrderFactory(location=work_order.location, assigned_technician=technician)
    later.equipment.add(equipment)
    batch = [
        reading(later, "suction_pressure", 118, "psig"),
        reading(later, "suction_line_temp", 50, "F"),
    ]
    upload_and_analyze(tech_client, later, batch)

    response = office_client.get(f"/api/v1/diagnostics/equipment/{equipment.pk}/trend/")

    points = response.json()["points"]
    assert [p["work_order"] for p in points] == [work_order.number, later.number]
    assert points[0]["superheat_f"] > 30 and points[1]["superheat_f"] == pytest.approx(
        10.2, abs=0.1
    )
    assert dt.datetime.fromisoformat(
        points[0]["taken_at"].replace("Z", "+00:00")
    ) < dt.datetime.fromisoformat(points[1]["taken_at"].replace("Z", "+00:00"))
    assert (
        rival_client.get(f"/api/v1/diagnostics/equipment/{equipment.pk}/trend/").status_code == 404
    )
