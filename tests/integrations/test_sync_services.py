import json

import pytest
from django_celery_beat.models import PeriodicTask

from apps.core.errors import DomainError
from apps.integrations import services
from apps.integrations.errors import TemporaryError
from apps.integrations.models import (
    ConnectionStatus,
    IntegrationActivity,
    Outcome,
    ReportSeverity,
    SyncLog,
    SyncRecordError,
)
from apps.integrations.tasks import connection_sync_scheduled_task, connection_sync_task
from tests.loopback import Canned

RECORDS = {
    "records": [{"id": 1}, {"id": 2, "error": "Customer name already used by a vendor"}, {"id": 3}]
}


def test_connection_test_marks_connected(connection, loopback):
    loopback.queue("/ping", Canned(body={"account": "Acme Books"}))
    check = services.connection_test(connection=connection)
    assert check.ok and "Acme Books" in check.message
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED


def test_connection_test_reports_auth_failure_and_needs_reconnect(connection, loopback):
    loopback.queue("/ping", Canned(status=401, body={"error": "invalid_grant"}))
    check = services.connection_test(connection=connection)
    assert not check.ok and "Reconnect" in check.message
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT


def test_connection_test_without_credentials_says_what_is_missing(connection):
    connection.credentials = {}
    check = services.connection_test(connection=connection)
    assert not check.ok and "api_key" in check.message


def test_connection_test_without_adapter(business):
    from tests import factories as f

    conn = f.IntegrationConnectionFactory(business=business)
    conn.provider = "no-such-vendor"  # every real key gets an adapter as the domains land
    assert "No adapter" in services.connection_test(connection=conn).message


def test_sync_records_per_record_failures_and_partial_status(connection, loopback, run_on_commit):
    loopback.queue("/customers", Canned(body=RECORDS))
    (log,) = run_on_commit(services.sync_request, connection=connection, resources=["customers"])
    log.refresh_from_db()
    assert (log.status, log.processed, log.succeeded, log.failed) == (
        SyncLog.Status.PARTIAL,
        3,
        2,
        1,
    )
    assert (
        log.direction == "bidirectional"
        and log.started_at
        and log.completed_at
        and log.duration_ms is not None
    )
    error = SyncRecordError.objects.get(sync_log=log)
    assert error.record_id == "2" and "already used" in error.message
    connection.refresh_from_db()
    assert connection.last_sync_at == log.completed_at
    assert (
        IntegrationActivity.objects.filter(connection=connection, kind="sync").get().outcome
        == Outcome.REJECTED
    )


def test_sync_all_resources_by_default(connection, loopback, run_on_commit):
    loopback.queue("/customers", Canned(body={"records": []}))
    loopback.queue("/invoices", Canned(body={"records": [{"id": 9}]}))
    logs = run_on_commit(services.sync_request, connection=connection)
    assert sorted(log.sync_type for log in logs) == ["customers", "invoices"]
    assert {SyncLog.objects.get(pk=log.pk).status for log in logs} == {SyncLog.Status.SUCCEEDED}


def test_unknown_resource_is_refused_with_the_list_of_known_ones(connection):
    with pytest.raises(DomainError, match=r"cannot sync widgets\. It syncs: customers, invoices"):
        services.sync_request(connection=connection, resources=["widgets"])


def test_sync_refused_when_disabled_or_needing_reconnect(connection):
    connection.sync_enabled = False
    with pytest.raises(DomainError, match="turned off"):
        services.sync_request(connection=connection)
    connection.sync_enabled, connection.status = True, ConnectionStatus.NEEDS_RECONNECT
    with pytest.raises(DomainError, match="reconnected"):
        services.sync_request(connection=connection)


