"""Integration screens: credentials never shown, actions call the integration services."""

import json

import pytest
from django.contrib.messages import get_messages
from django.db import connection as db
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.errors import DomainError
from apps.integrations import models as im
from apps.integrations.providers import ConnectionCheck

from .conftest import CLIENT_ID, OTHER_MARK, SECRET

CONNECTIONS = reverse("admin:integrations_integrationconnection_changelist")


def change_url(connection):
    return reverse("admin:integrations_integrationconnection_change", args=[connection.pk])


def connection_form(connection, **overrides):
    return {
        "provider": connection.provider,
        "name": connection.name,
        "environment": connection.environment,
        "external_account_id": connection.external_account_id,
        "api_base_url": connection.api_base_url,
        "settings": json.dumps(connection.settings),
        "sync_enabled": "on",
        "replace_credentials": "",
        "account_mappings-TOTAL_FORMS": 0,
        "account_mappings-INITIAL_FORMS": 0,
        "sync_mappings-TOTAL_FORMS": 0,
        "sync_mappings-INITIAL_FORMS": 0,
        **overrides,
    }


def raw_credentials(connection) -> str:
    table = im.IntegrationConnection._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"SELECT credentials FROM {table} WHERE id = %s", [connection.pk])  # noqa: S608
        return cursor.fetchone()[0]


