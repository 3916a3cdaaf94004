"""GET /api/v1/monitoring/report and /health: office staff only, always their own business."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.helpers import client_for
from tests.monitoring.conftest import log


@pytest.fixture
def recent(books):
    now = timezone.now()
    log(books, 9, at=now - dt.timedelta(hours=2), duration_ms=120)
    log(books, 1, at=now - dt.timedelta(hours=3), outcome="rejected", message="Item 5 refused")
    return books


def test_report_json(manager, recent):
    response = client_for(manager).get("/api/v1/monitoring/report", {"period": "7d"})

    assert response.status_code == 200
    data = response.json()
    assert data["period"] == "7d"
    assert data["totals"]["operations"] == 10
    (item,) = data["integrations"]
    assert item["connection_id"] == recent.pk
    assert (item["operations"], item["errors"], item["success_rate"]) == (10, 1, "90.00")
    assert item["avg_ms"] == 118  # (9 * 120 + 100) / 10
    assert item["errors_by_outcome"]["rejected"] == 1
    assert item["trend"]["direction"] == "new"
    assert item["previous"]["operations"] == 0
    (group,) = item["error_messages"]
    assert {k: group[k] for k in ("message", "outcome", "count", "latest_example")} == {
        "message": "Item # refused",
        "outcome": "rejected",
        "count": 1,
        "latest_example": "Item 5 refused",
    }
    assert len(item["series"]) == 8


def test_bad_period_is_a_400_with_a_message(manager, recent):
    response = client_for(manager).get("/api/v1/monitoring/report", {"period": "fortnight"})

    assert response.status_code == 400
    body = response.json()
    assert "Period 'fortnight' is not understood" in body["detail"]
    assert "period" in body["errors"]


def test_other_businesses_data_is_never_in_the_report(manager, recent, other_business):
    rival = f.IntegrationConnectionFactory(business=other_business, name="RIVALMARK books")
    log(
        rival, 5, at=timezone.now() - dt.timedelta(hours=1), outcome="rejected", message="RIVALMARK"
    )
    rival_manager = f.UserFactory(business=other_business, role="manager")

    mine = client_for(manager).get("/api/v1/monitoring/report").content.decode()
    theirs = client_for(rival_manager).get("/api/v1/monitoring/report").json()

    assert "RIVALMARK" not in mine
    assert [i["connection_id"] for i in theirs["integrations"]] == [rival.pk]
    assert theirs["totals"]["operations"] == 5


def test_health_json(manager, recent):
    data = client_for(manager).get("/api/v1/monitoring/health").json()

    (connection,) = data["connections"]
    assert connection["key"] == recent.pk
    assert connection["status"] == "warning"  # 90 % success, 1 error
    assert connection["p95_ms"] == 120
    assert data["thresholds"] == {
        "stale_after_minutes": 60,
        "degraded_errors": 10,
        "healthy_success_rate": "95.00",
    }
    assert data["integrations"][0]["provider"] == "quickbooks"


@pytest.mark.parametrize("path", ["/api/v1/monitoring/report", "/api/v1/monitoring/health"])
def test_technicians_and_strangers_are_refused(technician, path):
    assert client_for(technician.user).get(path).status_code == 403
    assert APIClient().get(path).status_code in (401, 403)