def test_temporary_error_with_attempts_left_stays_queued_with_its_next_attempt(
    connection, loopback
):
    loopback.queue("/customers", Canned(status=503))
    log = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    with pytest.raises(services.SyncRetry) as raised:
        services.connection_sync(sync_log_id=log.pk, attempt=0, max_attempts=3)
    assert isinstance(raised.value.cause, TemporaryError) and raised.value.delay == 15
    log.refresh_from_db()
    assert log.status == SyncLog.Status.QUEUED and "Will retry at" in log.message
    assert "attempt 2 of 3" in log.message and log.next_attempt_at > log.started_at
    assert log.completed_at is None


def test_temporary_error_on_the_last_attempt_fails_the_log(connection, loopback):
    loopback.queue("/customers", Canned(status=503), Canned(status=503))
    log = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    # A run in the caller's process (the CLI's --wait) has one attempt: it never says "Will retry".
    services.connection_sync(sync_log_id=log.pk)
    log.refresh_from_db()
    assert log.status == SyncLog.Status.FAILED and log.completed_at is not None
    assert "Will retry" not in log.message and "run the sync again" in log.message
    assert log.next_attempt_at is None

    last = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    services.connection_sync(sync_log_id=last.pk, attempt=8, max_attempts=9)
    last.refresh_from_db()
    assert last.status == SyncLog.Status.FAILED and "after 9 attempts" in last.message


def test_task_gives_up_after_its_retries_with_a_failed_log(connection, loopback, monkeypatch):
    monkeypatch.setattr(connection_sync_task, "max_retries", 2)
    loopback.queue("/customers", *[Canned(status=503)] * 3)
    log = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    connection_sync_task.apply(args=[log.pk])
    log.refresh_from_db()
    assert log.status == SyncLog.Status.FAILED and "after 3 attempts" in log.message
    assert len(loopback.requests) == 3


def test_an_unexpected_exception_fails_the_log_instead_of_leaving_it_running(
    connection, monkeypatch
):
    def broken(self, *, resource, sync_log):
        raise KeyError("bug")

    monkeypatch.setattr(type(services.provider_for(connection)), "sync", broken)
    log = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    with pytest.raises(KeyError):
        services.connection_sync(sync_log_id=log.pk)
    log.refresh_from_db()
    assert log.status == SyncLog.Status.FAILED and "unexpected error" in log.message


def test_task_retries_a_temporary_failure_until_it_succeeds(connection, loopback):
    loopback.queue("/customers", Canned(status=503), Canned(body={"records": [{"id": 1}]}))
    log = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    connection_sync_task.apply(args=[log.pk])
    log.refresh_from_db()
    assert log.status == SyncLog.Status.SUCCEEDED and log.succeeded == 1
    assert len(loopback.requests) == 2


def test_redelivered_task_does_not_sync_twice(connection, loopback):
    loopback.queue("/customers", Canned(body={"records": [{"id": 1}]}))
    log = SyncLog.objects.create(
        business=connection.business, connection=connection, sync_type="customers", direction="push"
    )
    services.connection_sync(sync_log_id=log.pk)
    services.connection_sync(sync_log_id=log.pk)
    assert len(loopback.requests) == 1


def test_record_error_retry_and_dismiss(connection, loopback, run_on_commit):
    loopback.queue("/customers", Canned(body=RECORDS), Canned(body={"records": [{"id": 2}]}))
    run_on_commit(services.sync_request, connection=connection, resources=["customers"])
    error = SyncRecordError.objects.get()
    new_log = run_on_commit(services.sync_record_error_retry, record_error=error)
    error.refresh_from_db()
    assert error.status == SyncRecordError.Status.RETRIED and error.resolved_at
    assert SyncLog.objects.get(pk=new_log.pk).status == SyncLog.Status.SUCCEEDED
    services.sync_record_error_dismiss(record_error=error)
    assert SyncRecordError.objects.get().status == SyncRecordError.Status.DISMISSED