def messages_of(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def run_action(client, action, url, *objects):
    return client.post(
        url, {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True
    )


@pytest.fixture
def signed_in(client, manager):
    client.force_login(manager)
    return client


@pytest.mark.parametrize("who", ["manager", "office_dispatcher", "superuser"])
def test_credentials_are_masked_everywhere(who, request, own, client):
    client.force_login(request.getfixturevalue(who))
    # An error stored before a credential rotation may still quote the secret: redact on display.
    own.connection.last_error = f"401 Unauthorized for client_secret={SECRET}"
    own.connection.save(update_fields=["last_error"])
    pages = [client.get(CONNECTIONS), client.get(change_url(own.connection))]
    for response in pages:
        assert response.status_code == 200
        assert SECRET.encode() not in response.content
        assert CLIENT_ID.encode() not in response.content
    change = pages[1].content.decode()
    assert "••••9876" in change  # masked credentials, last four only
    assert "client_secret" in change
    assert 'name="credentials"' not in change


def test_status_badge_colors(signed_in, own):
    own.connection.status = im.ConnectionStatus.NEEDS_RECONNECT
    own.connection.save(update_fields=["status"])
    body = signed_in.get(CONNECTIONS).content.decode()
    assert (
        'background:#d9822b;color:#fff;font-size:11px;white-space:nowrap">Needs reconnect' in body
    )


def test_replace_credentials_encrypts_and_never_echoes(signed_in, own):
    new_secret = "brand-new-secret-abcdef-5555"
    data = connection_form(
        own.connection,
        replace_credentials=json.dumps({"client_id": "id-1", "client_secret": new_secret}),
    )
    response = signed_in.post(change_url(own.connection), data, follow=True)
    assert response.status_code == 200
    assert new_secret.encode() not in response.content
    own.connection.refresh_from_db()
    assert own.connection.credentials == {"client_id": "id-1", "client_secret": new_secret}
    assert own.connection.status == im.ConnectionStatus.PENDING  # new credentials are untested
    stored = raw_credentials(own.connection)
    assert new_secret not in stored
    assert "client_secret" not in stored


def test_blank_replace_keeps_credentials(signed_in, own):
    data = connection_form(own.connection, external_account_id="realm-42")
    assert signed_in.post(change_url(own.connection), data).status_code == 302
    own.connection.refresh_from_db()
    assert own.connection.external_account_id == "realm-42"
    assert own.connection.credentials["client_secret"] == SECRET


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"client_secret": "typed-secret-xyz-0001"', "are not valid JSON"),
        ('["typed-secret-xyz-0001"]', "as a JSON object of names and values"),
    ],
)
def test_invalid_replacement_is_a_form_error_without_echo(signed_in, own, text, error):
    response = signed_in.post(
        change_url(own.connection), connection_form(own.connection, replace_credentials=text)
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert b"typed-secret-xyz-0001" not in response.content
    own.connection.refresh_from_db()
    assert own.connection.credentials["client_secret"] == SECRET


def test_adding_a_connection_with_credentials(signed_in, business):
    data = connection_form(
        im.IntegrationConnection(provider="stripe", name="Card payments"),
        replace_credentials='{"secret_key": "sk_test_1234567890abcd"}',
        settings="{}",
    )
    response = signed_in.post(reverse("admin:integrations_integrationconnection_add"), data)
    assert response.status_code == 302
    created = im.IntegrationConnection.objects.get(name="Card payments")
    assert created.business == business
    assert created.credentials == {"secret_key": "sk_test_1234567890abcd"}
    assert "sk_test_1234567890abcd" not in raw_credentials(created)


def test_test_connection_action_reports_the_check_without_secrets(signed_in, own, monkeypatch):
    seen = []

    def fake_test(*, connection):
        seen.append(connection.pk)
        return ConnectionCheck(ok=False, message=f"Vendor refused key {SECRET}.")

    monkeypatch.setattr("apps.integrations.services.connection_test", fake_test)
    response = run_action(signed_in, "test_connection", CONNECTIONS, own.connection)
    assert seen == [own.connection.pk]
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text.startswith(f"{own.connection}: Vendor refused key ••••")
    assert SECRET.encode() not in response.content


def test_test_connection_success_is_a_success_message(signed_in, own, monkeypatch):
    monkeypatch.setattr(
        "apps.integrations.services.connection_test",
        lambda *, connection: ConnectionCheck(ok=True, message="Connected to Acme Books."),
    )
    response = run_action(signed_in, "test_connection", CONNECTIONS, own.connection)
    assert messages_of(response) == [("success", f"{own.connection}: Connected to Acme Books.")]


def test_sync_now_queues_and_reports(signed_in, own, monkeypatch):
    calls = []

    def fake_sync(*, connection, resources=None, trigger="manual"):
        calls.append((connection.pk, resources, trigger))
        if len(calls) == 2:
            raise DomainError(f"Sync is turned off for {connection}.")
        return [im.SyncLog(sync_type="customers"), im.SyncLog(sync_type="invoices")]

    monkeypatch.setattr("apps.integrations.services.sync_request", fake_sync)
    second = im.IntegrationConnection.objects.create(
        business=own.business, provider="xero", name="Xero books"
    )
    response = run_action(signed_in, "sync_now", CONNECTIONS, own.connection, second)
    # Connections are ordered by provider: QuickBooks before Xero.
    assert calls == [(own.connection.pk, None, "manual"), (second.pk, None, "manual")]
    assert messages_of(response) == [
        ("success", f"{own.connection}: sync queued for customers, invoices."),
        ("error", f"{second}: Sync is turned off for {second}."),
    ]


def test_schedules_of_the_connection_are_listed_with_links(client, superuser, own, other):
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=60, period="minutes")
    for conn in (own.connection, other.connection):
        PeriodicTask.objects.create(
            name=f"integration:{conn.pk}:customers",
            task="apps.integrations.tasks.connection_sync_scheduled_task",
            interval=every_hour,
            kwargs=json.dumps({"connection_id": conn.pk, "resources": ["customers"]}),
        )
    mine = PeriodicTask.objects.get(name=f"integration:{own.connection.pk}:customers")
    client.force_login(superuser)
    body = client.get(change_url(own.connection)).content.decode()
    link = reverse("admin:django_celery_beat_periodictask_change", args=[mine.pk])
    assert f'<a href="{link}">integration:{own.connection.pk}:customers</a>' in body
    assert f"integration:{other.connection.pk}:" not in body


def test_dispatcher_sees_schedule_names_without_links(client, office_dispatcher, own):
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=60, period="minutes")
    task = PeriodicTask.objects.create(
        name=f"integration:{own.connection.pk}:invoices",
        task="apps.integrations.tasks.connection_sync_scheduled_task",
        interval=every_hour,
        kwargs=json.dumps({"connection_id": own.connection.pk}),
    )
    client.force_login(office_dispatcher)
    body = client.get(change_url(own.connection)).content.decode()
    assert task.name in body
    assert reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]) not in body


def test_mapping_inlines_on_the_connection(signed_in, own):
    body = signed_in.get(change_url(own.connection)).content.decode()
    assert 'name="account_mappings-0-local_key"' in body
    assert 'name="sync_mappings-0-local_resource"' in body


# --- sync logs and record errors ------------------------------------------------------------------
ERRORS = reverse("admin:integrations_syncrecorderror_changelist")


