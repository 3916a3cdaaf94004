"""File import: Testo TJF and CSV, through the API and the management command."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from apps.diagnostics.models import Reading

# Structure of the testo Smart app's refrigeration export (testo/tjf, Schema 1.0.2).
TJF = {
    "schemaVersion": "1.0.2",
    "timeStamp": "2026-07-26T10:50:17",
    "type": {"name": "Kälte"},
    "device": [{"name": "testo 549i", "serial": "13379502"}],
    "properties": [{"name": "pressureType", "values": [{"name": "pressureTypeValue", "value": "P<sub>rel</sub>"}]}],
    "channels": [
        {"type": {"name": "502"}, "unit": {"name": "bar"},
         "values": [{"additionalData": [{"name": "valueType", "description": "ND"}], "value": 8.136,
                     "timeStamp": "2026-07-26T10:50:17"}]},
        {"type": {"name": "100"}, "unit": {"name": "°C"},
         "values": [{"additionalData": [{"name": "valueType", "description": "toh"}], "value": 11.1,
                     "timeStamp": "2026-07-26T10:50:17"}]},
        {"type": {"name": ""}, "unit": {"name": "K"},
         "values": [{"additionalData": [{"name": "valueType", "description": "Δtoh"}], "value": 6.2}]},
        {"type": {"name": "9"}, "unit": {"name": "m/s"},
         "values": [{"additionalData": [{"name": "valueType", "description": "v"}], "value": 2.0}]},
    ],
}  # fmt: skip

CSV = (
    "quantity,value,unit,taken_at,phase,instrument_serial\n"
    "co,35,ppm,2026-07-26T10:00:00-06:00,in,CA-1\n"
    "o2,7.9,pct,2026-07-26T10:00:05-06:00,in,CA-1\n"
)


def upload(client, work_order, name, content, **extra):
    file = SimpleUploadedFile(name, content)
    return client.post(
        f"/api/v1/diagnostics/work-orders/{work_order.pk}/import/",
        {"file": file, **extra},
        format="multipart",
    )


def test_tjf_import_keeps_raw_values_and_reports_what_it_skipped(tech_client, work_order):
    response = upload(tech_client, work_order, "Kälte.tjf", json.dumps(TJF).encode())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["format"] == "tjf" and body["created"] == 2
    assert any("Δtoh is computed by the app" in s for s in body["skipped"])
    assert any("unknown value type 'v'" in s for s in body["skipped"])
    suction = Reading.objects.get(quantity="suction_pressure")
    assert (suction.unit, str(suction.value), suction.capture_method) == ("bar", "8.1360", "import")
    assert suction.instrument.serial == "13379502" and suction.instrument.family == "testo"
    assert suction.taken_at.utcoffset() is not None  # naive export time read in the business zone
    assert suction.canonical_value == pytest.approx(118.0, abs=0.1)


def test_importing_the_same_file_twice_stores_it_once(tech_client, work_order):
    upload(tech_client, work_order, "a.csv", CSV.encode())
    again = upload(tech_client, work_order, "a.csv", CSV.encode())
    assert again.status_code == 200 and again.json()["already_stored"] == 2
    assert Reading.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x.csv", b"quantity,value\nco,1\n", "lacks the column"),
        ("x.csv", b"quantity,value,unit,taken_at\nco,abc,ppm,2026-01-01T00:00:00Z\n", "line 2"),
        ("x.csv", b"quantity,value,unit,taken_at\nco,1,psig,2026-01-01T00:00:00Z\n", "not a unit"),
        ("x.tjf", b"{not json", "Not a TJF"),
        ("x.pdf", b"%PDF", "Upload a Testo"),
    ],
)
def test_bad_files_are_refused_with_a_reason_and_store_nothing(
    tech_client, work_order, name, content, message
):
    response = upload(tech_client, work_order, name, content)
    assert response.status_code == 400 and message in response.json()["detail"]
    assert Reading.objects.count() == 0


def test_import_is_scoped_to_the_business(rival_client, work_order):
    assert upload(rival_client, work_order, "a.csv", CSV.encode()).status_code == 404


def test_management_command_imports_a_file(work_order, tmp_path, capsys):
    path = tmp_path / "readings.csv"
    path.write_text(CSV)
    call_command(
        "diagnostics_import", str(path), work_order=work_order.pk, business=work_order.business.slug
    )
    assert Reading.objects.filter(work_order=work_order).count() == 2
    assert "2 stored" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No work order"):
        call_command(
            "diagnostics_import", str(path), work_order=999999, business=work_order.business.slug
        )