def test_schedule_is_a_beat_row_per_connection_and_resource(connection):
    task = services.connection_schedule_set(
        connection=connection, resource="customers", every_minutes=15
    )
    assert task.name == f"integration:{connection.pk}:customers"
    assert json.loads(task.kwargs) == {"connection_id": connection.pk, "resources": ["customers"]}
    assert (task.interval.every, task.interval.period, task.queue) == (15, "minutes", "sync")
    # updating keeps one row
    services.connection_schedule_set(
        connection=connection, resource="customers", crontab="0 2 * * *"
    )
    task = PeriodicTask.objects.get(name=f"integration:{connection.pk}:customers")
    assert task.interval is None and task.crontab.hour == "2"
    assert str(task.crontab.timezone) == "America/Denver"
    assert list(services.connection_schedules(connection)) == [task]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every_minutes": 0}, "at least one minute"),
        ({"crontab": "0 2 *"}, "five fields"),
        ({"every_minutes": 5, "crontab": "0 2 * * *"}, "not both"),
        ({}, "not both"),
    ],
)
def test_bad_schedules_are_refused(connection, kwargs, message):
    with pytest.raises(DomainError, match=message):
        services.connection_schedule_set(connection=connection, resource="customers", **kwargs)


def test_scheduled_task_runs_the_sync(connection, loopback, django_capture_on_commit_callbacks):
    loopback.queue("/invoices", Canned(body={"records": [{"id": 1}]}))
    with django_capture_on_commit_callbacks(execute=True):
        connection_sync_scheduled_task(connection_id=connection.pk, resources=["invoices"])
    log = SyncLog.objects.get()
    assert (log.trigger, log.status) == (SyncLog.Trigger.SCHEDULE, SyncLog.Status.SUCCEEDED)


def test_upsert_validates_and_merges(business):
    conn, created = services.connection_upsert(
        business=business,
        provider="stripe",
        name="Stripe",
        credentials={"secret_key": "sk_test_123456789"},
    )
    assert created
    conn, created = services.connection_upsert(
        business=business,
        provider="stripe",
        name="Stripe",
        credentials={"webhook_secret": "whsec_abcdefgh1"},
    )
    assert not created and set(conn.credentials) == {"secret_key", "webhook_secret"}
    with pytest.raises(DomainError, match="Unknown provider"):
        services.connection_upsert(business=business, provider="nope", name="x")
    with pytest.raises(DomainError, match="not a valid http"):
        services.connection_upsert(
            business=business, provider="stripe", name="x", api_base_url="ftp://x"
        )
    conn, _ = services.connection_upsert(
        business=business, provider="stripe", name="Local", api_base_url="http://127.0.0.1:8420/"
    )
    assert conn.api_base_url == "http://127.0.0.1:8420"


def test_warnings_do_not_fail_a_run_and_one_vendor_change_is_reported_once(connection, loopback):
    voided = {"id": 7, "warning": "Invoice 7 was voided at the vendor.", "change": "void:3"}
    loopback.queue(
        "/customers",
        Canned(body={"records": [{"id": 1}, voided]}),
        Canned(body={"records": [voided]}),  # the overlap window reads the same change again
        Canned(body={"records": [{**voided, "change": "void:4"}]}),  # a new change: reported
    )
    logs = []
    for _ in range(3):
        log = SyncLog.objects.create(
            business=connection.business,
            connection=connection,
            sync_type="customers",
            direction="push",
        )
        logs.append(services.connection_sync(sync_log_id=log.pk))
    assert [log.status for log in logs] == [SyncLog.Status.SUCCEEDED] * 3
    assert [(log.failed, log.warnings) for log in logs] == [(0, 1), (0, 0), (0, 1)]
    assert "1 report(s) to look at" in logs[0].message
    reports = SyncRecordError.objects.order_by("pk")
    assert [(r.severity, r.sync_log_id) for r in reports] == [
        (ReportSeverity.WARNING, logs[0].pk),
        (ReportSeverity.WARNING, logs[2].pk),
    ]