def test_sync_log_is_read_only_with_its_record_errors(signed_in, own):
    url = reverse("admin:integrations_synclog_change", args=[own.sync_log.pk])
    body = signed_in.get(url).content.decode()
    assert "The vendor requires a billing email." in body
    assert 'name="processed"' not in body
    assert 'name="record_errors-0-message"' not in body
    assert signed_in.get(reverse("admin:integrations_synclog_add")).status_code == 403


def test_dismiss_action(signed_in, own):
    response = run_action(signed_in, "dismiss", ERRORS, own.record_error)
    own.record_error.refresh_from_db()
    assert own.record_error.status == im.SyncRecordError.Status.DISMISSED
    assert own.record_error.resolved_at is not None
    assert messages_of(response) == [("success", "Dismissed 1 error(s).")]


def test_retry_action_calls_the_service_for_open_errors_only(signed_in, own, monkeypatch):
    retried = []

    def fake_retry(*, record_error):
        retried.append(record_error.pk)
        record_error.status = im.SyncRecordError.Status.RETRIED
        record_error.save(update_fields=["status"])

    monkeypatch.setattr("apps.integrations.services.sync_record_error_retry", fake_retry)
    closed = im.SyncRecordError.objects.create(
        business=own.business,
        sync_log=own.sync_log,
        record_type="invoice",
        record_id="9",
        message="Duplicate",
        status=im.SyncRecordError.Status.DISMISSED,
    )
    response = run_action(signed_in, "retry", ERRORS, own.record_error, closed)
    assert retried == [own.record_error.pk]
    assert messages_of(response) == [
        ("warning", "Skipped 1 error(s) already resolved."),
        ("success", "Queued a new sync for 1 error(s)."),
    ]


def test_record_error_change_page_is_read_only(signed_in, own):
    url = reverse("admin:integrations_syncrecorderror_change", args=[own.record_error.pk])
    body = signed_in.get(url).content.decode()
    assert "The vendor requires a billing email." in body
    assert 'name="message"' not in body


# --- inbound events and activity -----------------------------------------------------------------
EVENTS = reverse("admin:integrations_inboundevent_changelist")


def test_inbound_event_is_pretty_printed_and_never_editable(signed_in, own):
    url = reverse("admin:integrations_inboundevent_change", args=[own.inbound_event.pk])
    body = signed_in.get(url).content.decode()
    assert "&quot;object&quot;: &quot;event&quot;" in body  # indented JSON, escaped
    assert 'name="body"' not in body
    assert 'name="headers"' not in body


def test_replay_action_calls_the_inbox(signed_in, own, monkeypatch):
    replayed = []

    def fake_replay(*, event):
        replayed.append(event.pk)
        event.status = im.InboundEvent.Status.FAILED
        event.error = "KeyError: 'data'\nTraceback ..."
        return event

    monkeypatch.setattr("apps.integrations.inbox.inbound_event_replay", fake_replay)
    response = run_action(signed_in, "replay", EVENTS, own.inbound_event)
    assert replayed == [own.inbound_event.pk]
    assert messages_of(response) == [
        ("error", f"{own.inbound_event}: failed again: KeyError: 'data'")
    ]


def test_dispatcher_cannot_replay(client, office_dispatcher, own):
    client.force_login(office_dispatcher)
    body = client.get(EVENTS).content.decode()
    assert 'value="replay"' not in body


def test_unassigned_events_are_for_the_platform_only(client, manager, superuser, own):
    im.InboundEvent.objects.create(
        provider="twilio", provider_event_id=f"SM{OTHER_MARK}", body="", headers={}
    )
    client.force_login(manager)
    assert OTHER_MARK.encode() not in client.get(EVENTS).content
    client.force_login(superuser)
    assert OTHER_MARK.encode() in client.get(EVENTS).content


def test_activity_is_read_only_and_filterable(signed_in, own):
    changelist = reverse("admin:integrations_integrationactivity_changelist")
    body = signed_in.get(changelist, {"outcome__exact": "success"}).content.decode()
    assert "POST invoice ACMEMARK" in body
    assert "By outcome" in body and "By kind" in body
    assert '<nav class="toplinks">' in body  # date hierarchy on occurred_at
    assert signed_in.get(reverse("admin:integrations_integrationactivity_add")).status_code == 403
    url = reverse("admin:integrations_integrationactivity_change", args=[own.activity.pk])
    assert 'name="operation"' not in signed_in.get(url).content.decode()
