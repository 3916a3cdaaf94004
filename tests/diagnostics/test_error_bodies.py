"""API error bodies are words: a nested serializer's errors never reach the client as
ErrorDetail(string=..., code=...) reprs (apps/core/api/errors.py)."""

from tests.diagnostics.conftest import reading

URL = "/api/v1/diagnostics/readings/"


def test_errors_inside_a_list_of_objects_are_words_with_their_place(tech_client, work_order):
    good = reading(work_order, "co", 12, "ppm")
    bad = {**reading(work_order, "co", 12, "ppm"), "value": "lots", "phase": "sideways"}

    response = tech_client.post(URL, {"readings": [good, bad]}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert "ErrorDetail" not in response.content.decode()
    assert "readings[1].value: A valid number is required." in body["detail"]
    assert "readings[1].phase: " in body["detail"]
    assert body["errors"]["readings"]["1"]["value"] == ["A valid number is required."]


def test_a_missing_list_is_a_plain_field_error(tech_client, work_order):
    response = tech_client.post(URL, {"readings": "not a list"}, format="json")

    assert response.status_code == 400
    assert "ErrorDetail" not in response.content.decode()
    assert response.json()["detail"].startswith("readings: ")
