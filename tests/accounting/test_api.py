"""Sync on demand, sync status and logs: office staff of the connection's business only."""

import pytest
from rest_framework.test import APIClient

from apps.accounting.models import AccountingWrite
from apps.integrations.models import SyncLog, SyncRecordError
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def office(dispatcher):
    client = APIClient()
    client.force_login(dispatcher)
    return client


@pytest.fixture
def rival(other_business):
    client = APIClient()
    client.force_login(f.UserFactory(business=other_business, role="manager"))
    return client


def _url(connection, what):
    return f"/api/v1/integrations/{connection.pk}/{what}"


def test_a_sync_is_queued_for_the_resources_asked(
    office, qbo_connection, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        answer = office.post(
            _url(qbo_connection, "sync"), {"resources": ["customers", "items"]}, format="json"
        )

    assert answer.status_code == 202
    assert [log["resource"] for log in answer.json()["sync_logs"]] == ["customers", "items"]
    assert SyncLog.objects.filter(connection=qbo_connection, status="queued").count() == 2


def test_an_unknown_resource_is_a_clear_400(office, qbo_connection):
    answer = office.post(_url(qbo_connection, "sync"), {"resources": ["bills"]}, format="json")

    assert answer.status_code == 400
    assert "cannot sync bills" in answer.json()["detail"]
    assert not SyncLog.objects.exists()


def test_status_shows_each_resource_the_outbox_and_open_errors(office, qbo_connection, business):
    log = SyncLog.objects.create(
        business=business,
        connection=qbo_connection,
        sync_type="invoices",
        direction="bidirectional",
        status="partial",
        processed=2,
        succeeded=1,
        failed=1,
    )
    SyncRecordError.objects.create(
        business=business,
        sync_log=log,
        record_type="invoice",
        record_id="9",
        record_label="INV-000009",
        message="QuickBooks already has an invoice numbered INV-000009",
    )
    AccountingWrite.objects.create(
        business=business,
        connection=qbo_connection,
        entity="invoice",
        object_id="10",
        idempotency_key="k-10",
    )

    body = office.get(_url(qbo_connection, "sync-status")).json()

    invoices = next(r for r in body["resources"] if r["resource"] == "invoices")
    assert invoices["last_run"]["status"] == "partial"
    assert invoices["last_run"]["record_errors"][0]["record_label"] == "INV-000009"
    assert body["outbox"] == {"pending": 1, "in_doubt": 0, "failed": 0}
    assert body["open_errors"] == 1 and body["connection"]["status"] == "connected"
    assert "credentials" not in body["connection"]


def test_logs_are_newest_first_and_filterable(office, qbo_connection, business):
    for resource in ("customers", "invoices", "customers"):
        SyncLog.objects.create(
            business=business,
            connection=qbo_connection,
            sync_type=resource,
            direction="bidirectional",
            status="succeeded",
        )

    everything = office.get(_url(qbo_connection, "logs")).json()
    customers = office.get(_url(qbo_connection, "logs"), {"resource": "customers"}).json()

    assert everything["count"] == 3
    assert [r["resource"] for r in customers["results"]] == ["customers", "customers"]
    assert customers["results"][0]["id"] > customers["results"][1]["id"]


@pytest.mark.parametrize(
    ("method", "what"), [("post", "sync"), ("get", "sync-status"), ("get", "logs")]
)
def test_another_business_sees_a_404(rival, qbo_connection, method, what):
    answer = getattr(rival, method)(
        _url(qbo_connection, what), {"resources": ["customers"]}, format="json"
    )

    assert answer.status_code == 404
    assert not SyncLog.objects.exists()


@pytest.mark.parametrize(
    ("method", "what"), [("post", "sync"), ("get", "sync-status"), ("get", "logs")]
)
def test_technicians_and_strangers_are_refused(qbo_connection, business, method, what):
    technician = APIClient()
    technician.force_login(f.TechnicianFactory(business=business).user)

    assert getattr(technician, method)(_url(qbo_connection, what)).status_code == 403
    assert getattr(APIClient(), method)(_url(qbo_connection, what)).status_code in (401, 403)
